// The quota check against the cloud's real limits: the arithmetic, and the whole program under
// mocks whose quota APIs answer as a cloud would. Does not prove what Béluga's APIs answer (the
// engine layer reads the local OpenStack's: tests/engine/engine.test.ts, "0."), nor that the
// credentials may read them there.
import {
    CloudQuota,
    cloudQuotaFrom,
    cloudQuotaProblems,
    formatCloudQuotaTable,
} from "../../components/cloudQuota";
import { RAS_ALLOCATION } from "../../config/keys";
import { GRANTED, MOCK_PROJECT_ID, Registration, runProgram } from "../harness/mocks";

const need = {
    instances: 10,
    vcpus: 25,
    ramGb: 42.75,
    volumes: 20,
    volumeGb: 1140,
    floatingIps: 2,
    securityGroups: 14,
};
const ras: CloudQuota = cloudQuotaFrom(
    "p1",
    { instances: 10, cores: 25, ram: 51200 },
    { floatingip: 2, securityGroup: 10 },
    { volumes: 10, gigabytes: 10240 },
    { totalInstancesUsed: 3, totalCoresUsed: 6, totalRamUsed: 9216 },
);

describe("the cloud's quota, as the APIs give it", () => {
    it("is read in the stacks' units (Nova's MiB as GB), unlimited kept as -1", () => {
        expect(ras.limits).toEqual({ ...RAS_ALLOCATION });
        expect(ras.used).toEqual({ instances: 3, vcpus: 6, ramGb: 9 });
        const unlimited = cloudQuotaFrom(
            "p",
            { instances: -1, cores: -1, ram: -1 },
            { floatingip: -1, securityGroup: -1 },
            { volumes: -1, gigabytes: -1 },
        );
        // Nova's usage is read only where its policy lets the caller (admins, by default).
        expect(unlimited.used).toEqual({});
        expect(Object.values(unlimited.limits)).toEqual([-1, -1, -1, -1, -1, -1, -1]);
        expect(cloudQuotaProblems(need, need, unlimited, ["dev"])).toEqual({
            errors: [],
            warnings: [],
        });
    });

    it("refuses what the cloud does not grant, and warns when the allocation is ahead of it", () => {
        const { errors, warnings } = cloudQuotaProblems(need, { ...need }, ras, ["dev", "prod"]);
        expect(errors).toEqual([
            "over the cloud's quota: dev + prod need 20 volumes (boot + data), and the cloud grants project p1 10 (ouvroir:allocation.volumes says 20). Nothing was created. Make the stacks smaller (flavors, ouvroir:roles), or request more (RAS/RAC) and deploy once the cloud shows it.",
            expect.stringMatching(
                /^over the cloud's quota: dev \+ prod need 14 security groups, and the cloud grants project p1 10 /,
            ),
        ]);
        expect(warnings).toEqual([]);
        const fits = { ...need, volumes: 10, securityGroups: 10 };
        expect(cloudQuotaProblems(fits, { ...fits, volumes: 20 }, ras, ["dev"])).toEqual({
            errors: [],
            warnings: [
                "ouvroir:allocation.volumes is 20, the cloud grants 10 volumes (boot + data): the stacks fit what is granted, but the allocation is not granted yet.",
            ],
        });
    });

    it("adds the cloud's columns to the quota table, marking what does not fit", () => {
        expect(formatCloudQuotaTable(need, need, ras).split("\n")).toEqual([
            "| resource              | stacks need | allocation | cloud grants | cloud uses now |",
            "|-----------------------|------------:|-----------:|-------------:|---------------:|",
            "| instances             |          10 |         10 |           10 |              3 |",
            "| vCPU                  |          25 |         25 |           25 |              6 |",
            "| RAM (GB)              |       42.75 |      42.75 |           50 |              9 |",
            "| volumes (boot + data) |        20 ! |         20 |           10 |                |",
            "| volume storage (GB)   |        1140 |       1140 |        10240 |                |",
            "| floating IPs          |           2 |          2 |            2 |                |",
            "| security groups       |        14 ! |         14 |           10 |                |",
        ]);
    });
});

describe("the program against the cloud's quota", () => {
    it("a cloud granting the RAS default refuses dev + prod before creating anything", async () => {
        const records: Registration[] = [];
        const ras = {
            ...GRANTED,
            network: { floatingip: 2, securityGroup: 10 },
            volume: { volumes: 10, gigabytes: 10240 },
        };
        await expect(runProgram("dev", {}, {}, records, undefined, ras)).rejects.toThrow(
            /over the cloud's quota: dev \+ prod need 20 volumes \(boot \+ data\), and the cloud grants project 0123456789abcdef0123456789abcdef 10/,
        );
        expect(records.filter((r) => r.type.startsWith("openstack:"))).toEqual([]);
    });

    it("a cloud granting the request deploys, and the quota output carries its figures", async () => {
        const { outputs } = await runProgram("dev");
        const quota = outputs.quota as {
            cloud: { projectId: string; limits: Record<string, number>; table: string };
        };
        expect(quota.cloud.projectId).toBe(MOCK_PROJECT_ID);
        expect(quota.cloud.limits).toEqual({
            instances: 10,
            vcpus: 25,
            ramGb: 50,
            volumes: 20,
            volumeGb: 10240,
            floatingIps: 2,
            securityGroups: 14,
        });
        expect(quota.cloud.table).toContain(
            "| volumes (boot + data) |          20 |         20 |           20 |",
        );
    });

    it("a cloud whose quota cannot be read leaves the check to ouvroir:allocation", async () => {
        const { outputs } = await runProgram("dev", {}, {}, [], undefined, null);
        expect((outputs.quota as { cloud?: unknown }).cloud).toBeUndefined();
        expect((outputs.quota as { table: string }).table).toMatch(
            /^\| resource +\| +dev \| +prod \|/,
        );
    });
});
