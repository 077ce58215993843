// Migration round trip under mocks: dev's export → inventory → Arbutus stack file → the program on Arbutus → the same inventory. Does not prove a real cloud accepts the names in the mapping, nor that any data moves (that is the backup/restore runbook, docs/migration.md).
import * as fs from "fs";
import * as path from "path";

import * as YAML from "yaml";

import {
    Inventory,
    infrastructureOf,
    inventoryDifferences,
    main,
} from "../../tools/export-inventory";
import { StackExport } from "./harness";
import { FIXTURES, migrate, quietly } from "./roundTrip";

describe("dev on Béluga → arbutus", () => {
    let tmp: string;
    let stackFile: string;
    let inventoryFile: string;
    let source: Inventory;
    let target: Inventory;
    let targetExport: StackExport;

    beforeAll(async () => {
        ({ tmp, stackFile, inventoryFile, source, target, targetExport } = await migrate(
            "dev",
            "arbutus",
        ));
    }, 90_000);

    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("reads a complete inventory from the dev export", () => {
        expect(source.source).toEqual({ project: "ouvroir", stack: "dev" });
        expect(source.hosts.map((h) => `${h.name} ${h.vcpus}/${h.ramGb}`)).toEqual([
            "web-1 1/1.5",
            "xmldb-1 2/3",
            "iiif-1 2/3",
            "app-1 2/3",
            "sandbox-1 2/3",
        ]);
        expect(
            source.volumes.map((v) => `${v.role} ${v.sizeGb} ${v.class} ${v.mountPoint}`),
        ).toEqual([
            "web 10 ssd /srv/data",
            "xmldb 20 ssd /srv/data",
            "iiif 50 ssd /srv/data",
            "app 20 ssd /srv/data",
            "sandbox 20 ssd /srv/data",
        ]);
        expect(
            source.securityRules
                .filter((r) => r.from === "world")
                .map((r) => `${r.role}:${r.ports}/${r.ethertype}`),
        ).toEqual(["web:80/IPv4", "web:80/IPv6", "web:443/IPv4", "web:443/IPv6"]);
        expect(source.securityRules).toContainEqual(
            expect.objectContaining({ role: "web", name: "ssh", from: "cidr:132.204.0.0/16" }),
        );
        expect(source.publicNames).toEqual([
            "atlas.dev.ouvroir.example.org",
            "dev.ouvroir.example.org",
        ]);
        expect(source.publicAddresses).toBe(1);
    });

    it("writes a stack file that uses Arbutus's names", () => {
        const config = (
            YAML.parse(fs.readFileSync(stackFile, "utf8")) as { config: Record<string, unknown> }
        ).config;
        expect(config["ouvroir:externalNetwork"]).toBe("Public-Network");
        expect(config["ouvroir:volumeTypes"]).toEqual(["high_performance", "rbd1"]);
        const roles = config["ouvroir:roles"] as Record<
            string,
            { flavor: string; dataVolumeType: string }
        >;
        expect(Object.values(roles).map((r) => r.dataVolumeType)).toEqual(
            Array(5).fill("high_performance"),
        );
        // Nothing of Béluga's survives.
        expect(fs.readFileSync(stackFile, "utf8")).not.toMatch(
            /volumes-(ssd|ec)|sharesAllocationWith/,
        );
    });

    it("builds it on Arbutus: the external network, volume types and flavors of the mapping", () => {
        const inputs = (type: string) =>
            targetExport.deployment.resources
                .filter((r) => r.type === type)
                .map((r) => r.inputs ?? {});
        expect(inputs("openstack:networking/floatingIp:FloatingIp").map((i) => i["pool"])).toEqual([
            "Public-Network",
        ]);
        expect(
            new Set(inputs("openstack:blockstorage/volume:Volume").map((i) => i["volumeType"])),
        ).toEqual(new Set(["high_performance"]));
        expect(inputs("openstack:compute/instance:Instance").map((i) => i["name"])).toEqual(
            expect.arrayContaining(["arbutus-web-1", "arbutus-xmldb-1"]),
        );
    });

    it("has the same inventory as the source", () => {
        expect(target.source).toEqual({ project: "ouvroir", stack: "arbutus" });
        expect(infrastructureOf(target)).toEqual(infrastructureOf(source));
    });

    it("verifies with --compare: same infrastructure passes, a difference fails and is named", () => {
        const targetFile = path.join(tmp, "arbutus-export.json");
        fs.writeFileSync(targetFile, JSON.stringify(targetExport));
        const args = [targetFile, "--source-mapping", path.join(FIXTURES, "arbutus.yaml")];
        expect(
            quietly(() =>
                main([
                    ...args,
                    "--inventory",
                    path.join(tmp, "after.json"),
                    "--compare",
                    inventoryFile,
                ]),
            ),
        ).toBe(0);

        const smaller = {
            ...source,
            volumes: source.volumes.map((v) => (v.role === "iiif" ? { ...v, sizeGb: 40 } : v)),
        };
        expect(inventoryDifferences(smaller, target)).toEqual([
            expect.stringMatching(/^volumes: only before: .*"iiif".*40/),
            expect.stringMatching(/^volumes: only after: .*"iiif".*50/),
        ]);
        fs.writeFileSync(path.join(tmp, "smaller.json"), JSON.stringify(smaller));
        // Exit 1 (the difference): its lines are printed, as intended for a failing compare.
        const lines: string[] = [];
        const write = jest.spyOn(process.stderr, "write").mockImplementation((c) => {
            lines.push(String(c));
            return true;
        });
        const code = main([
            ...args,
            "--inventory",
            path.join(tmp, "after.json"),
            "--compare",
            path.join(tmp, "smaller.json"),
        ]);
        write.mockRestore();
        expect(code).toBe(1);
        expect(lines.join("")).toMatch(/\(dev\) and arbutus differ:\n {2}volumes: only before:/);
    });
});
