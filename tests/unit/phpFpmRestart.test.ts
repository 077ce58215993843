// The web server's php-fpm restart drop-in, run by bash against a stand-in systemd tree: it
// follows whichever versioned unit Debian installed (php8.4-fpm on 13, php8.2-fpm on 12). Does
// not prove that systemd then restarts a killed php-fpm (the VM layer's PHP site runs on it;
// the trials kill nginx, fail2ban, ssh and chrony).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const SETUP = fs.readFileSync(path.join(ROOT, "cloud-init/files/web/web-setup.sh"), "utf8");
const DROPIN = fs.readFileSync(
    path.join(ROOT, "cloud-init/files/base/restart-on-failure.conf"),
    "utf8",
);

/** The drop-in loop of web-setup.sh, its paths moved under `dir`, systemctl logged. */
function runLoop(dir: string): string {
    const start = SETUP.indexOf("for unit in /usr/lib/systemd/system/php*-fpm.service; do");
    const end = SETUP.indexOf("\ndone\n", start) + "\ndone\n".length;
    expect(start).toBeGreaterThan(0);
    const loop = SETUP.slice(start, end)
        .replaceAll("/usr/lib/systemd/system", `${dir}/lib`)
        .replaceAll("/etc/systemd/system", `${dir}/etc`)
        .replaceAll("/usr/local/lib/ouvroir", `${dir}/ouvroir`);
    return execFileSync(
        "bash",
        ["-euo", "pipefail", "-c", `systemctl() { echo "systemctl $*"; }\n${loop}`],
        { encoding: "utf8" },
    );
}

describe("php-fpm's restart drop-in", () => {
    it.each(["php8.4-fpm", "php8.2-fpm"])(
        "is written for %s, once, with one daemon-reload",
        (unit) => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-fpm-"));
            try {
                for (const d of ["lib", "etc", "ouvroir"]) fs.mkdirSync(path.join(dir, d));
                fs.writeFileSync(path.join(dir, "ouvroir", "restart-on-failure.conf"), DROPIN);
                fs.writeFileSync(path.join(dir, "lib", `${unit}.service`), "[Service]\n");
                expect(runLoop(dir)).toBe("systemctl daemon-reload\n");
                const written = path.join(
                    dir,
                    "etc",
                    `${unit}.service.d`,
                    "10-ouvroir-restart.conf",
                );
                expect(fs.readFileSync(written, "utf8")).toContain("Restart=on-failure");
                // A second run (every day-2 push) finds it in place: no write, no reload.
                expect(runLoop(dir)).toBe("");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        },
    );

    it("does nothing on a web server without PHP", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-fpm-"));
        try {
            for (const d of ["lib", "etc", "ouvroir"]) fs.mkdirSync(path.join(dir, d));
            expect(runLoop(dir)).toBe("");
            expect(fs.readdirSync(path.join(dir, "etc"))).toEqual([]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
