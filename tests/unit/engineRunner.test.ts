// The engine runner's command line (tools/engine/run.ts) and what the engine prints for a
// configuration error; the config values the CLI writes (`config set --path` stores numbers as
// integers, `stack init` stores booleans as strings). Does not run the engine: tests/engine does.
import { RunError } from "@pulumi/pulumi/errors";
import * as path from "path";
import { ConfigError, parseStackConfig, readStackFile } from "../../config";
import { parseArgs } from "../../tools/engine/run";

describe("npm run engine -- <command> <stack>", () => {
    it("parses a command, a stack and its options", () => {
        expect(parseArgs(["up", "dev", "--yes", "--expect-no-changes"])).toMatchObject({
            command: "up",
            stack: "dev",
            yes: true,
            expectNoChanges: true,
        });
        expect(parseArgs(["export", "prod", "state.json"])).toMatchObject({ file: "state.json" });
    });
    it("refuses what it cannot run, saying why", () => {
        expect(parseArgs([])).toBe("no command");
        expect(parseArgs(["deploy", "dev"])).toBe("unknown command deploy");
        expect(parseArgs(["up"])).toBe("no stack named");
        expect(parseArgs(["up", "dev"])).toBe("up changes the cloud: add --yes");
        expect(parseArgs(["destroy", "dev"])).toBe("destroy changes the cloud: add --yes");
        expect(parseArgs(["import", "dev"])).toBe("import needs a file");
        expect(parseArgs(["preview", "dev", "--force"])).toBe("unknown option --force");
        expect(parseArgs(["preview", "dev;rm -rf /"])).toBe(
            'stack name "dev;rm -rf /" is not a stack name',
        );
    });
});

describe("a configuration error, as the engine prints it", () => {
    const e = new ConfigError("local", ["ouvroir:x is wrong: fix it."]);
    it("is a RunError: the engine prints its message alone, not 'Unhandled exception' and a trace", () => {
        expect(RunError.isInstance(e)).toBe(true);
        expect(e.message).toBe(
            "stack 'local' has 1 configuration problem(s); nothing was created:\n  - ouvroir:x is wrong: fix it.",
        );
    });
    it("keeps Error.stack a stack trace (the stack's name is stackName)", () => {
        expect(e.stackName).toBe("local");
        expect(String(e.stack)).toMatch(/^ConfigError: stack 'local'/);
    });
});

describe("values in the form the CLI writes them", () => {
    const raw = readStackFile(path.resolve(__dirname, "../.."), "dev");
    it("takes a size as an integer (config set --path) or as text", () => {
        const roles = raw.roles as Record<string, Record<string, unknown>>;
        for (const size of [30, "30"]) {
            const cfg = parseStackConfig("dev", {
                ...raw,
                roles: { ...roles, xmldb: { ...roles.xmldb, dataVolumeGb: size } },
            });
            expect(cfg.roles.xmldb?.dataVolumeGb).toBe(30);
        }
    });
    it('takes booleans as text (stack init writes "false")', () => {
        expect(raw.protectData).toBe("false");
        expect(parseStackConfig("dev", raw).protectData).toBe(false);
        expect(
            parseStackConfig("dev", { ...raw, protectData: "true", adminCidrs: ["132.204.0.0/16"] })
                .protectData,
        ).toBe(true);
    });
});
