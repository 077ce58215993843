/**
 * Writes tests/migration/fixtures/<stack>-export.json (dev by default, or the stack given):
 * what `pulumi stack export --stack <stack>` holds after a deployment of Pulumi.<stack>.yaml on
 * Béluga, made by running the real program under mocks (tests/migration/harness.ts). Rerun
 * after a change to the program's resources:
 *   npx ts-node --transpile-only tests/migration/make-fixture.ts [dev|prod]
 * tests/migration/fixture.test.ts fails when the committed dev fixture no longer matches.
 */
import * as fs from "fs";
import * as path from "path";

import * as prettier from "prettier";

import { BELUGA, REPO, runProgram, stackFileConfig, withMockSecrets } from "./harness";

async function main(stack: string): Promise<void> {
    const exported = await runProgram(
        stack,
        withMockSecrets(stackFileConfig(path.join(REPO, `Pulumi.${stack}.yaml`))),
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
    const file = path.join(__dirname, "fixtures", `${stack}-export.json`);
    // Written as the repository's formatter would (npm run format checks fixtures too).
    const options = (await prettier.resolveConfig(file)) ?? {};
    fs.writeFileSync(
        file,
        await prettier.format(JSON.stringify(exported), { ...options, parser: "json" }),
    );
    console.log(`${file}: ${exported.deployment.resources.length} resources`);
}

main(process.argv[2] ?? "dev").catch((err: unknown) => {
    console.error(err);
    process.exit(1);
});
