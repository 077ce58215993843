// Migration round trip of prod under mocks: HDD volumes map to rbd1, protection and the backup target survive, the off-site problem is flagged. Does not prove a real cloud accepts the mapping's names, nor that data moves (docs/migration.md).
import * as fs from "fs";

import * as YAML from "yaml";

import { infrastructureOf } from "../../tools/export-inventory";
import { Migration, migrate } from "./roundTrip";

describe("prod on Béluga → prod-arbutus", () => {
    let m: Migration;
    let text: string;
    let config: Record<string, unknown>;

    beforeAll(async () => {
        m = await migrate("prod", "prod-arbutus");
        text = fs.readFileSync(m.stackFile, "utf8");
        config = (YAML.parse(text) as { config: Record<string, unknown> }).config;
    }, 90_000);

    afterAll(() => fs.rmSync(m.tmp, { recursive: true, force: true }));

    it("reads the classes, protection and backup target of prod", () => {
        expect(
            m.source.volumes.map((v) => `${v.role} ${v.sizeGb} ${v.class} ${v.protected}`),
        ).toEqual([
            "web 20 ssd true",
            "xmldb 50 ssd true",
            "iiif 500 hdd true",
            "app 50 ssd true",
            "sandbox 200 hdd true",
        ]);
        expect(m.source.backups).toEqual(
            expect.objectContaining({ endpoint: "https://object-arbutus.alliancecan.ca" }),
        );
        expect(m.source.publicNames).toContain("carnet.ouvroir.example.org");
    });

    it("maps HDD to rbd1 and SSD to high_performance, keeps the data protected", () => {
        const roles = config["ouvroir:roles"] as Record<string, { dataVolumeType: string }>;
        expect(
            Object.fromEntries(Object.entries(roles).map(([r, c]) => [r, c.dataVolumeType])),
        ).toEqual({
            web: "high_performance",
            xmldb: "high_performance",
            iiif: "rbd1",
            app: "high_performance",
            sandbox: "rbd1",
        });
        expect(config["ouvroir:protectData"]).toBe(true);
        const volumes = m.targetExport.deployment.resources.filter(
            (r) => r.type === "openstack:blockstorage/volume:Volume",
        );
        expect(volumes.map((v) => v.protect)).toEqual([true, true, true, true, true]);
    });

    it("carries the application settings and flags a backup target on the new cloud itself", () => {
        expect(config["ouvroir:letsencryptEmail"]).toBe("ouvroir-admin@example.org");
        expect(config["ouvroir:backup"]).toEqual(
            expect.objectContaining({ bucket: "ouvroir-backups" }),
        );
        expect(text).toMatch(
            /# NOTE: ouvroir:backup still points to https:\/\/object-arbutus\.alliancecan\.ca, on the target cloud itself/,
        );
    });

    it("has the same inventory as the source", () => {
        expect(m.target.source.stack).toBe("prod-arbutus");
        expect(infrastructureOf(m.target)).toEqual(infrastructureOf(m.source));
    });
});
