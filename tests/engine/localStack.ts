/**
 * The set-up the engine tests and the engine bench share: the local OpenStack started and its
 * demo project emptied, a temp work directory with copies of Pulumi.yaml and Pulumi.local.yaml
 * (so nothing writes into the repository) and a file:// backend inside it, and the environment
 * every engine run needs. `cleanCloud` empties the demo project again (as the admin).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO, engineBin, engineEnv } from "../../tools/engine/run";

export const STACK = "local";
export const PYTHON = "/usr/bin/python3";
const SCRIPTS = path.join(REPO, "tests/harness/local-openstack");

/** Empties the demo project; as the admin, whatever OS_CLOUD this process has set. */
export function cleanCloud(): void {
    const env = { ...process.env };
    delete env.OS_CLOUD;
    execFileSync(PYTHON, [path.join(SCRIPTS, "provision.py"), "clean"], { stdio: "inherit", env });
}

/** Starts the cloud (seconds when it runs), empties it, prepares a work directory; sets env. */
export function prepareLocalStack(prefix: string): { work: string; bin: string } {
    execFileSync("bash", [path.join(SCRIPTS, "up.sh")], { stdio: "inherit" });
    // A stack left by an earlier failed run would not fit the quota: start from empty.
    cleanCloud();
    const bin = engineBin();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    for (const f of ["Pulumi.yaml", `Pulumi.${STACK}.yaml`])
        fs.copyFileSync(path.join(REPO, f), path.join(work, f));
    fs.mkdirSync(path.join(work, "state"));
    // The Automation API passes process.env to the CLI; children started with `env: process.env`.
    Object.assign(process.env, {
        PULUMI_HOME: path.join(work, "home"),
        PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "ouvroir-local-test",
        OS_CLOUD: "ouvroir-local",
        ...engineEnv(bin),
    });
    return { work, bin };
}
