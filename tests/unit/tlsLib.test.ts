// The web server's certificate rule, run by bash and openssl here: a vhost's certificate is made
// anew when its names change (a new publicHostname, a site's domains), kept when they do not.
// Does not prove Let's Encrypt issues one (only the cloud can: DNS and port 80).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const LIB = path.join(__dirname, "..", "..", "cloud-init", "files", "web", "tls-lib.sh");

function bash(script: string): string {
    return execFileSync("bash", ["-c", `set -euo pipefail; . ${LIB}; ${script}`], {
        encoding: "utf8",
    });
}

describe("tls-lib.sh", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-tls-"));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const cert = (file: string, names: string[]): void => {
        execFileSync(
            "openssl",
            [
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                `/CN=${names[0]}`,
                "-addext",
                `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`,
                "-keyout",
                path.join(dir, "key.pem"),
                "-out",
                path.join(dir, file),
            ],
            { stdio: "ignore" },
        );
    };

    it("gives the same line for the same names in any order, none for no name", () => {
        expect(bash("tls_names www.a.org a.org ''")).toBe("a.org www.a.org ");
        expect(bash("tls_names a.org www.a.org")).toBe("a.org www.a.org ");
        expect(bash("tls_names ''")).toBe("");
    });

    it("reads a certificate's names: equal for its own names, different once one changes", () => {
        cert("site.pem", ["a.org", "www.a.org"]);
        const f = path.join(dir, "site.pem");
        expect(
            bash(`[[ "$(cert_names ${f})" == "$(tls_names www.a.org a.org)" ]] && echo same`),
        ).toBe("same\n");
        expect(
            bash(`[[ "$(cert_names ${f})" == "$(tls_names b.org www.a.org)" ]] || echo new`),
        ).toBe("new\n");
        // No certificate (a missing file) never equals a name list.
        expect(
            bash(`[[ "$(cert_names ${dir}/none.pem)" == "$(tls_names a.org)" ]] || echo new`),
        ).toBe("new\n");
    });
});
