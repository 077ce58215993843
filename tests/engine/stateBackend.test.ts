// Does not prove Arbutus's object storage itself (its TLS, its Ceph S3 dialect, project-scoped
// buckets): the server is rclone's `serve s3` on this host (tests/harness/s3-server.sh), reached
// over http. It proves what the pulumi CLI (tools/engine/build.sh) does with the backend URL forms
// that config/backend.ts accepts and refuses.
/**
 * The state backend on S3, through the real pulumi CLI: the URL form docs/ci.md gives (a full
 * endpoint URL, path-style, a region) logs in, creates a stack and writes its state into the
 * bucket; the forms backendUrlProblems refuses do not work (virtual-hosted style asks DNS for
 * <bucket>.<host>; an endpoint without a scheme is not a URL to the S3 client).
 *
 *   sudo npm run test:engine -- tests/engine/stateBackend.test.ts
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backendUrlProblems } from "../../config/backend";
import { REPO, engineBin, engineEnv } from "../../tools/engine/run";

jest.setTimeout(20 * 60_000);

const BUCKET = "ouvroir-state";
const ADDR = "127.0.0.1:9107";
const S3 = path.join(REPO, "tests", "harness", "s3-server.sh");
let work = "";
let s3Env: NodeJS.ProcessEnv = {};
let bin = "";

function s3(cmd: "start" | "stop"): string {
    return execFileSync("bash", [S3, cmd], { encoding: "utf8", env: s3Env });
}

/** Runs the CLI with `url` as its backend, in a PULUMI_HOME of its own. */
function pulumi(url: string, ...args: string[]): { status: number; out: string } {
    const r = spawnSync(path.join(bin, "pulumi"), [...args, "--non-interactive"], {
        cwd: work,
        encoding: "utf8",
        timeout: 120_000,
        env: {
            ...process.env,
            ...engineEnv(bin),
            PULUMI_HOME: path.join(work, "home"),
            PULUMI_BACKEND_URL: url,
            PULUMI_CONFIG_PASSPHRASE: "state-backend-test",
            AWS_ACCESS_KEY_ID: "ouvroirstateaccess",
            AWS_SECRET_ACCESS_KEY: "ouvroirstatesecret0123456789",
            // No retries against a host that will never answer (the virtual-hosted case).
            AWS_MAX_ATTEMPTS: "1",
        },
    });
    return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
    bin = engineBin();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-state-backend-"));
    fs.writeFileSync(path.join(work, "Pulumi.yaml"), "name: ouvroir\nruntime: nodejs\n");
    s3Env = {
        ...process.env,
        OUVROIR_S3_ADDR: ADDR,
        OUVROIR_S3_DIR: path.join(work, "s3"),
        OUVROIR_S3_BUCKET: BUCKET,
        OUVROIR_S3_ACCESS_KEY: "ouvroirstateaccess",
        OUVROIR_S3_SECRET_KEY: "ouvroirstatesecret0123456789",
    };
    s3("start");
});

afterAll(() => {
    if (work) {
        s3("stop");
        fs.rmSync(work, { recursive: true, force: true });
    }
});

describe("the state backend on S3, through the pulumi CLI", () => {
    const good = `s3://${BUCKET}?endpoint=http://${ADDR}&use_path_style=true&region=us-east-1`;

    it("the documented form (full endpoint URL, path-style, region) holds a stack's state", () => {
        expect(backendUrlProblems(good)).toEqual([]);
        const init = pulumi(good, "stack", "init", "dev");
        expect(init).toEqual({ status: 0, out: expect.stringContaining("Created stack 'dev'") });
        const ls = pulumi(good, "stack", "ls", "--json");
        expect(ls.status).toBe(0);
        expect((JSON.parse(ls.out) as { name: string }[]).map((s) => s.name)).toEqual(["dev"]);
        // The state is in the bucket, as objects under .pulumi/ (path-style: the bucket is a
        // directory of the server's store, not a host name).
        const stacks = path.join(work, "s3", "objects", BUCKET, ".pulumi", "stacks", "ouvroir");
        expect(fs.readdirSync(stacks).filter((f) => f.startsWith("dev.json"))).not.toEqual([]);
    });

    it("without path-style, the CLI looks for <bucket>.<host> and fails; the check said so first", () => {
        const url = `s3://${BUCKET}?endpoint=http://${ADDR}&region=us-east-1`;
        expect(backendUrlProblems(url)).toEqual([
            expect.stringContaining("does not ask for path-style addressing (use_path_style=true)"),
        ]);
        const r = pulumi(url, "stack", "ls", "--json");
        expect(r.status).not.toBe(0);
        expect(r.out).toContain(`${BUCKET}.${ADDR.split(":")[0]}`);
    });

    it("an endpoint without a scheme fails in the CLI; the check said so first", () => {
        const url = `s3://${BUCKET}?endpoint=${ADDR}&use_path_style=true&region=us-east-1`;
        expect(backendUrlProblems(url)).toEqual([expect.stringContaining("has no scheme")]);
        expect(pulumi(url, "stack", "ls", "--json").status).not.toBe(0);
    });
});
