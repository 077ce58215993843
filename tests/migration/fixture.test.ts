// The committed dev export fixture still describes what the program builds from Pulumi.dev.yaml (same inventory). Does not prove the fixture's ids or outputs match a real cloud's.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

import {
    infrastructureOf,
    inventoryFromExport,
    StackExportDoc,
} from "../../tools/export-inventory";
import { BELUGA, REPO, runProgram, stackFileConfig } from "./harness";

it("has the inventory the program gives dev today (else: npx ts-node --transpile-only tests/migration/make-fixture.ts)", async () => {
    const fixture = JSON.parse(
        fs.readFileSync(path.join(__dirname, "fixtures", "dev-export.json"), "utf8"),
    ) as StackExportDoc;
    const fresh = await runProgram(
        "dev",
        stackFileConfig(path.join(REPO, "Pulumi.dev.yaml")),
        BELUGA,
    );
    expect(inventoryFromExport(fresh as StackExportDoc)).toEqual(inventoryFromExport(fixture));
    expect(infrastructureOf(inventoryFromExport(fixture)).hosts).toHaveLength(5);
}, 90_000);

it.each(["dev", "prod"])(
    "%s's fixture went through a real Pulumi CLI, as `pulumi stack import` wants (else: make-fixture.ts with OUVROIR_PULUMI)",
    (stack) => {
        const fixture = JSON.parse(
            fs.readFileSync(path.join(__dirname, "fixtures", `${stack}-export.json`), "utf8"),
        ) as { deployment: { manifest: { magic: string; version: string } } };
        const { magic, version } = fixture.deployment.manifest;
        // The CLI refuses an import whose magic is not this hash ("magic cookie mismatch").
        expect(magic).toBe(crypto.createHash("sha256").update(version).digest("hex"));
    },
);
