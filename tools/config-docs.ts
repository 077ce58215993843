/**
 * `npm run config:docs`: writes Pulumi.yaml and the README's settings table from the key table
 * (config/keys.ts), and the README's alerts table from components/monitoring.ts. `--check` only says whether they are up to date (exit 1 if not).
 */
import * as fs from "fs";
import * as path from "path";
import { withAlertsTable } from "../components/monitoring";
import { renderPulumiYaml, withReadmeTable } from "../config/docs";

const USAGE = "usage: npm run config:docs [-- --check]";
const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
    console.log(
        `${USAGE}\nWrites Pulumi.yaml and the README's settings table from config/keys.ts.`,
    );
    process.exit(0);
}
const bad = args.find((a) => a !== "--check");
if (bad !== undefined) {
    console.error(`config:docs: unknown argument ${bad}\n${USAGE}`);
    process.exit(2);
}
const root = path.join(__dirname, "..");
const files = {
    "Pulumi.yaml": renderPulumiYaml(),
    "README.md": withAlertsTable(
        withReadmeTable(fs.readFileSync(path.join(root, "README.md"), "utf8")),
    ),
};
let stale = 0;
for (const [name, text] of Object.entries(files)) {
    const file = path.join(root, name);
    if (fs.readFileSync(file, "utf8") === text) continue;
    stale++;
    if (args.includes("--check")) console.error(`${name} differs from config/keys.ts`);
    else {
        fs.writeFileSync(file, text);
        console.log(`${name} written`);
    }
}
if (args.includes("--check") && stale > 0) {
    console.error("run: npm run config:docs");
    process.exit(1);
}
