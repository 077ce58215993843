// The upstream installers (the cloud's path: packageSource upstream) of BaseX, Cantaloupe and
// Julia, run by bash against archives laid out as their releases are, their paths moved under a
// scratch root and their downloads file:// URLs through the real fetch-verified (SHA-256
// checked); accounts, systemctl and ouvroir-enable are logged stand-ins. Does not prove the real
// releases' layouts or that the services then start (only the cloud can download them; the VM
// layer runs Debian's BaseX and IIPImage, tests/harness/debianPackages.ts).
import { execFileSync, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const read = (p: string): string => fs.readFileSync(path.join(ROOT, p), "utf8");

/** A .zip or .tar.gz (by `dest`'s name) of `files` (name → content, 0755), by Python; its SHA-256. */
function archive(dest: string, files: Record<string, string>): string {
    execFileSync("python3", [
        "-c",
        [
            "import io,json,sys,tarfile,zipfile",
            "dest, files = sys.argv[1], json.loads(sys.argv[2])",
            "if dest.endswith('.zip'):",
            "  with zipfile.ZipFile(dest, 'w') as z:",
            "    for n, c in files.items(): z.writestr(n, c)",
            "else:",
            "  with tarfile.open(dest, 'w:gz') as t:",
            "    for n, c in files.items():",
            "      i = tarfile.TarInfo(n); b = c.encode(); i.size = len(b); i.mode = 0o755",
            "      t.addfile(i, io.BytesIO(b))",
        ].join("\n"),
        dest,
        JSON.stringify(files),
    ]);
    return createHash("sha256").update(fs.readFileSync(dest)).digest("hex");
}

/** `fn` in a scratch root (with its `src/` for the archives), removed after. */
function inScratch<T>(name: string, fn: (dir: string) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ouvroir-${name}-`));
    try {
        fs.mkdirSync(path.join(dir, "src"));
        return fn(dir);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** One installer run by bash, its paths under `dir`; what it printed (stand-ins log there). */
function runScript(
    dir: string,
    script: string,
    settings: string[],
): { status: number | null; stdout: string; stderr: string } {
    fs.mkdirSync(path.join(dir, "etc/ouvroir"), { recursive: true });
    fs.mkdirSync(path.join(dir, "lib"), { recursive: true });
    fs.mkdirSync(path.join(dir, "usr/local/bin"), { recursive: true });
    fs.mkdirSync(path.join(dir, "opt"), { recursive: true });
    fs.writeFileSync(
        path.join(dir, "lib", "fetch-verified"),
        read("cloud-init/files/base/fetch-verified.sh"),
        { mode: 0o755 },
    );
    fs.writeFileSync(path.join(dir, "etc/ouvroir/settings.env"), settings.join("\n") + "\n");
    const text = read(script)
        .replaceAll("{{dataMount}}", `${dir}/srv/data`)
        .replaceAll("/etc/ouvroir", `${dir}/etc/ouvroir`)
        .replaceAll("/opt/", `${dir}/opt/`)
        .replaceAll("/var/cache/ouvroir", `${dir}/var/cache/ouvroir`)
        .replaceAll("/usr/local/lib/ouvroir", `${dir}/lib`)
        .replaceAll("/usr/local/bin/", `${dir}/usr/local/bin/`)
        .replaceAll("/usr/local/sbin/ouvroir-enable", "stand_in ouvroir-enable")
        .replaceAll("-o cantaloupe -g cantaloupe ", "");
    const standIns = [
        'stand_in() { echo "$*"; }',
        "id() { return 1; }",
        'useradd() { stand_in useradd "$@"; }',
        'systemctl() { stand_in systemctl "$@"; }',
    ].join("\n");
    // --norc: Node's stdio is a socket, which bash takes for a remote shell's (~/.bashrc).
    const r = spawnSync("bash", ["--norc", "-s"], {
        input: text.replace("set -euo pipefail\n", `set -euo pipefail\n${standIns}\n`),
        encoding: "utf8",
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runInstaller(jarName: string): { code: number | null; stderr: string; env: string } {
    return inScratch("basex", (dir) => {
        const basexSum = archive(path.join(dir, "src", "BaseX120.zip"), {
            [`basex/${jarName}`]: "jar",
            "basex/lib/x.jar": "lib",
            "basex/webapp/WEB-INF/web.xml": "<web-app/>",
        });
        const saxonSum = archive(path.join(dir, "src", "SaxonHE12-5J.zip"), {
            "saxon-he-12.5.jar": "saxon",
            "lib/xmlresolver-5.2.2.jar": "resolver",
        });
        const r = runScript(dir, "cloud-init/files/xmldb/basex-install-upstream.sh", [
            "BASEX_VERSION=12.0",
            `BASEX_URL=file://${dir}/src/BaseX120.zip`,
            `BASEX_SHA256=${basexSum}`,
            `SAXON_URL=file://${dir}/src/SaxonHE12-5J.zip`,
            `SAXON_SHA256=${saxonSum}`,
        ]);
        const envFile = path.join(dir, "etc/ouvroir/basex.env");
        const env = fs.existsSync(envFile)
            ? fs.readFileSync(envFile, "utf8").replaceAll(dir, "")
            : "";
        if (r.status === 0) {
            // Saxon's jars beside BaseX's, where BASEX_CP finds them.
            expect(fs.readdirSync(path.join(dir, "opt/basex/lib/custom")).sort()).toEqual([
                "saxon-he-12.5.jar",
                "xmlresolver-5.2.2.jar",
            ]);
        }
        return { code: r.status, stderr: String(r.stderr), env };
    });
}

