// Pure: the export script's choices (flavors, volume classes, secrets, rule sources, differences) on small hand-written exports. Does not run the program (roundtrip.test.ts does).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

import { readStackFile } from "../../config";
import {
    chooseFlavor,
    CloudMapping,
    ExportedResource,
    InventoryHost,
    inventoryDifferences,
    inventoryFromExport,
    renderStackFile,
    stackConfigFor,
} from "../../tools/export-inventory";

const REPO = path.resolve(__dirname, "..", "..");
const dev = JSON.parse(
    fs.readFileSync(path.join(__dirname, "fixtures", "dev-export.json"), "utf8"),
) as {
    deployment: { resources: ExportedResource[] };
};

const host = (vcpus: number, ramGb: number): InventoryHost => ({
    role: "xmldb",
    name: "xmldb-1",
    vcpus,
    ramGb,
    bootVolumeGb: 20,
    public: false,
});

const arbutus: CloudMapping = {
    cloud: "arbutus",
    externalNetwork: "Public-Network",
    volumeTypes: { ssd: "high_performance", hdd: "rbd1" },
    flavors: ["p2-3gb", "p4-7.5gb", "p8-15gb", "c4-15gb-83"],
};

describe("chooseFlavor", () => {
    it("takes the exact size when the target has it", () => {
        expect(chooseFlavor(host(4, 7.5), arbutus)).toBe("p4-7.5gb");
    });
    it("takes the smallest larger persistent flavor otherwise, never a compute one", () => {
        expect(chooseFlavor(host(4, 12), arbutus)).toBe("p8-15gb");
    });
    it("fails, naming what exists, when nothing fits", () => {
        expect(() => chooseFlavor(host(16, 64), arbutus)).toThrow(
            /no flavor of the mapping fits xmldb.*p8-15gb/,
        );
    });
    it("keeps the source's p flavor when the mapping lists none, and sizes declared flavors", () => {
        const noFlavors: CloudMapping = { ...arbutus, flavors: undefined };
        expect(chooseFlavor(host(4, 7.5), noFlavors, "p4-7.5gb")).toBe("p4-7.5gb");
        expect(
            chooseFlavor(host(2, 4), {
                ...arbutus,
                flavors: { "m1.medium": { vcpus: 2, ramGb: 4 } },
            }),
        ).toBe("m1.medium");
    });
});

describe("inventoryFromExport", () => {
    it("names a volume type it does not know by itself, and the Alliance ones by class", () => {
        const resources = dev.deployment.resources.map((r) =>
            r.urn.endsWith("::iiif-data")
                ? { ...r, inputs: { ...r.inputs, volumeType: "ceph-fast" } }
                : r,
        );
        const inv = inventoryFromExport({ deployment: { resources } });
        expect(inv.volumes.map((v) => `${v.role}:${v.class}`)).toEqual([
            "web:ssd",
            "xmldb:ssd",
            "iiif:ceph-fast",
            "app:ssd",
            "sandbox:ssd",
        ]);
    });
    it("reads a rule with neither prefix nor group as open to the world", () => {
        const resources = dev.deployment.resources.map((r) =>
            r.urn.endsWith("::xmldb-ssh")
                ? { ...r, inputs: { ...r.inputs, remoteGroupId: undefined } }
                : r,
        );
        const rules = inventoryFromExport({ deployment: { resources } }).securityRules;
        expect(rules).toContainEqual(
            expect.objectContaining({ role: "xmldb", name: "ssh", from: "world" }),
        );
    });
    it("fails on a flavor it cannot size, saying where to declare it", () => {
        const resources = dev.deployment.resources.map((r) =>
            r.urn.endsWith("::web-vm")
                ? { ...r, inputs: { ...r.inputs, flavorName: "m1.small" } }
                : r,
        );
        expect(() => inventoryFromExport({ deployment: { resources } })).toThrow(
            /m1.small.*source mapping's flavors/,
        );
        expect(
            inventoryFromExport(
                { deployment: { resources } },
                {},
                { "m1.small": { vcpus: 1, ramGb: 2 } },
            ).hosts[0],
        ).toEqual(expect.objectContaining({ role: "web", vcpus: 1, ramGb: 2 }));
    });
});

