// A new role is a new spec and one registry entry: a toy role added here alone, never in the
// product, gets every mechanic from its spec (security group and rules, member group of a client
// role, port, data volume, instance and user data, day-2, sshConfig tunnel, endpoints, quota)
// with no line of the mechanics naming it. Does not prove that such a role boots (tests/vm).
import * as path from "path";
import { gunzipSync } from "zlib";
import * as YAML from "yaml";
import type { RoleSpec } from "../../components/roles/types";
import { Registration, resolved, runProgram } from "../harness/mocks";

const mockToy: RoleSpec<string> = {
    name: "toy",
    typeToken: "ouvroir:vm:ToyVM",
    short: "toy",
    description: "a toy role of the tests",
    public: false,
    stateful: true,
    // From the XML database only: xmldb becomes a client role with its own member group.
    ports: [
        { name: "ssh", port: 22, from: { roles: ["web"] } },
        { name: "toy-http", port: 9000, from: { roles: ["xmldb"] } as never },
    ],
    minVcpus: 1,
    minRamGb: 1,
    defaultFlavor: "p2-3gb",
    defaultDataVolumeGb: 7,
    dataMountPoint: "/srv/data",
    takes: [],
    cloudInit: { template: path.join(__dirname, "fixtures", "toy-role.yaml") },
    apply: { secrets: () => [] },
    monitor: { units: ["toy[.]service"], probes: [] },
    backup: {
        dumps: [],
        excludes: ["/srv/data/toy-cache"],
        services: ["toy.service"],
        afterRestore: [],
    },
    tunnels: [{ suffix: "ui", localPort: 9999, remotePort: 9000, endpoint: "toyUi" }],
};

jest.mock("../../components/roles/registry", () => {
    const actual = jest.requireActual<typeof import("../../components/roles/registry")>(
        "../../components/roles/registry",
    );
    return { ROLE_SPECS: [...actual.ROLE_SPECS, mockToy] };
});

describe("a toy role added in the test alone", () => {
    let records: Registration[];
    let outputs: Record<string, unknown>;
    const roles = {
        web: { flavor: "p1-1.5gb", dataVolumeGb: 10 },
        xmldb: { flavor: "p2-3gb", dataVolumeGb: 20 },
        toy: {},
    };
    beforeAll(async () => {
        ({ records, outputs } = await runProgram("dev", {
            roles,
            sites: [],
            researchers: [],
            allocation: { volumes: 20, securityGroups: 14 },
        }));
    }, 60_000);

    const childrenOf = (parent: string): string[] =>
        records
            .filter((r) => r.parent === parent)
            .map((r) => `${r.type} ${r.name}`)
            .sort();

    it("is built by the mechanics: its component and exactly the children of a stateful role", () => {
        const component = records.find((r) => r.type === "ouvroir:vm:ToyVM");
        expect(component?.name).toBe("toy");
        expect(childrenOf("toy")).toEqual(
            [
                "openstack:blockstorage/volume:Volume toy-data",
                "openstack:compute/instance:Instance toy-vm",
                "openstack:compute/volumeAttach:VolumeAttach toy-data-attach",
                "openstack:networking/port:Port toy-port",
                "openstack:networking/secGroup:SecGroup toy-sg",
                "openstack:networking/secGroupRule:SecGroupRule toy-ssh",
                "openstack:networking/secGroupRule:SecGroupRule toy-toy-http",
            ].sort(),
        );
    });

    it("opens its port to the role its spec names, through that role's member group", async () => {
        const rule = records.find((r) => r.name === "toy-toy-http") as Registration;
        const i = await resolved(rule);
        expect([i.portRangeMin, i.portRangeMax, i.remoteIpPrefix]).toEqual([9000, 9000, undefined]);
        const group = records.find((r) => r.name === "network-client-xmldb") as Registration;
        expect(group).toBeDefined();
        expect(i.remoteGroupId).toBe("network-client-xmldb-id");
        const vol = await resolved(records.find((r) => r.name === "toy-data") as Registration);
        expect([vol.name, vol.size]).toEqual(["dev-toy-data", 7]);
    });

    it("renders its template into its user data, and its hook into its day-2 push", async () => {
        const vm = await resolved(records.find((r) => r.name === "toy-vm") as Registration);
        expect(vm.name).toBe("dev-toy-1");
        // The applier cloud-init runs at first boot is the one day-2 writes and runs.
        const boot = YAML.parse(String(vm.userData)) as { write_files: { content: string }[] };
        const applier = gunzipSync(
            Buffer.from(boot.write_files[0]?.content ?? "", "base64"),
        ).toString();
        expect(applier).toMatch(/^put '\/etc\/toy\/motd' '0644' 'bW9vCg=='$/m);
        expect(applier).toMatch(/^wanted=\(.* 'cowsay'\)$/m);
        expect(applier).toContain("\n'systemctl' 'restart' 'toy.service'\n");
        expect(applier).toContain(
            Buffer.from("OUVROIR_ROLE='toy'").toString("base64").slice(0, 16),
        );
        const apply = await resolved(
            records.find((r) => r.name === "toy-day2-apply") as Registration,
        );
        const script = String(apply.stdin);
        expect(script).toContain(
            `put '/usr/local/sbin/ouvroir-apply' '0700' '${Buffer.from(applier).toString("base64")}'`,
        );
        // Its backup plan: the common excludes, then its own.
        const { backupPlan } = await import("../../components/backup");
        expect(backupPlan("toy" as never).excludes).toEqual([
            "/srv/data/lost+found",
            "/srv/data/backup-dumps/basex.new",
            "/srv/data/toy-cache",
        ]);
    });

    it("gives its tunnel to sshConfig and endpoints, and its footprint to the quota", () => {
        expect(String(outputs.sshConfig)).toContain("Host dev-toy-1-ui\n    HostName 10.20.0.");
        expect(String(outputs.sshConfig)).toContain("    LocalForward 9999 127.0.0.1:9000\n");
        expect((outputs.endpoints as Record<string, string>).toyUi).toBe("http://localhost:9999/");
        const usage = (outputs.quota as { usage: Record<string, number> }).usage;
        // web, xmldb, toy; each a boot volume and a data volume; a group each, the bastion's,
        // and xmldb's member group (the toy's port names it).
        expect([usage.instances, usage.volumes, usage.securityGroups]).toEqual([3, 6, 5]);
    });
});