describe("BaseX's upstream installer", () => {
    it.each(["BaseX.jar", "basex.jar"])(
        "installs a release whose jar is %s and names it in basex.env",
        (jar) => {
            const r = runInstaller(jar);
            expect([r.code, r.stderr.replace(/^fetch-verified: .* OK\n/gm, "")]).toEqual([0, ""]);
            expect(r.env).toBe(
                [
                    `BASEX_CP=/opt/basex/${jar}:/opt/basex/lib/*:/opt/basex/lib/custom/*`,
                    "BASEX_MAIN=org.basex.BaseXHTTP",
                    "BASEX_ARGS=-h8080 -p1984",
                    'BASEX_READY_PORTS="1984 8080"',
                    "BASEX_WEBPATH=/opt/basex/webapp",
                    "BASEX_HEAP=1g",
                    "",
                ].join("\n"),
            );
        },
    );

    it("refuses a zip without BaseX's jar, saying so", () => {
        const r = runInstaller("README.txt");
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(
            /basex-install: no BaseX\.jar in file:\/\/.*BaseX120\.zip's basex\/ folder/,
        );
        expect(r.env).toBe("");
    });
});

describe("Cantaloupe's upstream installer", () => {
    it("installs the release's jar as /opt/cantaloupe/cantaloupe.jar, its account and service", () => {
        inScratch("cantaloupe", (dir) => {
            const sum = archive(path.join(dir, "src", "cantaloupe-5.0.7.zip"), {
                "cantaloupe-5.0.7/cantaloupe-5.0.7.jar": "jar",
                "cantaloupe-5.0.7/cantaloupe.properties.sample": "# sample",
            });
            const r = runScript(dir, "cloud-init/files/iiif/cantaloupe-install.sh", [
                "CANTALOUPE_VERSION=5.0.7",
                `CANTALOUPE_URL=file://${dir}/src/cantaloupe-5.0.7.zip`,
                `CANTALOUPE_SHA256=${sum}`,
            ]);
            expect([r.status, r.stderr]).toEqual([0, ""]);
            expect(r.stdout.replaceAll(dir, "")).toBe(
                [
                    "fetch-verified: file:///src/cantaloupe-5.0.7.zip OK",
                    "useradd --system --home-dir /opt/cantaloupe --shell /usr/sbin/nologin cantaloupe",
                    "ouvroir-enable cantaloupe.service",
                    "systemctl restart cantaloupe.service",
                    "",
                ].join("\n"),
            );
            expect(fs.readFileSync(path.join(dir, "opt/cantaloupe/cantaloupe.jar"), "utf8")).toBe(
                "jar",
            );
            expect(fs.existsSync(path.join(dir, "srv/data/iiif/cache"))).toBe(true);
        });
    });
});

describe("Julia's upstream installer", () => {
    it("unpacks the release under /opt/julia-<version> and links /usr/local/bin/julia; refuses a wrong SHA-256", () => {
        inScratch("julia", (dir) => {
            const sum = archive(path.join(dir, "src", "julia-1.12.7.tar.gz"), {
                "julia-1.12.7/bin/julia": "#!/bin/sh\necho julia 1.12.7\n",
            });
            const settings = (s: string): string[] => [
                "JULIA_VERSION=1.12.7",
                `JULIA_URL=file://${dir}/src/julia-1.12.7.tar.gz`,
                `JULIA_SHA256=${s}`,
            ];
            const bad = runScript(
                dir,
                "cloud-init/files/app/julia-install.sh",
                settings("0".repeat(64)),
            );
            expect(bad.status).toBe(1);
            expect(bad.stderr).toContain("fetch-verified: SHA-256 MISMATCH");
            expect(fs.existsSync(path.join(dir, "usr/local/bin/julia"))).toBe(false);
            const r = runScript(dir, "cloud-init/files/app/julia-install.sh", settings(sum));
            expect([r.status, r.stderr]).toEqual([0, ""]);
            expect(execFileSync(path.join(dir, "usr/local/bin/julia"), { encoding: "utf8" })).toBe(
                "julia 1.12.7\n",
            );
        });
    });
});
