/**
 * The program through the real Pulumi engine without the Node.js language host: the Automation
 * API runs program.ts as an inline program inside this Node process, and the `pulumi` CLI
 * (tools/engine/build.sh, or one on PATH) connects back to it. Pulumi.yaml and
 * Pulumi.<stack>.yaml of the work directory are honoured as the CLI honours them (project name,
 * config, secrets provider). Where the language host exists, plain `pulumi up` does the same.
 *
 *   npm run engine -- <preview|up|refresh|destroy|cancel|export|import> <stack> [options]
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    DestroyOptions,
    DestroyResult,
    EngineEvent,
    LocalWorkspace,
    OpType,
    PulumiCommand,
    Stack,
} from "@pulumi/pulumi/automation";

import { backendUrlProblems } from "../../config/backend";
import { recover } from "./recover";

export const REPO = path.resolve(__dirname, "../..");
export const PROJECT = "ouvroir";

const USAGE = `usage: npm run engine -- <command> <stack> [options]

Runs program.ts through the Pulumi engine as an Automation API inline program (no Node.js
language host needed). The pulumi CLI and our OpenStack provider come from
tools/engine/build.sh (or OUVROIR_ENGINE_BIN=<dir>).

commands:
  preview <stack>            what would change
  up <stack> --yes           apply (--yes is required, as with the CLI's --non-interactive)
  refresh <stack> --yes      read the cloud into the state
  destroy <stack> --yes      delete the stack's resources (protected ones refuse)
  cancel <stack>             remove the lock an interrupted update left
  recover <stack>            after an interrupted up: cancel, delete the orphans of its pending
                             creates (tools/engine/recover.ts), clear them; then run up
  export <stack> <file>      write the state (pulumi stack export) to <file>
  import <stack> <file>      read the state from <file> (pulumi stack import)

options:
  --expect-no-changes        fail if preview/up/refresh would change anything
  --diff                     show property-level diffs
  --policy-pack <dir>        run a policy pack on preview/up (needs what docs say; see README)
  --work-dir <dir>           where Pulumi.yaml and Pulumi.<stack>.yaml live (default: the repo)

environment: the backend (pulumi login, or PULUMI_BACKEND_URL), PULUMI_CONFIG_PASSPHRASE or
PULUMI_CONFIG_PASSPHRASE_FILE, and the OpenStack credentials (OS_CLOUD or OS_*).`;

/** The engine's bin directory: OUVROIR_ENGINE_BIN, else what tools/engine/build.sh builds. */
export function engineBin(): string {
    let bin = process.env.OUVROIR_ENGINE_BIN ?? "";
    if (bin === "") {
        const out = execFileSync("bash", [path.join(REPO, "tools/engine/build.sh")], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
        });
        bin = out.trim().split("\n").pop() ?? "";
    }
    for (const b of ["pulumi", "pulumi-resource-openstack"])
        if (!fs.existsSync(path.join(bin, b)))
            throw new Error(`${b} is missing from ${bin}: see tools/engine/README.md`);
    return bin;
}

