// Pure: the rendered cloud-config of every role (snapshots and invariants). Does not prove that
// cloud-init accepts it (tests/harness/validate-cloud-init.sh) nor that the services run (tests/vm).
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { gunzipSync } from "zlib";
import { APPLIER_PATH, firstBootDocument, renderApplier } from "../../components/applier";
import { YamlMap, fillPlaceholders, mergeCloudConfig } from "../../components/cloudConfig";
import { ROLES, ROLE_NAMES, sourceRoles } from "../../components/roles";
import {
    CLOUD_INIT_DIR,
    UserDataInput,
    buildCloudConfig,
    firewallRules,
    renderUserData,
    roleManifest,
    settingsEnv,
} from "../../components/userData";
import { exampleInput } from "../harness/render-user-data";

type Doc = Record<string, unknown>;
interface WriteFile {
    path: string;
    content: string;
    permissions?: string;
    defer?: boolean;
}

const SOURCES = ["upstream", "debian"] as const;
const cases = ROLE_NAMES.flatMap((role) => SOURCES.map((source) => [role, source] as const));

/** The role's desired state: what the applier applies (packages, files, commands) and the bootstrap. */
function parse(input: UserDataInput): Doc {
    return buildCloudConfig(input) as Doc;
}
/** What cloud-init gets, with the applier's compressed script as text, for review. */
function readableUserData(input: UserDataInput): string {
    const doc = YAML.parse(renderUserData(input)) as Doc;
    for (const f of files(doc)) {
        if (f.path !== APPLIER_PATH) continue;
        // Each file the applier puts, shown decoded (the snapshot is for reading in review).
        f.content = gunzipSync(Buffer.from(f.content, "base64"))
            .toString("utf8")
            .replace(
                /^put ('[^']+' '[0-7]{4}') '([A-Za-z0-9+/=]*)'$/gm,
                (_l, args: string, b64: string) =>
                    `put ${args} <<decoded\n${Buffer.from(b64, "base64").toString("utf8")}decoded`,
            );
        delete (f as { encoding?: string }).encoding;
    }
    return YAML.stringify(doc, { lineWidth: 0, blockQuote: "literal" });
}
function files(doc: Doc): WriteFile[] {
    return (doc["write_files"] ?? []) as WriteFile[];
}
function file(doc: Doc, path: string): WriteFile {
    const found = files(doc).find((f) => f.path === path);
    if (found === undefined) throw new Error(`no write_files entry ${path}`);
    return found;
}

describe("renderUserData snapshots", () => {
    it.each(cases)("%s (%s)", (role, source) => {
        expect(readableUserData(exampleInput(role, source))).toMatchSnapshot();
    });
});

