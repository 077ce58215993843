// Pure: the day-2 scripts: secrets, then the role's applier (the script cloud-init runs at first
// boot) written and run, then backups. Does not prove they run on a VM (tests/vm runs the same
// function's output over SSH).
import { gunzipSync } from "zlib";
import * as YAML from "yaml";
import { APPLIER_PATH, renderApplier } from "../../components/applier";
import { renderDay2Script } from "../../components/day2";
import { UserDataInput, buildCloudConfig, renderUserData } from "../../components/userData";
import { DEFAULTS } from "../../config";

const base: UserDataInput = {
    role: "web",
    hostname: "dev-web-1",
    adminUser: "debian",
    sshAuthorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey op"],
    dataVolumeSerial: "0f0e0d0c-0001-4000-8",
    publicHostname: "ouvroir.example.org",
    sites: [{ name: "atlas", domains: ["atlas.example.org"], kind: "static" }],
    upstreams: { xmldb: "10.20.0.11", iiif: "10.20.0.12", app: "10.20.0.13" },
    researchers: [],
    sqlEngine: "mariadb",
    packageSource: "debian",
    downloads: DEFAULTS.downloads,
};

/** The applier a day-2 script writes to the VM before it runs it. */
function applierOf(script: string): string {
    const m = /^put '\/usr\/local\/sbin\/ouvroir-apply' '0700' '([A-Za-z0-9+/=]+)'$/m.exec(script);
    if (!m) throw new Error("no applier in the day-2 script");
    return Buffer.from(m[1] as string, "base64").toString("utf8");
}

/** The files an applier writes (`put PATH MODE BASE64`). */
function decodedFiles(applier: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of applier.matchAll(/^put '([^']+)' '[0-7]{4}' '([A-Za-z0-9+/=]*)'$/gm)) {
        out[m[1] as string] = Buffer.from(m[2] as string, "base64").toString("utf8");
    }
    return out;
}

describe("one applier for first boot and day-2", () => {
    it.each(["web", "xmldb", "iiif", "app", "sandbox"] as const)(
        "%s: day-2 writes and runs the very script cloud-init runs at first boot",
        (role) => {
            const input = { ...base, role, hostname: `dev-${role}-1` };
            const script = renderDay2Script(input, { basexAdminPassword: "pw" });
            const boot = YAML.parse(renderUserData(input)) as {
                write_files: { path: string; content: string }[];
            };
            const fromBoot = gunzipSync(
                Buffer.from(boot.write_files[0]?.content ?? "", "base64"),
            ).toString();
            expect(applierOf(script)).toBe(fromBoot);
            expect(applierOf(script)).toBe(renderApplier(input, buildCloudConfig(input)));
            expect(script).toContain(`\n'${APPLIER_PATH}'\n`);
        },
    );

    it("writes every file of the role, installs what is missing, then runs the commands", () => {
        const applier = applierOf(renderDay2Script(base));
        const doc = buildCloudConfig(base);
        const paths = (doc["write_files"] as { path: string }[]).map((f) => f.path);
        // The template's files, and the step the role's script installs (the jump accounts).
        expect(Object.keys(decodedFiles(applier)).sort()).toEqual(
            [...paths, "/usr/local/sbin/ouvroir-jump-accounts"].sort(),
        );
        expect(decodedFiles(applier)["/etc/nginx/sites-available/atlas.conf"]).toContain(
            "atlas.example.org",
        );
        const order = ["step files", "step packages", "step files after packages", "step commands"];
        const at = order.map((s) => applier.indexOf(`\n${s}\n`));
        expect(at.every((i, k) => i > 0 && (k === 0 || i > (at[k - 1] as number)))).toBe(true);
        expect(applier).toContain("wanted=('nftables' 'fail2ban'");
        expect(applier).toContain(
            'apt-get install -y -q -o Dpkg::Options::=--force-confold "${missing[@]}"',
        );
        // The web server's setup and certbot are its commands: a new vhost gets its
        // certificate, and an e-mail set later takes effect, at the push.
        expect(applier).toContain("\n'/usr/local/sbin/ouvroir-web-setup'\n");
        expect(applier).toContain("\n'sh' '-c' '/usr/local/sbin/ouvroir-certbot || true'\n");
    });

    it("a PHP site added later installs php-fpm on the running web server", () => {
        const before = applierOf(renderDay2Script(base));
        const php = {
            ...base,
            sites: [
                ...base.sites,
                { name: "carnet", domains: ["carnet.example.org"], kind: "php" as const },
            ],
        };
        const after = applierOf(renderDay2Script(php));
        expect(before).not.toContain("'php-fpm'");
        expect(after).toMatch(/^wanted=\(.*'php-fpm'/m);
    });

    it("replaces the admin user's authorized keys with ouvroir:sshPublicKeys (a key added later reaches the VM)", () => {
        const keys = [
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne ci@lab",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo it's",
        ];
        const applier = applierOf(renderDay2Script({ ...base, sshAuthorizedKeys: keys }));
        expect(applier).toContain(
            `printf '%s\\n' 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne ci@lab' 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo it'\\''s' > "$home/.ssh/authorized_keys.ouvroir-new"`,
        );
        expect(applier).toContain(`home="$(getent passwd 'debian' | cut -d: -f6)"`);
        expect(applier).toContain(
            `mv -f "$home/.ssh/authorized_keys.ouvroir-new" "$home/.ssh/authorized_keys"`,
        );
    });

    it("removes the vhost of a site taken out of the config", () => {
        expect(applierOf(renderDay2Script(base))).toMatch(
            /case "\$\(basename "\$f"\)" in '00-default\.conf'\|'atlas\.conf'\) ;; \*\) rm -f "\$f" '\/etc\/nginx\/sites-enabled'\/"\$\(basename "\$f"\)"/,
        );
    });

    it("adding a site changes the script (and so its trigger); the same input gives the same bytes", () => {
        const more = {
            ...base,
            sites: [
                ...base.sites,
                { name: "carnet", domains: ["carnet.example.org"], kind: "php" as const },
            ],
        };
        expect(renderDay2Script(more)).not.toBe(renderDay2Script(base));
        expect(renderDay2Script(base)).toBe(renderDay2Script({ ...base }));
    });
});

