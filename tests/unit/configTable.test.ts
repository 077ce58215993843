// The configuration is one table (config/keys.ts): Pulumi.yaml and the README's settings table
// are generated from it and must not drift; every key says what a change after deploy does.
// Does not prove the effects themselves (the after-deploy tests: tests/unit/day2.test.ts,
// tests/stacks, tests/vm/trials.test.ts).
import * as fs from "fs";
import * as path from "path";
import { CHECKS, CONFIG_KEYS, DEFAULTS, KEYS, KeySpec, SECRET_KEYS } from "../../config";
import { renderPulumiYaml, withReadmeTable } from "../../config/docs";

const root = path.join(__dirname, "..", "..");

describe("the configuration table", () => {
    it("generates Pulumi.yaml exactly (npm run config:docs)", () => {
        expect(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")).toBe(renderPulumiYaml());
    });
    it("generates the README's settings table exactly (npm run config:docs)", () => {
        const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
        expect(readme).toBe(withReadmeTable(readme));
    });
    it("gives every key an after-deploy effect, and every secret no default", () => {
        for (const key of [...CONFIG_KEYS, ...SECRET_KEYS]) {
            const spec = KEYS[key] as KeySpec;
            expect([key, ["in place", "rebuild", "refused", "none"]]).toEqual([
                key,
                expect.arrayContaining([spec.afterDeploy.effect]),
            ]);
            expect(spec.afterDeploy.step.length).toBeGreaterThan(8);
        }
        for (const key of SECRET_KEYS) expect((KEYS[key] as KeySpec).default).toBeUndefined();
        expect(Object.keys(DEFAULTS).sort()).toEqual([...CONFIG_KEYS].sort());
        // One check per key, run in the table's order.
        expect(Object.keys(CHECKS).sort()).toEqual([...CONFIG_KEYS].sort());
    });
    it("a key added to the table appears in both generated files", () => {
        const pulumi = renderPulumiYaml();
        const readme = withReadmeTable(fs.readFileSync(path.join(root, "README.md"), "utf8"));
        for (const key of CONFIG_KEYS) expect(pulumi).toContain(`\n    ${key}:\n`);
        for (const key of [...CONFIG_KEYS, ...SECRET_KEYS])
            expect(readme).toContain(`| \`${key}\``);
    });
});
