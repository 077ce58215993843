/**
 * Writes tests/migration/fixtures/dev-export.json: what `pulumi stack export --stack dev` holds
 * after a deployment of Pulumi.dev.yaml on Béluga, made by running the real program under mocks
 * (tests/migration/harness.ts). Rerun after a change to the program's resources:
 *   npx ts-node --transpile-only tests/migration/make-fixture.ts
 * tests/migration/fixture.test.ts fails when the committed fixture no longer matches the program.
 */
import * as fs from "fs";
import * as path from "path";

import { BELUGA, REPO, runProgram, stackFileConfig } from "./harness";

async function main(): Promise<void> {
    const exported = await runProgram(
        "dev",
        stackFileConfig(path.join(REPO, "Pulumi.dev.yaml")),
        BELUGA,
    );
    for (const r of exported.deployment.resources) {
        for (const bag of [r.inputs, r.outputs]) {
            // The rendered cloud-config is 20-30 kB per VM and irrelevant to the inventory.
            if (bag && typeof bag["userData"] === "string") {
                bag["userData"] =
                    `${bag["userData"].split("\n").slice(0, 12).join("\n")}\n# … (cut in this fixture)\n`;
            }
        }
    }
    const file = path.join(__dirname, "fixtures", "dev-export.json");
    fs.writeFileSync(file, `${JSON.stringify(exported, null, 2)}\n`);
    console.log(`${file}: ${exported.deployment.resources.length} resources`);
}

main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
});
