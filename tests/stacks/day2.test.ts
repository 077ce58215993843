// Day-2 at program level under mocks: a change of the site list reaches the web server through
// its day-2 push only, never by replacing an instance. Does not prove the push works over SSH
// (tests/vm) nor the engine's diff (tests/integration).
import { PET_IGNORED_PROPERTIES } from "../../components/roleVm";
import { readStackFile } from "../../config";
import { Registration, resolved, runProgram } from "../harness";

async function inputsByName(
    records: Registration[],
): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    for (const r of records)
        if (r.type.startsWith("openstack:") || r.type.startsWith("command:"))
            out.set(`${r.type} ${r.name}`, await resolved(r));
    return out;
}

describe("changing the site list", () => {
    it("changes the web server's day-2 push and its ignored user data, nothing else", async () => {
        const prod = readStackFile(`${__dirname}/../..`, "prod");
        const before = await inputsByName((await runProgram("prod")).records);
        const sites = [
            ...(prod.sites as object[]),
            { name: "expo", domains: ["expo.ouvroir.example.org"], kind: "static" },
        ];
        const after = await inputsByName((await runProgram("prod", { sites })).records);
        expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
        const changed: string[] = [];
        for (const [key, value] of after) {
            for (const prop of Object.keys({ ...value, ...before.get(key) })) {
                if (JSON.stringify(value[prop]) !== JSON.stringify(before.get(key)?.[prop]))
                    changed.push(`${key}.${prop}`);
            }
        }
        expect(changed.sort()).toEqual([
            "command:remote:Command web-day2-apply.stdin",
            "command:remote:Command web-day2-apply.triggers",
            "openstack:compute/instance:Instance web-vm.userData",
        ]);
        // ...and the instance ignores that property, so the engine plans no replacement.
        expect(PET_IGNORED_PROPERTIES).toContain("userData");
    }, 60_000);

    it("day2: false (the local fake-hypervisor cloud) drops only the day-2 resources", async () => {
        const all = (await runProgram("dev")).records.map((r) => r.type);
        const without = (await runProgram("dev", { day2: false })).records.map((r) => r.type);
        const removed = all.filter((t) => !without.includes(t));
        expect([...new Set(removed)].sort()).toEqual([
            "command:remote:Command",
            "ouvroir:day2:RoleDay2",
            "random:index/randomPassword:RandomPassword",
        ]);
        expect(without.length).toBe(all.length - removed.length);
    }, 60_000);
});
