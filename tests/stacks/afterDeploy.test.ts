// Every key the config table (config/keys.ts) says is applied "in place" after deploy, changed
// on the real prod stack under mocks: exactly these inputs change (the day-2 push of the roles
// it concerns, or an OpenStack property updated in place), and nothing is replaced. A key added
// to the table as "in place" without a case here fails the first test. Does not prove the
// pushes work on a VM (tests/vm/trials.test.ts: PHP, a key, a host name) nor the engine's diff.
import { KEYS, KeySpec } from "../../config";
import { PET_IGNORED_PROPERTIES } from "../../components/roleVm";
import { readStackFile } from "../../config";
import { Registration, resolved, runProgram } from "../harness/mocks";

type Inputs = Map<string, Record<string, unknown>>;

async function inputsByName(records: Registration[]): Promise<Inputs> {
    const out: Inputs = new Map();
    for (const r of records)
        if (["openstack:", "command:", "random:"].some((p) => r.type.startsWith(p)))
            out.set(`${r.type.split(":").pop()} ${r.name}`, await resolved(r));
    return out;
}

function changes(before: Inputs, after: Inputs): string[] {
    const out: string[] = [];
    for (const key of new Set([...before.keys(), ...after.keys()])) {
        const a = before.get(key);
        const b = after.get(key);
        if (!a || !b) {
            out.push(`${key} ${a ? "removed" : "added"}`);
            continue;
        }
        for (const prop of new Set([...Object.keys(a), ...Object.keys(b)]))
            if (JSON.stringify(a[prop]) !== JSON.stringify(b[prop])) out.push(`${key}.${prop}`);
    }
    return out.sort();
}

const prod = readStackFile(`${__dirname}/../..`, "prod");
const roles = prod.roles as Record<string, Record<string, unknown>>;
const ALL = ["app", "iiif", "sandbox", "web", "xmldb"];
const STATEFUL = ALL;
const push = (rs: readonly string[]): string[] =>
    rs.flatMap((r) => [`Command ${r}-day2-apply.stdin`, `Command ${r}-day2-apply.triggers`]);
/** Pets ignore these (PET_IGNORED_PROPERTIES): a changed user data replaces nothing. */
const userData = (rs: readonly string[]): string[] => rs.map((r) => `Instance ${r}-vm.userData`);