describe("renderUserData invariants", () => {
    it.each(cases)("%s (%s): one #cloud-config document that round-trips", (role, source) => {
        const input = exampleInput(role, source);
        const text = renderUserData(input);
        expect(text.startsWith("#cloud-config\n")).toBe(true);
        expect(YAML.parseAllDocuments(text)).toHaveLength(1);
        const doc = buildCloudConfig(input);
        expect(YAML.parse(text)).toEqual(firstBootDocument(input, doc));
        expect(renderUserData(input)).toBe(text);
        // cloud-init bootstraps; the applier (the same script day-2 runs) does the rest.
        const boot = YAML.parse(text) as Doc;
        expect(files(boot).map((f) => [f.path, f.permissions])).toEqual([[APPLIER_PATH, "0700"]]);
        expect(boot["runcmd"]).toEqual([[APPLIER_PATH]]);
        expect(boot).not.toHaveProperty("packages");
        expect(boot).not.toHaveProperty("package_update");
        expect(gunzipSync(Buffer.from(files(boot)[0]?.content ?? "", "base64")).toString()).toBe(
            renderApplier(input, doc),
        );
        expect(text).not.toMatch(/\{\{[A-Za-z0-9_]+\}\}/);
        expect(text).not.toContain("ouvroir:\n");
        // Nova caps user data at 64 KiB once base64-encoded.
        expect(Buffer.byteLength(text)).toBeLessThan(45_000);
    });

    it.each(cases)(
        "%s (%s): keys only, no root, no password anywhere, no private key but its host key",
        (role, source) => {
            const doc = parse(exampleInput(role, source));
            expect(doc["ssh_pwauth"]).toBe(false);
            expect(doc["disable_root"]).toBe(true);
            const sshd = file(doc, "/etc/ssh/sshd_config.d/10-ouvroir.conf").content;
            expect(sshd).toMatch(/^PasswordAuthentication no$/m);
            expect(sshd).toMatch(/^PermitRootLogin no$/m);
            expect(doc).not.toHaveProperty("chpasswd");
            expect(doc).not.toHaveProperty("password");
            const users = doc["users"] as Doc[];
            expect(users[0]).toMatchObject({ name: "debian", lock_passwd: true });
            for (const u of users) {
                expect(Object.keys(u).filter((k) => /pass/.test(k) && k !== "lock_passwd")).toEqual(
                    [],
                );
            }
            // The one private key is the VM's own host key (docs/security.md: why it travels here).
            const input = exampleInput(role, source);
            const text = renderUserData(input);
            expect(text.match(/BEGIN OPENSSH PRIVATE KEY-----/g)).toHaveLength(1);
            expect((doc["ssh_keys"] as Doc)["ed25519_private"]).toBe(input.sshHostKey?.privateKey);
            expect(renderUserData({ ...input, sshHostKey: undefined })).not.toMatch(
                /PRIVATE KEY-----/,
            );
            expect(text).not.toMatch(
                /(password|passwd|secret|token)\s*[:=]\s*["']?[A-Za-z0-9+/]{8,}/i,
            );
        },
    );

    it.each(cases)(
        "%s (%s): the volume is formatted only when empty, mounted nofail",
        (role, source) => {
            const input = exampleInput(role, source);
            const doc = parse(input);
            const label = `data-${role}`;
            expect(doc["fs_setup"]).toEqual([
                {
                    label,
                    filesystem: "ext4",
                    device: `/dev/disk/by-id/virtio-${input.dataVolumeSerial}`,
                    partition: "any",
                    overwrite: false,
                },
            ]);
            const text = renderUserData(input);
            expect(text).not.toMatch(/partition:\s*none/);
            expect(text).not.toMatch(/overwrite:\s*true/);
            const mounts = doc["mounts"] as string[][];
            expect(mounts).toHaveLength(1);
            expect(mounts[0]?.[0]).toBe(`LABEL=${label}`);
            expect(mounts[0]?.[1]).toBe(ROLES[role].dataMountPoint);
            expect(mounts[0]?.[3]?.split(",")).toContain("nofail");
            // Only the kernel's resize event: udev's own "change" after resize2fs would loop.
            expect(file(doc, "/etc/udev/rules.d/90-ouvroir-grow-data.rules").content).toMatch(
                /ACTION=="change".*ENV\{RESIZE\}=="1"/,
            );
            const runcmd = doc["runcmd"] as string[][];
            const at = (cmd: string[]): number =>
                runcmd.findIndex((c) => JSON.stringify(c) === JSON.stringify(cmd));
            const enable = at(["systemctl", "enable", "--no-reload", "ouvroir-grow-data.service"]);
            const start = at(["systemctl", "start", "ouvroir-grow-data.service"]);
            expect(enable).toBeGreaterThan(-1);
            expect(start).toBeGreaterThan(enable);
        },
    );

    it.each(cases)(
        "%s (%s): one daemon-reload, first; no enable reloads systemd again",
        (role, source) => {
            const runcmd = parse({ ...exampleInput(role), packageSource: source })[
                "runcmd"
            ] as string[][];
            const reloads = runcmd.filter((c) => c.join(" ") === "systemctl daemon-reload");
            expect(reloads).toHaveLength(1);
            expect(runcmd[0]).toEqual(["systemctl", "daemon-reload"]);
            for (const c of runcmd.filter((c) => c[0] === "systemctl" && c[1] === "enable")) {
                expect(c).toContain("--no-reload");
            }
            // The role scripts enable through ouvroir-enable (no reload, nothing done twice).
            const doc = parse({ ...exampleInput(role), packageSource: source });
            for (const f of files(doc).filter((f) => f.content?.startsWith("#!"))) {
                const reloading = /^[^#\n]*systemctl enable (?!--no-reload)/m.test(f.content);
                expect([f.path, reloading]).toEqual([f.path, false]);
            }
        },
    );

    it("has no fs_setup nor mounts without a data volume", () => {
        const doc = parse({ ...exampleInput("xmldb"), dataVolumeSerial: undefined });
        expect(doc).not.toHaveProperty("fs_setup");
        expect(doc).not.toHaveProperty("mounts");
        expect(files(doc).map((f) => f.path)).not.toContain("/usr/local/sbin/ouvroir-grow-data");
    });

    it.each(ROLE_NAMES)(
        "%s: the host firewall opens exactly the ports of the role specs, each to its roles' addresses",
        (role) => {
            const input = exampleInput(role);
            const nft = file(parse(input), "/etc/nftables.conf").content;
            const opened = [...nft.matchAll(/tcp dport (\d+(?:-\d+)?) accept/g)].map((m) => m[1]);
            // Each port once: two sources from anywhere (admin, researchers) are one line.
            const declared = [
                ...new Set(
                    ROLES[role].ports.map((p) =>
                        p.portMax ? `${p.port}-${p.portMax}` : `${p.port}`,
                    ),
                ),
            ];
            expect(opened).toEqual(declared);
            expect(nft).toMatch(/policy drop;/);
            expect(nft).not.toContain("10.20.0.0/24"); // the subnet, never a source
            for (const p of ROLES[role].ports) {
                const line =
                    nft
                        .split("\n")
                        .find((l) => /comment "(.*)"/.exec(l)?.[1]?.split(", ").includes(p.name)) ??
                    "";
                const ips = sourceRoles(p).map((r) => input.upstreams[r]);
                expect(line).toContain(
                    ips.length === 0
                        ? `        tcp dport`
                        : `ip saddr { ${ips.join(", ")} } tcp dport`,
                );
            }
        },
    );

    it("accepts the sandbox host on none of the database ports (BaseX 1984, SQL)", () => {
        const sandbox = exampleInput("xmldb").upstreams.sandbox as string;
        for (const [role, engine, port] of [
            ["xmldb", "mariadb", 1984],
            ["app", "mariadb", 3306],
            ["app", "postgresql", 5432],
        ] as const) {
            const rules = firewallRules({ ...exampleInput(role), sqlEngine: engine });
            const line = rules.find((l) => l.includes(`dport ${port} `)) ?? "";
            expect(line).toMatch(/ip saddr \{ [0-9.]+ \}/);
            expect(line).not.toContain(sandbox);
        }
        const settings = settingsEnv(exampleInput("app"));
        expect(settings).toContain("SQL_CLIENTS='10.20.0.10'\n");
    });

    it("opens a role's port to nobody when the role that uses it is not deployed", () => {
        const input = exampleInput("xmldb");
        const rules = firewallRules({ ...input, upstreams: { web: "10.20.0.10" } });
        expect(rules.join("\n")).not.toMatch(/1984/);
        expect(rules.join("\n")).toMatch(/ip saddr \{ 10\.20\.0\.10 \} tcp dport 8080 accept/);
    });

    it("opens PostgreSQL's port instead of MariaDB's when the app server runs PostgreSQL", () => {
        const rules = firewallRules({ ...exampleInput("app"), sqlEngine: "postgresql" });
        expect(rules.join("\n")).toMatch(/tcp dport 5432 accept comment "sql"/);
        expect(rules.join("\n")).not.toMatch(/3306/);
    });

    it.each(cases)("%s (%s): every download is SHA-256 checked", (role, source) => {
        const doc = parse(exampleInput(role, source));
        for (const f of files(doc)) {
            if (f.path === "/usr/local/lib/ouvroir/fetch-verified") {
                expect(f.content).toMatch(/sha256sum -c/);
                continue;
            }
            // Only fetch-verified downloads; each call takes a URL and its digest from settings.env.
            expect(f.content).not.toMatch(/\b(curl|wget)\b[^\n]*https?:\/\/(?!127\.0\.0\.1)/);
            const calls = f.content
                .replace(/\s*\\\n\s*/g, " ")
                .split("\n")
                .filter((l) => l.includes("fetch-verified "));
            for (const call of calls) {
                expect(call).toMatch(/fetch-verified "\$([A-Z]+)_URL" "\$\1_SHA256"/);
            }
        }
    });

    it("gives each upstream download its own URL and SHA-256 in settings.env, quoted", () => {
        const input = exampleInput("xmldb", "upstream");
        const env = settingsEnv(input);
        for (const [name, d] of Object.entries(input.downloads)) {
            const key = name.toUpperCase();
            expect(env).toContain(`${key}_URL='${d.url}'\n`);
            expect(env).toContain(`${key}_SHA256='${d.sha256}'\n`);
        }
        expect(file(parse(input), "/etc/ouvroir/settings.env")).toMatchObject({
            permissions: "0644",
            content: env,
        });
    });

    it("no script holds a value from config: scripts read settings.env (the shell sink's one rule)", () => {
        // Placeholders a script may hold: constants of the code, never config values.
        const CODE_CONSTANTS = new Set(["dataMount", "dataLabel", "role"]);
        const dir = path.join(CLOUD_INIT_DIR, "files");
        const scripts = fs
            .readdirSync(dir, { recursive: true, encoding: "utf8" })
            .filter((f) => f.endsWith(".sh") || f.endsWith(".service"));
        expect(scripts.length).toBeGreaterThan(20);
        for (const f of scripts) {
            const text = fs.readFileSync(path.join(dir, f), "utf8");
            const names = [...text.matchAll(/\{\{([A-Za-z0-9_]+)\}\}/g)].map((m) => m[1]);
            expect({ f, names: names.filter((n) => !CODE_CONSTANTS.has(n as string)) }).toEqual({
                f,
                names: [],
            });
        }
    });

    it.each(cases)(
        "%s (%s): files that packages own or that live on the volume are deferred",
        (role, source) => {
            const doc = parse(exampleInput(role, source));
            for (const f of files(doc)) {
                const packageOwned =
                    /^\/etc\/(nginx|lighttpd|fail2ban|nftables\.conf|apt\/apt\.conf\.d)/.test(
                        f.path,
                    );
                if (packageOwned || f.path.startsWith("/srv/")) {
                    expect({ path: f.path, defer: f.defer }).toEqual({ path: f.path, defer: true });
                }
            }
        },
    );

    it("writes one vhost per site, with its kind's template and the proxy upstream", () => {
        const input = exampleInput("web");
        const doc = parse(input);
        const vhosts = files(doc).filter((f) => f.path.startsWith("/etc/nginx/sites-available/"));
        expect(vhosts.map((f) => f.path)).toEqual([
            "/etc/nginx/sites-available/00-default.conf",
            "/etc/nginx/sites-available/lab.conf",
            "/etc/nginx/sites-available/pyapp.conf",
            "/etc/nginx/sites-available/omeka.conf",
            "/etc/nginx/sites-available/edition.conf",
        ]);
        expect(file(doc, "/etc/nginx/sites-available/pyapp.conf").content).toContain(
            "proxy_pass http://10.20.0.13:8001;",
        );
        expect(file(doc, "/etc/nginx/sites-available/omeka.conf").content).toContain(
            "fastcgi_pass",
        );
        const main = file(doc, "/etc/nginx/sites-available/00-default.conf").content;
        expect(main).not.toMatch(/basex|8080/i);
        expect(main).toContain("proxy_pass http://10.20.0.12:8182/iiif/;");
        expect(file(doc, "/etc/nginx/snippets/ouvroir-proxy-headers.conf").content).toMatch(
            /X-Forwarded-Proto[\s\S]*X-Forwarded-Host[\s\S]*X-Forwarded-Port/,
        );
        expect(roleManifest(input).packages).toEqual(
            expect.arrayContaining(["nginx", "certbot", "php-fpm"]),
        );
    });

    it("publishes BaseX only through a restxq site: its paths, never REST, DBA, WebDAV or /", () => {
        const doc = parse(exampleInput("web"));
        const edition = file(doc, "/etc/nginx/sites-available/edition.conf").content;
        const locations = [...edition.matchAll(/location (\^~ )?(\S+) \{/g)].map((m) => m[2]);
        expect(locations).toEqual(["/", "/edition/", "/static/edition/"]);
        expect(edition).toMatch(/location \/ \{\s*return 404;\s*\}/);
        expect(edition).toContain("proxy_pass http://10.20.0.11:8080/edition/;");
        expect(edition).toContain("proxy_pass http://10.20.0.11:8080/static/edition/;");
        expect(edition).not.toMatch(/8080\/(rest|dba|webdav|ws)?;/);
        const every = files(doc)
            .filter((f) => f.path.startsWith("/etc/nginx/"))
            .map((f) => f.content)
            .join("\n");
        expect(
            [...every.matchAll(/proxy_pass http:\/\/10\.20\.0\.11:8080(\S*);/g)].map((m) => m[1]),
        ).toEqual(["/edition/", "/static/edition/"]);
        for (const bad of ["/rest/", "/dba/", "/DBA/", "/webdav/", "/ws/", "/", "/a/../rest/"]) {
            const input = exampleInput("web");
            expect(() =>
                renderUserData({
                    ...input,
                    sites: [
                        { name: "x", domains: ["x.example.org"], kind: "restxq", paths: [bad] },
                    ],
                }),
            ).toThrow(/cannot be published/);
        }
    });

    it("leaves out PHP and absent upstreams when the stack has none; certbot waits for an e-mail", () => {
        const input: UserDataInput = {
            ...exampleInput("web"),
            sites: [],
            upstreams: {},
            letsencryptEmail: undefined,
        };
        const doc = parse(input);
        expect(roleManifest(input).packages).not.toContain("php-fpm");
        // certbot's timer is on all the same (a no-op until an e-mail reaches settings.env).
        expect(JSON.stringify(doc["runcmd"])).toContain(
            '["systemctl","start","ouvroir-certbot.timer"]',
        );
        expect(file(doc, "/etc/ouvroir/settings.env").content).toContain("LETSENCRYPT_EMAIL=''\n");
        const main = file(doc, "/etc/nginx/sites-available/00-default.conf").content;
        expect(main).not.toContain("location /basex/");
        expect(main).not.toContain("location /iiif/");
    });

    it("refuses a proxy site whose upstream role has no address", () => {
        const input: UserDataInput = { ...exampleInput("web"), upstreams: {} };
        expect(() => renderUserData(input)).toThrow(/site pyapp: a proxy site needs/);
    });

    it("creates researcher accounts with their keys, no sudo, and their limits", () => {
        const input = exampleInput("sandbox");
        const doc = parse(input);
        // cloud-init makes the operator only; the applier's account step makes the researchers,
        // at first boot and at every day-2 push alike.
        expect((doc["users"] as Doc[]).map((u) => u["name"])).toEqual(["debian"]);
        const applier = renderApplier(input, doc as YamlMap);
        const step =
            /^put '\/usr\/local\/sbin\/ouvroir-accounts' '0755' '([A-Za-z0-9+/=]+)'$/m.exec(
                applier,
            );
        const accounts = Buffer.from(step?.[1] ?? "", "base64").toString();
        expect(accounts).toContain(
            "useradd --create-home --home-dir '/srv/data/home/alice' --shell /bin/bash --comment Researcher 'alice'",
        );
        expect(accounts).not.toMatch(/sudo|usermod -aG|--groups/);
        expect(accounts).toContain(
            `printf '%s\\n' '${input.researchers[0]?.sshPublicKeys[0]}' > ~alice/.ssh/authorized_keys`,
        );
        // Accounts exist before the sandbox's own setup configures their Docker.
        expect(applier.indexOf("\n/usr/local/sbin/ouvroir-accounts\n")).toBeLessThan(
            applier.indexOf("\n'/usr/local/sbin/ouvroir-sandbox-setup'\n"),
        );
        expect(applier.indexOf("\n/usr/local/sbin/ouvroir-accounts\n")).toBeGreaterThan(0);
        expect(file(doc, "/etc/ouvroir/researchers").content).toBe("alice 100 2048\nbob 50 1024\n");
        expect(roleManifest(input).packages).toEqual(
            expect.arrayContaining(["docker.io", "rootlesskit", "uidmap", "slirp4netns"]),
        );
    });

    it("uses Debian's packages with packageSource debian and upstream downloads otherwise", () => {
        expect(roleManifest(exampleInput("iiif", "debian")).packages).toContain("iipimage-server");
        expect(roleManifest(exampleInput("iiif", "upstream")).packages).not.toContain(
            "iipimage-server",
        );
        expect(roleManifest(exampleInput("xmldb", "debian")).packages).toContain("libsaxonhe-java");
        expect(roleManifest(exampleInput("app", "debian")).files).toContain(
            "/etc/ouvroir/julia-skipped",
        );
        expect(roleManifest(exampleInput("app", "upstream")).files).toContain(
            "/usr/local/sbin/ouvroir-julia-install",
        );
        const pg = roleManifest({ ...exampleInput("app"), sqlEngine: "postgresql" }).packages;
        expect(pg).toContain("postgresql");
        expect(pg).not.toContain("mariadb-server");
    });
});

describe("template mechanics", () => {
    it("deep-merges maps and concatenates lists, first document first", () => {
        expect(
            mergeCloudConfig(
                { packages: ["a"], apt: { conf: "x", primary: [1] }, hostname: "h" },
                { packages: ["b"], apt: { primary: [2] }, hostname: "k" },
            ),
        ).toEqual({ packages: ["a", "b"], apt: { conf: "x", primary: [1, 2] }, hostname: "k" });
    });

    it("fills placeholders in parsed values, a whole-string one with a list", () => {
        const vars = { keys: ["k1", "k2"], host: "web-1" };
        expect(fillPlaceholders({ a: "{{keys}}", b: ["at {{host}}"] }, vars)).toEqual({
            a: ["k1", "k2"],
            b: ["at web-1"],
        });
        expect(() => fillPlaceholders({ a: "{{nope}}" }, vars)).toThrow(
            /unknown placeholder \{\{nope\}\} at a/,
        );
        expect(() => fillPlaceholders({ a: "x {{keys}}" }, vars)).toThrow(/is a list or map/);
    });

    it("keeps a value that only looks like YAML a plain string", () => {
        const input = { ...exampleInput("web"), hostname: "dev-web-1: [x]" };
        expect(parse(input)["hostname"]).toBe("dev-web-1: [x]");
    });
});

describe("the site that claims the public host name", () => {
    it("is served by the default vhost, and keeps its other domains in its own vhost", () => {
        const input: UserDataInput = {
            ...exampleInput("web"),
            sites: [
                {
                    name: "main",
                    domains: ["ouvroir.example.org", "www.ouvroir.example.org"],
                    kind: "static",
                },
            ],
        };
        const doc = parse(input);
        expect(file(doc, "/etc/nginx/sites-available/00-default.conf").content).toContain(
            "root /srv/data/www/main;",
        );
        const own = file(doc, "/etc/nginx/sites-available/main.conf").content;
        expect(own).toMatch(/server_name www\.ouvroir\.example\.org;/);
    });

    it("must be static", () => {
        const input: UserDataInput = {
            ...exampleInput("web"),
            sites: [{ name: "wp", domains: ["ouvroir.example.org"], kind: "php" }],
        };
        expect(() => renderUserData(input)).toThrow(/only a static site may use publicHostname/);
    });
});
