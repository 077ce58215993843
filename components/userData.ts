/**
 * User data for every role VM: cloud-init's data files in `cloud-init/` rendered by one pure
 * function into one `#cloud-config` document.
 *
 * CONTRACT (shared by the Pulumi program, the VM tests and `npm run local`): the input below is
 * all a role's user data may depend on. No secrets travel in it: passwords are generated on the
 * VM at first boot or pushed later over SSH (day-2).
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { envFile, nginxToken } from "./escape";
import type { HostKey } from "./hostKey";
import { PortRule, ROLES, RoleName, proxiedPorts, rolePorts, sourceRoles } from "./roles";

export type SiteKind = "static" | "proxy" | "php" | "restxq";

/** One virtual host on the web server. */
export interface Site {
    /** Unique, [a-z0-9-]; names the vhost file and the site's directory. */
    readonly name: string;
    /** Host names served (first one is the canonical name and the certificate's). */
    readonly domains: readonly string[];
    readonly kind: SiteKind;
    /** For `proxy`: the role and port Nginx forwards to (e.g. app:8001). */
    readonly upstreamRole?: RoleName;
    readonly upstreamPort?: number;
    /** For `restxq`: the RESTXQ path prefixes published from BaseX (`/edition/`), nothing else. */
    readonly paths?: readonly string[];
}

/** A researcher account on the sandbox host. */
export interface Researcher {
    /** Unix user name, [a-z][a-z0-9-]*. */
    readonly name: string;
    readonly sshPublicKeys: readonly string[];
    /** systemd CPUQuota for the user's slice, in % of one CPU (e.g. 100 = one core). */
    readonly cpuPercent: number;
    /** systemd MemoryMax for the user's slice, in MiB. */
    readonly memoryMiB: number;
}

/** An upstream download that only the cloud can reach; a mirror may serve the same bytes. */
export interface Download {
    readonly version: string;
    readonly url: string;
    readonly sha256: string;
}

export interface UserDataInput {
    readonly role: RoleName;
    /** Host name, also the instance name: `dev-web-1`. */
    readonly hostname: string;
    /** The image's default login user (`debian`). */
    readonly adminUser: string;
    readonly sshAuthorizedKeys: readonly string[];
    /**
     * The host key the program pinned for this VM (hostKey.ts); absent: cloud-init generates
     * the keys (a stack without day-2). A secret: its private half makes the user data secret.
     */
    readonly sshHostKey?: HostKey;
    /** First 20 characters of the data volume's Cinder id (the guest sees virtio-<serial>); absent: no data volume. */
    readonly dataVolumeSerial?: string;
    /** Public host name of the lab's main site (IIIF ids, default vhost). */
    readonly publicHostname: string;
    /** E-mail for Let's Encrypt; absent: self-signed certificates only. */
    readonly letsencryptEmail?: string;
    /** Web server only: the virtual hosts. */
    readonly sites: readonly Site[];
    /**
     * Private IPs of the stack's other roles: the web server proxies to them, and each host
     * firewall accepts only the roles a port names (roles.ts).
     */
    readonly upstreams: Partial<Record<RoleName, string>>;
    /** Sandbox only: researcher accounts. */
    readonly researchers: readonly Researcher[];
    /** App server: `mariadb` (default) or `postgresql`. */
    readonly sqlEngine: "mariadb" | "postgresql";
    /**
     * `upstream`: Cantaloupe, BaseX ≥ 10, Julia from the URLs below (the cloud);
     * `debian`: Debian's packages where an equivalent exists (basex 9.7, iipimage-server): the VM tests.
     */
    readonly packageSource: "upstream" | "debian";
    readonly downloads: {
        readonly cantaloupe: Download;
        readonly basex: Download;
        readonly julia: Download;
        readonly saxon: Download;
    };
}

/** The file of each role in `cloud-init/`, merged onto `base.yaml`. */
export const ROLE_TEMPLATES: Readonly<Record<RoleName, string>> = {
    web: "web-server.yaml",
    xmldb: "xml-database.yaml",
    iiif: "iiif-server.yaml",
    app: "app-server.yaml",
    sandbox: "sandbox-host.yaml",
};

/** Where the templates live; tests and scripts may point elsewhere. */
export const CLOUD_INIT_DIR = path.join(__dirname, "..", "cloud-init");

/** The SQL port the app server opens in its host firewall (roles.ts declares MariaDB's). */

