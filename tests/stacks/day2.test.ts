// Day-2 at program level under mocks: a change of the site list reaches the web server through
// its day-2 push only, never by replacing an instance; each connection pins the VM's host key. Does not prove the push works over SSH
// (tests/vm) nor the engine's diff (tests/integration).
import { hostKeyFromSeed } from "../../components/hostKey";
import { PET_IGNORED_PROPERTIES } from "../../components/roleVm";
import { readStackFile } from "../../config";
import { Registration, resolved, runProgram } from "../harness/mocks";

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

describe("host keys pinned for day-2", () => {
    const key = (role: string): string =>
        hostKeyFromSeed(`mock-secret-${role}-hostKeySeed`).publicKey;

    it("pins each VM's own key on its day-2 connection, and the bastion's on the proxy", async () => {
        const { records, outputs } = await runProgram("prod");
        const commands = records.filter((r) => r.type === "command:remote:Command");
        expect(commands.length).toBe(10);
        for (const c of commands) {
            const role = c.name.split("-")[0] as string;
            const connection = (await resolved(c)).connection as {
                hostKey?: string;
                proxy?: { hostKey?: string };
            };
            expect(connection.hostKey).toBe(key(role));
            expect(connection.proxy?.hostKey).toBe(role === "web" ? undefined : key("web"));
        }
        // The VM's user data carries exactly that key pair, and only it.
        const vm = records.find((r) => r.name === "xmldb-vm") as Registration;
        const userData = String((await resolved(vm)).userData);
        expect(userData).toContain(`ed25519_public: ${key("xmldb")}`);
        expect(userData).toMatch(/ssh_deletekeys: true\nssh_genkeytypes:\n  - ed25519\n/);
        expect(outputs.knownHosts).toEqual(expect.stringContaining(`203.0.113.10 ${key("web")}\n`));
        expect((outputs.deployedSettings as { pinnedHostKeys: string[] }).pinnedHostKeys).toEqual([
            "web",
            "xmldb",
            "iiif",
            "app",
            "sandbox",
        ]);
    }, 60_000);

    it("a VM deployed before pinning keeps its keys and its day-2 does not verify, until rebuilt", async () => {
        const before = { privateIps: { web: "10.30.0.10", xmldb: "10.30.0.11" } };
        // The preview says so, once per legacy VM (and the test stays quiet).
        const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
        const legacy = await runProgram("prod", {}, before);
        expect(warn.mock.calls.map((c) => String(c[0]).replace(/\(docs.*$/, ""))).toEqual([
            "warning: [runtime] prod-web-1 was deployed before host keys were pinned: its day-2 SSH does not verify the host. Rebuild it on purpose (back up, then list web in ouvroir:rebuild for one up) to pin its key ",
            "warning: [runtime] prod-xmldb-1 was deployed before host keys were pinned: its day-2 SSH does not verify the host. Rebuild it on purpose (back up, then list xmldb in ouvroir:rebuild for one up) to pin its key ",
        ]);
        const connectionOf = async (name: string) =>
            (await resolved(legacy.records.find((r) => r.name === name) as Registration))
                .connection as { hostKey?: string; proxy?: { hostKey?: string } };
        expect((await connectionOf("xmldb-day2-apply")).hostKey).toBeUndefined();
        expect((await connectionOf("xmldb-day2-apply")).proxy?.hostKey).toBeUndefined();
        expect((await connectionOf("iiif-day2-apply")).hostKey).toBe(key("iiif"));
        expect(legacy.records.map((r) => r.name)).not.toContain("xmldb-hostKeySeed");
        expect(
            (legacy.outputs.deployedSettings as { pinnedHostKeys: string[] }).pinnedHostKeys,
        ).toEqual(["iiif", "app", "sandbox"]);
        // Rebuilding the web server on purpose pins its key (its user data is applied anew).
        const rebuilt = await runProgram("prod", { rebuild: ["web"] }, before);
        expect(
            (rebuilt.outputs.deployedSettings as { pinnedHostKeys: string[] }).pinnedHostKeys,
        ).toEqual(["web", "iiif", "app", "sandbox"]);
        // Once recorded as pinned, a role stays pinned without ouvroir:rebuild.
        const after = await runProgram(
            "prod",
            {},
            {
                ...before,
                deployedSettings: { pinnedHostKeys: ["web"] },
            },
        );
        expect(
            (after.outputs.deployedSettings as { pinnedHostKeys: string[] }).pinnedHostKeys,
        ).toEqual(["web", "iiif", "app", "sandbox"]);
        warn.mockRestore();
    }, 120_000);
});
