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

/** A zip of `files` (name → content), made by Python's zipfile. */
function zip(dest: string, files: Record<string, string>): string {
    execFileSync("python3", [
        "-c",
        "import json,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1],'w')\nfor n,c in json.loads(sys.argv[2]).items(): z.writestr(n,c)\nz.close()",
        dest,
        JSON.stringify(files),
    ]);
    return createHash("sha256").update(fs.readFileSync(dest)).digest("hex");
}

function runInstaller(jarName: string): { code: number | null; stderr: string; env: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-basex-"));
    try {
        const move = (text: string): string =>
            text
                .replaceAll("/etc/ouvroir", `${dir}/etc/ouvroir`)
                .replaceAll("/opt/", `${dir}/opt/`)
                .replaceAll("/var/cache/ouvroir", `${dir}/var/cache/ouvroir`)
                .replaceAll("/usr/local/lib/ouvroir", `${dir}/lib`);
        for (const d of ["etc/ouvroir", "opt", "lib", "src"])
            fs.mkdirSync(path.join(dir, d), { recursive: true });
        fs.writeFileSync(
            path.join(dir, "lib", "fetch-verified"),
            read("cloud-init/files/base/fetch-verified.sh"),
            { mode: 0o755 },
        );
        const basexSum = zip(path.join(dir, "src", "BaseX120.zip"), {
            [`basex/${jarName}`]: "jar",
            "basex/lib/x.jar": "lib",
            "basex/webapp/WEB-INF/web.xml": "<web-app/>",
        });
        const saxonSum = zip(path.join(dir, "src", "SaxonHE12-5J.zip"), {
            "saxon-he-12.5.jar": "saxon",
            "lib/xmlresolver-5.2.2.jar": "resolver",
        });
        fs.writeFileSync(
            path.join(dir, "etc/ouvroir/settings.env"),
            [
                "BASEX_VERSION=12.0",
                `BASEX_URL=file://${dir}/src/BaseX120.zip`,
                `BASEX_SHA256=${basexSum}`,
                `SAXON_URL=file://${dir}/src/SaxonHE12-5J.zip`,
                `SAXON_SHA256=${saxonSum}`,
            ].join("\n") + "\n",
        );
        const r = spawnSync("bash", ["--norc", "-s"], {
            input: move(read("cloud-init/files/xmldb/basex-install-upstream.sh")),
            encoding: "utf8",
        });
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
        return { code: r.status, stderr: r.stderr, env };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
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

/** A tar.gz of `files` (name → content, mode 0755), made by Python's tarfile. */
function tarGz(dest: string, files: Record<string, string>): string {
    execFileSync("python3", [
        "-c",
        "import io,json,sys,tarfile\nt=tarfile.open(sys.argv[1],'w:gz')\nfor n,c in json.loads(sys.argv[2]).items():\n  i=tarfile.TarInfo(n); b=c.encode(); i.size=len(b); i.mode=0o755; t.addfile(i,io.BytesIO(b))\nt.close()",
        dest,
        JSON.stringify(files),
    ]);
    return createHash("sha256").update(fs.readFileSync(dest)).digest("hex");
}

/** One installer run by bash, its paths under `dir`; what it printed (stand-ins log there). */
function runScript(dir: string, script: string, settings: string[]): ReturnType<typeof spawnSync> {
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
        .replaceAll(" /opt/cantaloupe", ` ${dir}/opt/cantaloupe`)
        .replaceAll("/var/cache/ouvroir", `${dir}/var/cache/ouvroir`)
        .replaceAll("/usr/local/lib/ouvroir", `${dir}/lib`)
        .replaceAll("/usr/local/bin/", `${dir}/usr/local/bin/`)
        .replaceAll("/usr/local/sbin/ouvroir-enable", "stand_in ouvroir-enable")
        .replaceAll("-o cantaloupe -g cantaloupe ", "");
    const standIns = [
        'stand_in() { echo "$*"; }',
        'id() { stand_in id "$@"; return 1; }',
        'useradd() { stand_in useradd "$@"; }',
        'systemctl() { stand_in systemctl "$@"; }',
    ].join("\n");
    return spawnSync("bash", ["--norc", "-s"], {
        input: text.replace("set -euo pipefail\n", `set -euo pipefail\n${standIns}\n`),
        encoding: "utf8",
    });
}

describe("Cantaloupe's upstream installer", () => {
    it("installs the release's jar as /opt/cantaloupe/cantaloupe.jar, its account and service", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-cantaloupe-"));
        try {
            fs.mkdirSync(path.join(dir, "src"));
            const sum = zip(path.join(dir, "src", "cantaloupe-5.0.7.zip"), {
                "cantaloupe-5.0.7/cantaloupe-5.0.7.jar": "jar",
                "cantaloupe-5.0.7/cantaloupe.properties.sample": "# sample",
            });
            const r = runScript(dir, "cloud-init/files/iiif/cantaloupe-install.sh", [
                "CANTALOUPE_VERSION=5.0.7",
                `CANTALOUPE_URL=file://${dir}/src/cantaloupe-5.0.7.zip`,
                `CANTALOUPE_SHA256=${sum}`,
            ]);
            expect([r.status, r.stderr]).toEqual([0, ""]);
            expect(String(r.stdout).replaceAll(dir, "")).toBe(
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
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("Julia's upstream installer", () => {
    it("unpacks the release under /opt/julia-<version> and links /usr/local/bin/julia; refuses a wrong SHA-256", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-julia-"));
        try {
            fs.mkdirSync(path.join(dir, "src"));
            const sum = tarGz(path.join(dir, "src", "julia-1.12.7.tar.gz"), {
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
            expect(String(bad.stderr)).toContain("fetch-verified: SHA-256 MISMATCH");
            expect(fs.existsSync(path.join(dir, "usr/local/bin/julia"))).toBe(false);
            const r = runScript(dir, "cloud-init/files/app/julia-install.sh", settings(sum));
            expect([r.status, r.stderr]).toEqual([0, ""]);
            expect(execFileSync(path.join(dir, "usr/local/bin/julia"), { encoding: "utf8" })).toBe(
                "julia 1.12.7\n",
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