type Yaml = null | boolean | number | string | Yaml[] | { [key: string]: Yaml };
type YamlMap = { [key: string]: Yaml };

function isMap(value: Yaml | undefined): value is YamlMap {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Maps deep-merged, lists concatenated (first one first), anything else: the later value wins. */
export function mergeCloudConfig(a: YamlMap, b: YamlMap): YamlMap {
    const out: YamlMap = { ...a };
    for (const [key, value] of Object.entries(b)) {
        const prev = out[key];
        if (Array.isArray(prev) && Array.isArray(value)) {
            out[key] = [...prev, ...value];
        } else if (isMap(prev) && isMap(value)) {
            out[key] = mergeCloudConfig(prev, value);
        } else {
            out[key] = value;
        }
    }
    return out;
}

function readTemplate(dir: string, file: string): YamlMap {
    const doc = YAML.parse(fs.readFileSync(path.join(dir, file), "utf8")) as Yaml;
    if (!isMap(doc)) {
        throw new Error(`cloud-init/${file}: expected a mapping at the top level`);
    }
    return doc;
}

const PLACEHOLDER = /\{\{([A-Za-z0-9_]+)\}\}/g;

/** Fills `{{name}}` in every string of a parsed document; a whole-string placeholder may be a list. */
export function fillPlaceholders(
    node: Yaml,
    vars: Readonly<Record<string, Yaml>>,
    where = "",
): Yaml {
    if (Array.isArray(node)) {
        return node.map((item, i) => fillPlaceholders(item, vars, `${where}[${i}]`));
    }
    if (isMap(node)) {
        const out: YamlMap = {};
        for (const [key, value] of Object.entries(node)) {
            out[key] = fillPlaceholders(value, vars, where ? `${where}.${key}` : key);
        }
        return out;
    }
    if (typeof node !== "string") {
        return node;
    }
    const whole = /^\{\{([A-Za-z0-9_]+)\}\}$/.exec(node);
    if (whole?.[1] !== undefined && whole[1] in vars) {
        return vars[whole[1]] ?? null;
    }
    return node.replace(PLACEHOLDER, (_match, name: string) => {
        if (!(name in vars)) {
            throw new Error(`cloud-init: unknown placeholder {{${name}}} at ${where}`);
        }
        const value = vars[name];
        if (typeof value === "object" && value !== null) {
            throw new Error(`cloud-init: placeholder {{${name}}} at ${where} is a list or map`);
        }
        return String(value ?? "");
    });
}

function readFileSource(dir: string, source: string): string {
    const file = path.resolve(dir, "files", source);
    if (!file.startsWith(path.resolve(dir, "files") + path.sep)) {
        throw new Error(`cloud-init: write_files source ${source} leaves cloud-init/files/`);
    }
    return fs.readFileSync(file, "utf8");
}

/** Replaces `source: <path under cloud-init/files/>` in write_files entries by the file's content. */
function inlineFiles(doc: YamlMap, dir: string): YamlMap {
    const files = doc["write_files"];
    if (!Array.isArray(files)) {
        return doc;
    }
    const inlined = files.map((entry) => {
        if (!isMap(entry) || typeof entry["source"] !== "string") {
            return entry;
        }
        const { source, ...rest } = entry;
        return { ...rest, content: readFileSource(dir, source) };
    });
    return { ...doc, write_files: inlined };
}

/** The renderer's own key in the templates: variants chosen by the input, never sent to the VM. */
interface OuvroirKey {
    dataVolume?: YamlMap;
    noDataVolume?: YamlMap;
    /** `"<input field>=<value>"` → fragment merged when the input matches. */
    variants?: Record<string, YamlMap>;
}

function variantMatches(condition: string, flags: Readonly<Record<string, string>>): boolean {
    const [key, value] = condition.split("=");
    if (key === undefined || value === undefined || !(key in flags)) {
        throw new Error(`cloud-init: unknown variant condition "${condition}"`);
    }
    return flags[key] === value;
}

function applyOuvroirKey(
    doc: YamlMap,
    flags: Readonly<Record<string, string>>,
    hasVolume: boolean,
): YamlMap {
    const { ouvroir, ...rest } = doc;
    let out: YamlMap = rest;
    if (ouvroir === undefined) {
        return out;
    }
    const key = ouvroir as OuvroirKey;
    const volumePart = hasVolume ? key.dataVolume : key.noDataVolume;
    if (volumePart !== undefined) {
        out = mergeCloudConfig(out, volumePart);
    }
    for (const [condition, fragment] of Object.entries(key.variants ?? {})) {
        if (variantMatches(condition, flags)) {
            out = mergeCloudConfig(out, fragment);
        }
    }
    return out;
}

/**
 * nftables lines for the role's declared ports: `world` and `admin` from anywhere (the security
 * group holds the admin CIDRs), a rule from roles from those roles' private addresses only; a
 * rule whose roles have no address in `upstreams` (not deployed) opens nothing.
 */
export function firewallRules(input: UserDataInput): string[] {
    const lines: string[] = [];
    for (const rule of rolePorts(ROLES[input.role], input.sqlEngine)) {
        const ports = rule.portMax === undefined ? `${rule.port}` : `${rule.port}-${rule.portMax}`;
        let from = "";
        if (typeof rule.from === "object") {
            const ips = sourceAddresses(rule, input.upstreams);
            if (ips.length === 0) continue;
            from = `ip saddr { ${ips.join(", ")} } `;
        }
        lines.push(`        ${from}tcp dport ${ports} accept comment "${rule.name}"`);
    }
    return lines;
}

/** Pure: the private addresses of the deployed roles a rule accepts (host firewall, pg_hba). */
function sourceAddresses(rule: PortRule, upstreams: UserDataInput["upstreams"]): string[] {
    return sourceRoles(rule)
        .map((r) => upstreams[r])
        .filter((ip): ip is string => ip !== undefined && ip !== "")
        .map((ip) => ipv4("upstreams", ip));
}

/** An IPv4 address, checked before it reaches nftables or Nginx. */
function ipv4(what: string, ip: string): string {
    if (!/^(\d{1,3})(\.\d{1,3}){3}$/.test(ip))
        throw new Error(`${what}: ${JSON.stringify(ip)} is not an IPv4 address`);
    return ip;
}

/** Nginx configuration of the web server, built from the templates in `files/web/`. */
function webFiles(input: UserDataInput, dir: string): YamlMap[] {
    const read = (name: string): string => readFileSource(dir, `web/${name}`);
    const upstream = (role: RoleName, port: number): string => {
        const ip = input.upstreams[role];
        if (ip === undefined)
            throw new Error(`web server: no address for role ${role} in upstreams`);
        return nginxToken("upstream", `${ipv4(`upstreams.${role}`, ip)}:${port}`);
    };
    const locations: string[] = [];
    if (input.upstreams.iiif !== undefined) {
        locations.push(
            read("location-iiif.conf").replaceAll("{{upstream}}", upstream("iiif", 8182)),
        );
    }
    // A site may claim the public host name: the default vhost then serves that site's files.
    const main = input.sites.find((s) => s.domains.includes(input.publicHostname));
    if (main !== undefined && main.kind !== "static") {
        throw new Error(
            `site ${main.name}: only a static site may use publicHostname ${input.publicHostname} ` +
                "(the default vhost also carries /iiif/); give it another domain",
        );
    }
    const files: YamlMap[] = [
        {
            path: "/etc/nginx/sites-available/00-default.conf",
            permissions: "0644",
            defer: true,
            content: read("default-vhost.conf")
                .replace("{{defaultLocations}}", locations.join("\n"))
                .replaceAll(
                    "{{publicHostname}}",
                    input.publicHostname === ""
                        ? ""
                        : nginxToken("publicHostname", input.publicHostname),
                )
                .replaceAll("{{defaultRoot}}", nginxToken("site name", main?.name ?? "default")),
        },
    ];
    for (const site of input.sites) {
        const domains = site.domains.filter((d) => d !== input.publicHostname);
        if (domains.length === 0) {
            continue;
        }
        let target = "";
        let restxq = "";
        if (site.kind === "proxy") {
            const role = site.upstreamRole;
            if (
                role === undefined ||
                input.upstreams[role] === undefined ||
                site.upstreamPort === undefined
            ) {
                throw new Error(
                    `site ${site.name}: a proxy site needs upstreamRole and upstreamPort, and ` +
                        `upstreams must hold that role's address (got ${role ?? "none"})`,
                );
            }
            const port = site.upstreamPort;
            if (!proxiedPorts(role).some((p) => port >= p.port && port <= (p.portMax ?? p.port))) {
                throw new Error(
                    `site ${site.name}: ${role}:${port} is not a port a proxy site may forward to`,
                );
            }
            target = upstream(role, port);
        }
        if (site.kind === "restxq") {
            target = upstream("xmldb", 8080);
            restxq = restxqLocations(site, target, read("location-restxq.conf"));
        }
        files.push({
            path: `/etc/nginx/sites-available/${nginxToken("site name", site.name)}.conf`,
            permissions: "0644",
            defer: true,
            content: read(`site-${site.kind}.conf`)
                .replaceAll("{{siteName}}", nginxToken("site name", site.name))
                .replaceAll(
                    "{{serverNames}}",
                    domains.map((d) => nginxToken(`site ${site.name} domain`, d)).join(" "),
                )
                .replaceAll("{{upstream}}", target)
                .replace("{{restxqLocations}}", restxq),
        });
    }
    files.push({
        path: "/etc/ouvroir/sites",
        permissions: "0644",
        content:
            ["default " + input.publicHostname, ...input.sites.map(siteLine)].join("\n") + "\n",
    });
    return files;
}

/** BaseX's own paths, never published: REST, the DBA web admin, WebDAV, WebSockets. */
export const BASEX_ADMIN_PATHS = ["rest", "dba", "webdav", "ws"] as const;

/**
 * Pure: why a RESTXQ path prefix cannot be published, or undefined when it can: `shape` (not
 * like `/edition/`: letters, digits, . _ -; no `/`, no `..`) or the BaseX admin path it names.
 * Config validation and the renderer both ask this one rule.
 */
export function restxqPathProblem(
    p: string,
): "shape" | (typeof BASEX_ADMIN_PATHS)[number] | undefined {
    if (!/^(\/[A-Za-z0-9][A-Za-z0-9._-]*)+\/$/.test(p)) return "shape";
    const first = (p.split("/")[1] ?? "").toLowerCase();
    return BASEX_ADMIN_PATHS.find((a) => a === first);
}

/** One Nginx location per published RESTXQ path prefix. */
function restxqLocations(site: Site, target: string, template: string): string {
    const paths = site.paths ?? [];
    if (paths.length === 0) throw new Error(`site ${site.name}: a restxq site needs paths`);
    return paths
        .map((p) => {
            if (restxqPathProblem(p) !== undefined) {
                throw new Error(`site ${site.name}: path ${JSON.stringify(p)} cannot be published`);
            }
            return template
                .replaceAll("{{path}}", nginxToken("restxq path", p))
                .replaceAll("{{upstream}}", target);
        })
        .join("\n");
}

/** One line per vhost for the boot scripts: `<name> <domain> <domain>…`. */
function siteLine(site: Site): string {
    return [site.name, ...site.domains].join(" ");
}

/** Researcher accounts (no sudo, their own keys) and their per-user slice limits. */
function sandboxParts(input: UserDataInput): YamlMap {
    const users: Yaml[] = input.researchers.map((r) => ({
        name: r.name,
        gecos: "Researcher",
        shell: "/bin/bash",
        lock_passwd: true,
        homedir: `/srv/data/home/${r.name}`,
        ssh_authorized_keys: [...r.sshPublicKeys],
    }));
    const limits = input.researchers
        .map((r) => `${r.name} ${r.cpuPercent} ${r.memoryMiB}`)
        .join("\n");
    return {
        users,
        write_files: [
            {
                path: "/etc/ouvroir/researchers",
                permissions: "0644",
                content: limits === "" ? "" : limits + "\n",
            },
        ],
    };
}

/**
 * The placeholders the templates may hold, filled in parsed YAML values (the serializer quotes
 * them) or in config files whose sink checks them. Values from config that scripts need are not
 * here: they are in settings.env.
 */
function placeholderValues(input: UserDataInput): Record<string, Yaml> {
    const spec = ROLES[input.role];
    return {
        role: input.role,
        hostname: input.hostname,
        adminUser: input.adminUser,
        sshAuthorizedKeys: [...input.sshAuthorizedKeys],
        dataMount: spec.dataMountPoint,
        dataLabel: `data-${input.role}`,
        dataDevice: `/dev/disk/by-id/virtio-${input.dataVolumeSerial ?? ""}`,
        firewallRules: firewallRules(input).join("\n"),
    };
}

/** Where first-boot and day-2 scripts read the values from config: sourced, never templated. */
export const SETTINGS_ENV_PATH = "/etc/ouvroir/settings.env";

/**
 * Pure: the settings file the role's scripts source. Every value from config that a script uses
 * is here, quoted by the one shell rule (escape.ts), so no config value is ever part of a
 * script's text. No secret is in it (0644).
 */
export function settingsEnv(input: UserDataInput): string {
    const d = input.downloads;
    const sql = ROLES.app.ports.find((p) => p.name === "sql");
    const sqlClients = sql ? sourceAddresses(sql, input.upstreams) : [];
    return (
        "# ouvroir: the values from config that this VM's scripts use (components/userData.ts).\n" +
        envFile({
            OUVROIR_ROLE: input.role,
            OUVROIR_HOSTNAME: input.hostname,
            PUBLIC_HOSTNAME: input.publicHostname,
            LETSENCRYPT_EMAIL: input.letsencryptEmail ?? "",
            SQL_ENGINE: input.sqlEngine,
            SQL_CLIENTS: sqlClients.join(" "),
            BASEX_VERSION: d.basex.version,
            BASEX_URL: d.basex.url,
            BASEX_SHA256: d.basex.sha256,
            SAXON_URL: d.saxon.url,
            SAXON_SHA256: d.saxon.sha256,
            CANTALOUPE_VERSION: d.cantaloupe.version,
            CANTALOUPE_URL: d.cantaloupe.url,
            CANTALOUPE_SHA256: d.cantaloupe.sha256,
            JULIA_VERSION: d.julia.version,
            JULIA_URL: d.julia.url,
            JULIA_SHA256: d.julia.sha256,
        })
    );
}

/** The merged, filled document as data (what `renderUserData` serialises). */
export function buildCloudConfig(input: UserDataInput, dir: string = CLOUD_INIT_DIR): YamlMap {
    const flags: Record<string, string> = {
        packageSource: input.packageSource,
        sqlEngine: input.sqlEngine,
        hasPhpSite: String(input.sites.some((s) => s.kind === "php")),
    };
    const hasVolume = input.dataVolumeSerial !== undefined && input.dataVolumeSerial !== "";
    let doc = applyOuvroirKey(readTemplate(dir, "base.yaml"), flags, hasVolume);
    doc = mergeCloudConfig(
        doc,
        applyOuvroirKey(readTemplate(dir, ROLE_TEMPLATES[input.role]), flags, hasVolume),
    );
    doc = mergeCloudConfig(doc, {
        write_files: [
            { path: SETTINGS_ENV_PATH, permissions: "0644", content: settingsEnv(input) },
        ],
    });
    if (input.sshHostKey) {
        // Only the pinned key: the image's keys are deleted, and the one type cloud-init may
        // generate is ours, already written (its schema wants one type at least).
        doc = mergeCloudConfig(doc, {
            ssh_deletekeys: true,
            ssh_genkeytypes: ["ed25519"],
            ssh_keys: {
                ed25519_private: input.sshHostKey.privateKey,
                ed25519_public: input.sshHostKey.publicKey,
            },
        });
    }
    if (input.role === "web") {
        doc = mergeCloudConfig(doc, { write_files: webFiles(input, dir) });
    }
    if (input.role === "sandbox") {
        doc = mergeCloudConfig(doc, sandboxParts(input));
    }
    doc = inlineFiles(doc, dir);
    return fillPlaceholders(doc, placeholderValues(input)) as YamlMap;
}

/**
 * Renders a role's user data: one `#cloud-config` document. Pure and deterministic: the same
 * input and the same `cloud-init/` files give the same bytes.
 */
export function renderUserData(input: UserDataInput, dir: string = CLOUD_INIT_DIR): string {
    return serializeCloudConfig(buildCloudConfig(input, dir));
}

/** Pure: a built document as the `#cloud-config` text cloud-init reads. */
export function serializeCloudConfig(doc: YamlMap): string {
    return "#cloud-config\n" + YAML.stringify(doc, { lineWidth: 0, blockQuote: "literal" });
}

/** What a role installs and writes: for tests and the boot benchmark's apt-get floor. */
export function roleManifest(
    input: UserDataInput,
    dir: string = CLOUD_INIT_DIR,
): { packages: string[]; files: string[] } {
    const doc = buildCloudConfig(input, dir);
    const packages = (Array.isArray(doc["packages"]) ? doc["packages"] : []).map(String);
    const files = (Array.isArray(doc["write_files"]) ? doc["write_files"] : []).map((f) =>
        isMap(f) ? String(f["path"]) : "",
    );
    return { packages, files };
}
