// Does not prove the Pulumi engine or the openstack provider (inputs are mapped to API calls by tests/harness/local-openstack/replay.py, not by the provider), nor update-versus-replace decisions, nor anything inside a guest.
/**
 * The program's own resources against the real APIs of the local OpenStack, without the engine:
 * index.ts runs under Pulumi's mocks with Pulumi.local.yaml, every OpenStack resource it
 * registers is recorded with its resolved inputs, and replay.py creates them on the cloud as the
 * demo user (inside the RAS quota), grows each data volume by 1 GB while attached, and deletes
 * everything. A rule the API refuses (bad CIDR, duplicate rule), a flavor or volume type that
 * does not exist, user data over Nova's limit, a quota overrun: each fails here.
 *
 *   sudo npm run test:integration -- tests/integration/replay.test.ts
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { resolved, runProgram } from "../harness/mocks";

const REPO = path.resolve(__dirname, "../..");
const SCRIPTS = path.join(REPO, "tests/harness/local-openstack");
const PYTHON = "/usr/bin/python3";

jest.setTimeout(30 * 60_000);

interface Summary {
    resources: number;
    createSeconds: number;
    timings: Record<string, number>;
    deleteFailures: string[];
}

// prod only: the local stack goes through the real engine and provider in tests/engine, which
// this replay cannot replace for prod (prod's day-2 needs the command and random providers, which
// cannot be built here). prod's flavors, volume sizes and types, and user data with day-2 on must
// be accepted by the APIs, and prod alone fits the RAS quota the local cloud enforces.
const STACKS = (process.env.OUVROIR_REPLAY_STACKS ?? "prod").split(",").filter((s) => s);

it.each(STACKS)(
    "creates every OpenStack resource of the %s stack, grows its data volumes online, deletes them",
    async (stack) => {
        execFileSync("bash", [path.join(SCRIPTS, "up.sh")], { stdio: "inherit" });
        // What an earlier failed run left would count against the quota.
        execFileSync(PYTHON, [path.join(SCRIPTS, "provision.py"), "clean"], { stdio: "inherit" });

        const { records } = await runProgram(stack);
        const plan = [];
        for (const r of records) {
            if (r.type.startsWith("openstack:")) {
                plan.push({ type: r.type, name: r.name, inputs: await resolved(r) });
            }
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-replay-"));
        const file = path.join(dir, "plan.json");
        fs.writeFileSync(file, JSON.stringify(plan, null, 1));

        const r = spawnSync(PYTHON, [path.join(SCRIPTS, "replay.py"), file], {
            env: { ...process.env, OS_CLOUD: "ouvroir-local" },
            encoding: "utf8",
            maxBuffer: 64 << 20,
        });
        console.log(`${r.stdout}\n${r.stderr}`);
        const line = r.stdout.split("\n").find((l) => l.startsWith("REPLAY "));
        expect(line).toBeDefined();
        const summary = JSON.parse((line ?? "REPLAY {}").slice("REPLAY ".length)) as Summary;
        expect(summary.deleteFailures).toEqual([]);
        expect(r.status).toBe(0);
        expect(summary.resources).toBe(plan.length);
        console.log(
            `${summary.resources} resources created in ${summary.createSeconds} s ` +
                `(${(summary.resources / summary.createSeconds).toFixed(2)} resources/s, sequential)`,
        );
        fs.rmSync(dir, { recursive: true, force: true });
    },
);