describe("stackConfigFor", () => {
    const inv = inventoryFromExport(dev);
    const source = readStackFile(REPO, "dev");

    it("does not carry secrets over (they are encrypted for the source stack) and says so", () => {
        const generated = stackConfigFor(
            inv,
            arbutus,
            { ...source, sshPrivateKey: { secure: "v1:abc" } },
            "dev-arbutus",
        );
        expect(generated.raw["sshPrivateKey"]).toBeUndefined();
        expect(generated.notes).toContainEqual(
            expect.stringMatching(/sshPrivateKey is a secret.*--stack dev-arbutus/),
        );
    });
    it("notes a larger flavor where the target lacks the exact size", () => {
        const generated = stackConfigFor(
            inv,
            { ...arbutus, flavors: ["p2-3gb", "p4-7.5gb"] },
            source,
            "dev-arbutus",
        );
        expect(generated.notes).toContainEqual(
            expect.stringMatching(/^web: no 1 vCPU \/ 1.5 GB flavor; p2-3gb is larger/),
        );
        expect((generated.raw["roles"] as Record<string, { flavor: string }>)["web"]?.flavor).toBe(
            "p2-3gb",
        );
    });
    it("refuses a mapping without a type for a class in use", () => {
        expect(() =>
            stackConfigFor(
                inv,
                { ...arbutus, volumeTypes: { hdd: "rbd1" } },
                source,
                "dev-arbutus",
            ),
        ).toThrow(/no volume type for class "ssd"/);
    });
    it("writes the keys in Pulumi.yaml's order with the notes on top", () => {
        const text = renderStackFile(
            { privateCidr: "10.20.0.0/24", externalNetwork: "Public-Network" },
            {
                sourceStack: "dev",
                cloud: "arbutus",
                notes: ["check me"],
            },
        );
        expect(text).toMatch(
            /^# Generated .* stack 'dev', for arbutus\.\n.*\n# NOTE: check me\nconfig:\n  ouvroir:externalNetwork: Public-Network\n  ouvroir:privateCidr/,
        );
    });
});

describe("inventoryDifferences", () => {
    const inv = inventoryFromExport(dev);
    it("is empty for the same infrastructure under another stack name", () => {
        expect(
            inventoryDifferences(inv, {
                ...inv,
                source: { project: "ouvroir", stack: "dev-arbutus" },
            }),
        ).toEqual([]);
    });
    it("names changed scalars and lists", () => {
        expect(
            inventoryDifferences(inv, {
                ...inv,
                publicAddresses: 2,
                publicNames: ["dev.ouvroir.example.org"],
            }),
        ).toEqual([
            'publicNames: only before: "atlas.dev.ouvroir.example.org"',
            "publicAddresses: 1 → 2",
        ]);
    });
});

describe("the command line (npm run export)", () => {
    const script = path.resolve(__dirname, "../../tools/export-inventory.ts");
    const run = (args: string[], input?: string) =>
        spawnSync("npx", ["ts-node", "--transpile-only", script, ...args], {
            input: input ?? "",
            encoding: "utf8",
        });
    it("--help prints the usage and succeeds", () => {
        const r = run(["--help"]);
        expect(r.status).toBe(0);
        expect(r.stdout).toContain("Migration export");
    }, 60_000);
    it("an unknown flag gives its name and the usage, exit 2", () => {
        const r = run(["--nope"]);
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/^unexpected argument --nope\n\/\*\*/);
    }, 60_000);
    it("empty input says what it expected instead of a JSON parser's error", () => {
        const r = run([]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("stdin is not JSON from `pulumi stack export` (it is empty)");
    }, 60_000);
});
