// The app server's guard against another Debian release's PostgreSQL cluster on its volume, run
// by bash with the paths moved into a temp tree. Does not prove PostgreSQL's own refusal to read
// another major's files, nor the documented dump and load (docs/backup.md): only that the setup
// stops before creating a new, empty cluster beside the old one.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SETUP = fs.readFileSync(
    path.join(__dirname, "..", "..", "cloud-init/files/app/app-setup.sh"),
    "utf8",
);
const GUARD = SETUP.slice(
    SETUP.indexOf("    # guard: another release's cluster (begin)"),
    SETUP.indexOf("    # guard: another release's cluster (end)"),
);

function run(clusters: Record<string, string>, ver = "17"): { status: number; stderr: string } {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-pg-"));
    try {
        for (const [dir, version] of Object.entries(clusters)) {
            fs.mkdirSync(path.join(data, "postgresql", dir, "main"), { recursive: true });
            fs.writeFileSync(
                path.join(data, "postgresql", dir, "main", "PG_VERSION"),
                `${version}\n`,
            );
        }
        const r = spawnSync(
            "bash",
            ["-euo", "pipefail", "-c", `data=${data}; ver=${ver}\n${GUARD}\necho passed`],
            {
                encoding: "utf8",
            },
        );
        return { status: r.status ?? -1, stderr: r.stderr.replaceAll(data, "<data>") };
    } finally {
        fs.rmSync(data, { recursive: true, force: true });
    }
}

describe("the app server's PostgreSQL guard", () => {
    it("is in the setup script, before the cluster is made", () => {
        expect(GUARD).toContain("exit 1");
        expect(SETUP.indexOf("(begin)")).toBeLessThan(
            SETUP.indexOf('rsync -a "/var/lib/postgresql/$ver/main"'),
        );
    });

    it("stops on a volume holding another major's cluster, naming both and the runbook", () => {
        expect(run({ "15": "15" })).toEqual({
            status: 1,
            stderr: `ouvroir-app-setup: <data>/postgresql/15/main is PostgreSQL 15's cluster; this VM has PostgreSQL 17, which cannot read it. Nothing was started; the data is untouched. Load its dump into PostgreSQL 17: docs/backup.md, "PostgreSQL after a Debian release change".\n`,
        });
    });

    it("goes on with an empty volume, or one holding this major's cluster", () => {
        expect(run({}).status).toBe(0);
        expect(run({ "17": "17" }).status).toBe(0);
        expect(run({ "15": "15", "17": "17" }).status).toBe(0);
    });

    it("the runbook it names exists", () => {
        expect(
            fs.readFileSync(path.join(__dirname, "..", "..", "docs/backup.md"), "utf8"),
        ).toContain("## PostgreSQL after a Debian release change\n");
    });
});