/** The environment every engine run gets: no plugin downloads, no update check. */
export function engineEnv(bin: string): Record<string, string> {
    return {
        // tools/engine/bin: our launcher of Node.js policy packs (pulumi-analyzer-policy-nodejs).
        PATH: `${bin}:${path.join(REPO, "tools/engine/bin")}:${process.env.PATH ?? ""}`,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
}

/** Selects (or creates) `stack` in `workDir` with program.ts as its inline program. */
export async function engineStack(
    stackName: string,
    workDir = REPO,
    bin = engineBin(),
): Promise<Stack> {
    const env = engineEnv(bin);
    // The CLI finds our provider on PATH (its ambient plugins); this process needs it too.
    process.env.PATH = env.PATH;
    const pulumiCommand = await PulumiCommand.get({
        root: path.dirname(bin),
        skipVersionCheck: true,
    });
    // The backend first: a legacy or half-written S3 URL fails here, before any stack exists.
    const url =
        process.env.PULUMI_BACKEND_URL ??
        (await LocalWorkspace.create({ workDir, pulumiCommand, envVars: env })
            .then((ws) => ws.whoAmI())
            .then((who) => who.url ?? "")
            .catch(() => ""));
    const problems = backendUrlProblems(url);
    if (problems.length > 0) throw new Error(problems.join("\n"));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { program } = require(path.join(REPO, "program")) as typeof import("../../program");
    return LocalWorkspace.createOrSelectStack(
        { stackName, projectName: PROJECT, program },
        { workDir, pulumiCommand, envVars: env },
    );
}

/**
 * Destroy, after a preview of it: a protected resource fails the preview before anything is
 * deleted. (The Automation API's destroy skips the preview; without this, it deleted the
 * unprotected servers before it reached a protected volume and stopped.)
 */
export async function destroyAfterPreview(
    stack: Stack,
    opts: DestroyOptions = {},
): Promise<DestroyResult> {
    await stack.previewDestroy({ ...opts, onEvent: undefined });
    return stack.destroy(opts);
}

/** One resource step the engine reports: operation and `type::name`. */
export interface Step {
    op: OpType;
    type: string;
    name: string;
}

/** Collects the engine's resource steps (pre-events) from its event stream. */
export function stepCollector(): { steps: Step[]; onEvent: (e: EngineEvent) => void } {
    const steps: Step[] = [];
    return {
        steps,
        onEvent: (e) => {
            const m = e.resourcePreEvent?.metadata;
            if (!m) return;
            const name = m.urn.split("::").pop() ?? "";
            steps.push({ op: m.op, type: m.type, name });
        },
    };
}

interface Args {
    command: string;
    stack: string;
    file?: string;
    yes: boolean;
    expectNoChanges: boolean;
    diff: boolean;
    policyPacks: string[];
    workDir: string;
}

export function parseArgs(argv: readonly string[]): Args | string {
    const pos: string[] = [];
    const a: Args = {
        command: "",
        stack: "",
        yes: false,
        expectNoChanges: false,
        diff: false,
        policyPacks: [],
        workDir: REPO,
    };
    for (let i = 0; i < argv.length; i++) {
        const x = argv[i] as string;
        if (x === "--yes" || x === "-y") a.yes = true;
        else if (x === "--expect-no-changes") a.expectNoChanges = true;
        else if (x === "--diff") a.diff = true;
        else if (x === "--policy-pack" && argv[i + 1])
            a.policyPacks.push(path.resolve(argv[++i] as string));
        else if (x === "--work-dir" && argv[i + 1]) a.workDir = path.resolve(argv[++i] as string);
        else if (x.startsWith("-")) return `unknown option ${x}`;
        else pos.push(x);
    }
    [a.command = "", a.stack = "", a.file] = pos;
    const commands = [
        "preview",
        "up",
        "refresh",
        "destroy",
        "cancel",
        "recover",
        "export",
        "import",
    ];
    if (!commands.includes(a.command))
        return a.command ? `unknown command ${a.command}` : "no command";
    if (!a.stack) return "no stack named";
    if (!/^[A-Za-z0-9_.-]+$/.test(a.stack))
        return `stack name ${JSON.stringify(a.stack)} is not a stack name`;
    if ((a.command === "export" || a.command === "import") && !a.file)
        return `${a.command} needs a file`;
    if (["up", "refresh", "destroy"].includes(a.command) && !a.yes)
        return `${a.command} changes the cloud: add --yes`;
    return a;
}

export async function main(argv: readonly string[]): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
        console.log(USAGE);
        return 0;
    }
    const a = parseArgs(argv);
    if (typeof a === "string") {
        console.error(`engine: ${a}\n\n${USAGE}`);
        return 2;
    }
    // The program reads other stack files (ouvroir:sharesAllocationWith) from its directory.
    process.chdir(a.workDir);
    const stack = await engineStack(a.stack, a.workDir);
    const onOutput = (s: string): boolean => process.stdout.write(s);
    const common = { onOutput, color: "never" as const };
    const update = {
        ...common,
        diff: a.diff,
        expectNoChanges: a.expectNoChanges,
        policyPacks: a.policyPacks,
    };
    switch (a.command) {
        case "preview":
            await stack.preview(update);
            break;
        case "up":
            await stack.up(update);
            break;
        case "refresh":
            await stack.refresh({ ...common, expectNoChanges: a.expectNoChanges });
            break;
        case "destroy":
            await destroyAfterPreview(stack, common);
            break;
        case "cancel":
            await stack.cancel();
            console.log(`engine: ${a.stack} is unlocked`);
            break;
        case "recover":
            await recover(stack);
            break;
        case "export":
            fs.writeFileSync(
                a.file as string,
                JSON.stringify(await stack.exportStack(), null, 2) + "\n",
            );
            console.log(`engine: state of ${a.stack} written to ${a.file}`);
            break;
        case "import":
            await stack.importStack(JSON.parse(fs.readFileSync(a.file as string, "utf8")));
            console.log(`engine: state of ${a.stack} read from ${a.file}`);
            break;
    }
    return 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (e: unknown) => {
            // The engine's own message is in the output already; add the command's summary.
            const msg = e instanceof Error ? e.message : String(e);
            console.error(`engine: failed: ${msg.split("\n").slice(-12).join("\n")}`);
            process.exit(1);
        },
    );
}
