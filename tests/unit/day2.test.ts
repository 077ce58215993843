// Pure: the day-2 scripts rendered from the cloud-init data. Does not prove they run on a VM
// (tests/vm runs the same function's output over SSH).
import { DEFAULTS } from "../../config";
import { renderDay2Script } from "../../components/day2";
import { UserDataInput } from "../../components/userData";

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

function decodedFiles(script: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of script.matchAll(
        /echo '([A-Za-z0-9+/=]+)' \| base64 -d > '([^']+)'\.ouvroir-new/g,
    )) {
        out[m[2] as string] = Buffer.from(m[1] as string, "base64").toString("utf8");
    }
    return out;
}

describe("web day-2", () => {
    it("writes one vhost per site plus the default, the site list, the firewall and settings, then re-runs the setup", () => {
        const script = renderDay2Script(base);
        expect(Object.keys(decodedFiles(script)).sort()).toEqual([
            "/etc/nftables.conf",
            "/etc/nginx/sites-available/00-default.conf",
            "/etc/nginx/sites-available/atlas.conf",
            "/etc/ouvroir/settings.env",
            "/etc/ouvroir/sites",
        ]);
        expect(decodedFiles(script)["/etc/nginx/sites-available/atlas.conf"]).toContain(
            "atlas.example.org",
        );
        expect(script.trim().split("\n").slice(-3, -1)).toEqual([
            "/usr/local/sbin/ouvroir-web-setup",
            "/usr/local/sbin/ouvroir-certbot || true",
        ]);
    });

    it("replaces the admin user's authorized keys with ouvroir:sshPublicKeys (a key added later reaches the VM)", () => {
        const keys = [
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne ci@lab",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo it's",
        ];
        const script = renderDay2Script({ ...base, sshAuthorizedKeys: keys });
        expect(script).toContain(
            `printf '%s\\n' 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne ci@lab' 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo it'\\''s' > "$home/.ssh/authorized_keys.ouvroir-new"`,
        );
        expect(script).toContain(`home="$(getent passwd 'debian' | cut -d: -f6)"`);
        expect(script).toContain(
            `mv -f "$home/.ssh/authorized_keys.ouvroir-new" "$home/.ssh/authorized_keys"`,
        );
    });

    it("removes the vhost of a site taken out of the config", () => {
        const script = renderDay2Script(base);
        expect(script).toMatch(
            /case "\$\(basename "\$f"\)" in '00-default\.conf'\|'atlas\.conf'\) ;; \*\) rm -f "\$f" "\/etc\/nginx\/sites-enabled\/\$\(basename "\$f"\)"/,
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
    it("xmldb: writes the generated BaseX password 0600 on the volume and restarts BaseX", () => {
        const script = renderDay2Script(
            { ...base, role: "xmldb", hostname: "dev-xmldb-1", sites: [] },
            { basexAdminPassword: "s3cr3t" },
        );
        expect(script).toContain(
            "(umask 077 && printf '%s' 's3cr3t' > '/srv/data/basex/admin-password'.ouvroir-new && mv -f",
        );
        expect(script).toMatch(/systemctl restart basex\.service\n/);
    });
    it("xmldb: refuses to render without its secret", () => {
        expect(() => renderDay2Script({ ...base, role: "xmldb", sites: [] })).toThrow(
            /basexAdminPassword missing/,
        );
    });
    it("sandbox: creates missing researcher accounts with their keys, then the per-user setup", () => {
        const script = renderDay2Script({
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
        });
        const accounts = script.match(
            /echo '([A-Za-z0-9+/=]+)' \| base64 -d > \/usr\/local\/sbin\/ouvroir-day2-accounts/,
        );
        const text = Buffer.from(accounts?.[1] ?? "", "base64").toString();
        expect(text).toContain(
            "id -u 'alice' >/dev/null 2>&1 || useradd --create-home --home-dir '/srv/data/home/alice'",
        );
        expect(text).toContain("'ssh-ed25519 AAAAalice alice'");
        // A researcher taken off the list is locked, files kept; one put back is unlocked.
        expect(text).toContain("usermod --expiredate '' 'alice'");
        expect(text).toContain("keep=' alice '");
        expect(text).toContain('usermod --expiredate 1 "$old"');
        expect(text).not.toMatch(/userdel|rm -rf/);
        expect(decodedFiles(script)["/etc/ouvroir/researchers"]).toBe("alice 100 1024\n");
        expect(script).toMatch(
            /ouvroir-day2-accounts\n\/usr\/local\/sbin\/ouvroir-sandbox-setup\n/,
        );
    });
});
