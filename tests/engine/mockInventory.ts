/**
 * Prints the `type name` of every resource the program registers for a stack under Pulumi's
 * mocks (tests/harness.ts), as a JSON array: what tests/engine compares the real preview with.
 * Runs in its own process: the mocks replace the Pulumi runtime of the process they run in.
 *
 *   npx ts-node --transpile-only tests/engine/mockInventory.ts <stack> [overrides.json]
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { readStackFile } from "../../config";
import { Registration, installMocks, runStack, stackConfigForRuntime } from "../harness/mocks";

const REPO = path.resolve(__dirname, "../..");

async function main(stack: string, overridesFile?: string): Promise<void> {
    const overrides = overridesFile
        ? (JSON.parse(fs.readFileSync(overridesFile, "utf8")) as Record<string, unknown>)
        : {};
    const records: Registration[] = [];
    installMocks(stack, { previousOutputs: {} });
    pulumi.runtime.setAllConfig(
        stackConfigForRuntime({ ...readStackFile(REPO, stack), ...overrides }),
    );
    process.chdir(REPO);
    await runStack(records, async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { program } = require("../../program") as typeof import("../../program");
        return program();
    });
    console.log(JSON.stringify(records.map((r) => `${r.type} ${r.name}`).sort()));
}

main(process.argv[2] ?? "local", process.argv[3]).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
});
