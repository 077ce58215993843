/**
 * One migration, as an operator runs it (docs/migration.md steps 1, 2 and 5) but under mocks:
 * `npm run export` on a committed Béluga export writes the inventory and the Arbutus stack file;
 * the real program runs on that file against a mocked Arbutus; `npm run export` on the result
 * gives the target's inventory. Shared by the dev and prod round-trip tests.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { Inventory, main } from "../../tools/export-inventory";
import {
    ARBUTUS,
    REPO,
    runProgram,
    stackFileConfig,
    StackExport,
    withMockSecrets,
} from "./harness";

export const FIXTURES = path.join(__dirname, "fixtures");

export interface Migration {
    readonly tmp: string;
    /** The generated Pulumi.<newStack>.yaml. */
    readonly stackFile: string;
    readonly inventoryFile: string;
    readonly source: Inventory;
    readonly target: Inventory;
    readonly targetExport: StackExport;
}

/**
 * Runs the export CLI's main with its progress lines (stderr) held back from the test output;
 * they are printed after all when it fails.
 */
export function quietly(fn: () => number): number {
    const lines: string[] = [];
    const write = jest.spyOn(process.stderr, "write").mockImplementation((chunk) => {
        lines.push(String(chunk));
        return true;
    });
    let code = 1;
    try {
        code = fn();
        return code;
    } finally {
        write.mockRestore();
        if (code !== 0) process.stderr.write(lines.join(""));
    }
}

export async function migrate(stack: string, newStack: string): Promise<Migration> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `ouvroir-migration-${stack}-`));
    const stackFile = path.join(tmp, `Pulumi.${newStack}.yaml`);
    const inventoryFile = path.join(tmp, `${stack}-inventory.json`);
    const exported = quietly(() =>
        main([
            path.join(FIXTURES, `${stack}-export.json`),
            "--source-mapping",
            path.join(FIXTURES, "beluga.yaml"),
            "--source-config",
            path.join(REPO, `Pulumi.${stack}.yaml`),
            "--inventory",
            inventoryFile,
            "--mapping",
            path.join(FIXTURES, "arbutus.yaml"),
            "--stack",
            newStack,
            "--out",
            stackFile,
        ]),
    );
    if (exported !== 0) throw new Error(`export of ${stack} exited with ${exported}`);

    const targetExport = await runProgram(
        newStack,
        withMockSecrets(stackFileConfig(stackFile)),
        ARBUTUS,
    );
    const targetExportFile = path.join(tmp, `${newStack}-export.json`);
    fs.writeFileSync(targetExportFile, JSON.stringify(targetExport));
    const targetInventoryFile = path.join(tmp, `${newStack}-inventory.json`);
    const again = quietly(() =>
        main([
            targetExportFile,
            "--source-mapping",
            path.join(FIXTURES, "arbutus.yaml"),
            "--source-config",
            stackFile,
            "--inventory",
            targetInventoryFile,
        ]),
    );
    if (again !== 0) throw new Error(`export of ${newStack} exited with ${again}`);

    const read = (file: string): Inventory =>
        JSON.parse(fs.readFileSync(file, "utf8")) as Inventory;
    return {
        tmp,
        stackFile,
        inventoryFile,
        source: read(inventoryFile),
        target: read(targetInventoryFile),
        targetExport,
    };
}