const CASES: Record<string, { change: Record<string, unknown>; changed: string[] }> = {
    dnsServers: {
        change: { dnsServers: ["9.9.9.9"] },
        changed: ["Subnet network-subnet.dnsNameservers"],
    },
    adminCidrs: {
        change: { adminCidrs: ["132.204.0.0/16", "206.167.0.0/16"] },
        changed: ["SecGroupRule web-ssh-206-167-0-0-16 added"],
    },
    researcherCidrs: {
        change: { researcherCidrs: ["192.0.2.0/24"] },
        changed: ["SecGroupRule web-ssh-researchers-192-0-2-0-24 added"],
    },
    sshPublicKeys: {
        change: {
            sshPublicKeys: [
                ...(prod.sshPublicKeys as string[]),
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOuvroirCiKeyAddedLater000000000000000000 ci",
            ],
        },
        changed: [...push(ALL), ...userData(ALL)],
    },
    roles: {
        change: {
            roles: { ...roles, xmldb: { ...roles.xmldb, flavor: "p2-3gb", dataVolumeGb: 60 } },
        },
        changed: ["Instance xmldb-vm.flavorName", "Volume xmldb-data.size"],
    },
    publicHostname: {
        change: { publicHostname: "labo.example.org" },
        changed: [...push(ALL), ...userData(ALL)],
    },
    letsencryptEmail: {
        change: { letsencryptEmail: "ops@example.org" },
        changed: [...push(ALL), ...userData(ALL)],
    },
    sites: {
        change: {
            sites: [
                ...(prod.sites as object[]),
                { name: "expo", domains: ["expo.ouvroir.example.org"], kind: "php" },
            ],
        },
        changed: [...push(["web"]), ...userData(["web"])],
    },
    researchers: {
        change: {
            researchers: [
                ...(prod.researchers as object[]),
                {
                    name: "bob",
                    sshPublicKeys: [
                        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobKey0000000000000000 bob",
                    ],
                    cpuPercent: 50,
                    memoryMiB: 1024,
                },
            ],
        },
        // The sandbox host's account and the bastion's jump account.
        changed: [...push(["sandbox", "web"]), ...userData(["sandbox", "web"])],
    },
    apps: {
        change: { apps: [{ name: "notes", port: 8010 }] },
        // Its password: a new random secret, written by the app server's push.
        changed: [
            ...push(["app"]),
            ...userData(["app"]),
            "RandomPassword app-day2-appDb-notes added",
        ],
    },
    dropAppDatabases: {
        change: { dropAppDatabases: ["oldapp"] },
        changed: [...push(["app"]), ...userData(["app"])],
    },
    downloads: {
        change: {
            downloads: {
                basex: {
                    version: "12.1",
                    url: "https://files.basex.org/releases/12.1/BaseX121.zip",
                    sha256: "a".repeat(64),
                },
            },
        },
        changed: [...push(ALL), ...userData(ALL)],
    },
    protectData: { change: { protectData: false }, changed: [] },
    day2: { change: { day2: false }, changed: [] },
    backup: {
        change: { backup: { ...(prod.backup as object), keepDaily: 14 } },
        changed: push(STATEFUL),
    },
    backupAccessKeyId: { change: { backupAccessKeyId: "rotated-access" }, changed: push(STATEFUL) },
    backupSecretAccessKey: {
        change: { backupSecretAccessKey: "rotated-secret" },
        changed: push(STATEFUL),
    },
    // The monitoring host's Alertmanager: its configuration (user data) or its secrets (day-2).
    alerts: {
        change: {
            alerts: {
                email: { ...(prod.alerts as { email: object }).email, to: ["ops@example.org"] },
            },
        },
        changed: [...push(["web"]), ...userData(["web"])],
    },
    alertSmtpPassword: { change: { alertSmtpPassword: "rotated" }, changed: push(["web"]) },
    alertWebhookUrl: {
        change: { alerts: { ...(prod.alerts as object), webhook: true } },
        // The URL's file is written only once a webhook is asked for: the secret alone is inert.
        changed: push(["web"]),
    },
};

const inPlace = Object.entries(KEYS)
    .filter(([, spec]) => (spec as KeySpec).afterDeploy.effect === "in place")
    .map(([k]) => k);

describe("after deploy, the keys applied in place", () => {
    let before: Inputs;
    beforeAll(async () => {
        before = await inputsByName((await runProgram("prod")).records);
    }, 60_000);

    it("have one case each here, and only they", () => {
        expect(Object.keys(CASES).sort()).toEqual([...inPlace].sort());
    });

    it.each(inPlace.filter((k) => !["protectData", "day2"].includes(k)))(
        "%s: changes exactly its step's inputs; the only instance inputs changed are ignored or updated in place",
        async (key) => {
            const c = CASES[key] as (typeof CASES)[string];
            const after = await inputsByName((await runProgram("prod", c.change)).records);
            const changed = changes(before, after);
            expect(changed).toEqual([...c.changed].sort());
            for (const ch of changed.filter((x) => x.startsWith("Instance "))) {
                const prop = ch.split(".").pop() as string;
                expect([ch, [...PET_IGNORED_PROPERTIES, "flavorName"]]).toEqual([
                    ch,
                    expect.arrayContaining([prop]),
                ]);
            }
        },
        60_000,
    );

    it("protectData: changes only the resource options (no input)", async () => {
        const { records } = await runProgram("prod", { protectData: false });
        const after = await inputsByName(records);
        expect(changes(before, after)).toEqual([]);
        const vol = records.find((r) => r.name === "xmldb-data") as Registration;
        expect([vol.opts.protect, vol.opts.retainOnDelete]).toEqual([false, false]);
    }, 60_000);
});
