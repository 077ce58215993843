// BaseX's upstream installer (the cloud's path: packageSource upstream), run by bash against a
// zip laid out as BaseX's release is, its paths moved under a scratch root and its download a
// file:// URL through the real fetch-verified (SHA-256 checked). Does not prove the real
// release's layout or that BaseX then starts (only the cloud can download it; the VM layer runs
// Debian's BaseX, tests/harness/debianPackages.ts).
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