describe("secrets and accounts", () => {
    it("xmldb: writes the generated BaseX password 0600 on the volume before the applier restarts BaseX", () => {
        const script = renderDay2Script(
            { ...base, role: "xmldb", hostname: "dev-xmldb-1", sites: [] },
            { basexAdminPassword: "s3cr3t" },
        );
        const secret = script.indexOf(
            `(umask 077 && put '/srv/data/basex/admin-password' '0600' '${Buffer.from("s3cr3t").toString("base64")}')`,
        );
        expect(secret).toBeGreaterThan(0);
        expect(secret).toBeLessThan(script.indexOf(`\n'${APPLIER_PATH}'\n`));
        expect(applierOf(script)).toContain("\n'/usr/local/sbin/ouvroir-xmldb-setup'\n");
        // The secret never reaches the applier, which is also in the user data.
        expect(applierOf(script)).not.toContain("s3cr3t");
    });
    it("xmldb: refuses to render without its secret", () => {
        expect(() => renderDay2Script({ ...base, role: "xmldb", sites: [] })).toThrow(
            /basexAdminPassword missing/,
        );
    });
    it("sandbox: creates missing researcher accounts with their keys, then the per-user setup", () => {
        const applier = applierOf(
            renderDay2Script({
                ...base,
                role: "sandbox",
                hostname: "dev-sandbox-1",
                sites: [],
                researchers: [
                    {
                        name: "alice",
                        sshPublicKeys: ["ssh-ed25519 AAAAalice alice"],
                        cpuPercent: 100,
                        memoryMiB: 1024,
                    },
                ],
            }),
        );
        const accounts = applier.match(
            /^put '\/usr\/local\/sbin\/ouvroir-accounts' '0755' '([A-Za-z0-9+/=]+)'$/m,
        );
        const text = Buffer.from(accounts?.[1] ?? "", "base64").toString();
        expect(text).toContain(
            "else\n    useradd --create-home --home-dir '/srv/data/home/alice' --shell /bin/bash --comment Researcher 'alice'\nfi",
        );
        // An existing system account of that name stops the step instead of taking the keys.
        expect(text).toContain("(($(id -u 'alice') >= 1000)) || {");
        expect(text).toContain("'ssh-ed25519 AAAAalice alice'");
        // A researcher taken off the list is locked, files kept; one put back is unlocked.
        expect(text).toContain("usermod --expiredate '' 'alice'");
        expect(text).toContain("keep=' alice '");
        expect(text).toContain('usermod --expiredate 1 "$old"');
        expect(text).not.toMatch(/userdel|rm -rf/);
        expect(decodedFiles(applier)["/etc/ouvroir/researchers"]).toBe("alice 100 1024\n");
        expect(applier.indexOf("\n/usr/local/sbin/ouvroir-accounts\n")).toBeLessThan(
            applier.indexOf("\n'/usr/local/sbin/ouvroir-sandbox-setup'\n"),
        );
    });
});
