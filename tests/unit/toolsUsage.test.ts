// Every tool a person runs answers --help with its usage (exit 0), and a bad argument with the
// argument named and the usage (exit 2), before it touches anything. (npm run export: its own
// test in tests/migration/export.test.ts.) Does not prove what the tools do.
import { spawnSync } from "child_process";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const TOOLS: readonly [string, string][] = [
    ["npm run quota", "tools/quota.ts"],
    ["npm run config:docs", "tools/config-docs.ts"],
    ["npm run engine", "tools/engine/run.ts"],
    ["npm run local", "tests/harness/vm/local.ts"],
];

function run(file: string, args: string[]) {
    return spawnSync("npx", ["ts-node", "--transpile-only", path.join(ROOT, file), ...args], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
    });
}

describe.each(TOOLS)("%s", (name, file) => {
    it("--help prints its usage and exits 0", () => {
        const r = run(file, ["--help"]);
        expect([r.status, r.stdout]).toEqual([0, expect.stringContaining(`usage: ${name}`)]);
    }, 60_000);
    it("a bad argument is named, with the usage, exit 2", () => {
        const r = run(file, ["--no-such-flag"]);
        expect(r.status).toBe(2);
        expect(r.stderr).toContain("--no-such-flag");
        expect(r.stderr).toContain(`usage: ${name}`);
    }, 60_000);
});
