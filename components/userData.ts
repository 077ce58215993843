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
import { ROLES, RoleName, SQL_PORTS } from "./roles";

export type SiteKind = "static" | "proxy" | "php";

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
    /** First 20 characters of the data volume's Cinder id (the guest sees virtio-<serial>); absent: no data volume. */
    readonly dataVolumeSerial?: string;
    /** The stack's private subnet CIDR (host firewall: "from the private subnet"). */
    readonly privateCidr: string;
    /** Public host name of the lab's main site (IIIF ids, default vhost). */
    readonly publicHostname: string;
    /** E-mail for Let's Encrypt; absent: self-signed certificates only. */
    readonly letsencryptEmail?: string;
    /** Web server only: the virtual hosts. */
    readonly sites: readonly Site[];
    /** Web server only: private IPs of the other roles, for the reverse proxy. */
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

/** nftables lines for the role's declared ports: world from anywhere, the rest from the subnet. */
export function firewallRules(input: UserDataInput): string[] {
    return ROLES[input.role].ports.map((rule) => {
        let port = rule.port;
        if (input.role === "app" && rule.name === "sql") {
            port = SQL_PORTS[input.sqlEngine];
        }
        const ports = rule.portMax === undefined ? `${port}` : `${port}-${rule.portMax}`;
        // SSH from `admin` CIDRs is enforced by the security group; the host does not know them.
        const from =
            rule.from === "world" || rule.from === "admin" ? "" : `ip saddr ${input.privateCidr} `;
        return `        ${from}tcp dport ${ports} accept comment "${rule.name}"`;
    });
}

/** Nginx configuration of the web server, built from the templates in `files/web/`. */
function webFiles(input: UserDataInput, dir: string): YamlMap[] {
    const read = (name: string): string => readFileSource(dir, `web/${name}`);
    const locations: string[] = [];
    const xmldb = input.upstreams.xmldb;
    const iiif = input.upstreams.iiif;
    if (xmldb !== undefined) {
        locations.push(read("location-basex.conf").replaceAll("{{upstream}}", `${xmldb}:8080`));
    }
    if (iiif !== undefined) {
        locations.push(read("location-iiif.conf").replaceAll("{{upstream}}", `${iiif}:8182`));
    }
    // A site may claim the public host name: the default vhost then serves that site's files.
    const main = input.sites.find((s) => s.domains.includes(input.publicHostname));
    if (main !== undefined && main.kind !== "static") {
        throw new Error(
            `site ${main.name}: only a static site may use publicHostname ${input.publicHostname} ` +
                "(the default vhost also carries /basex/ and /iiif/); give it another domain",
        );
    }
    const files: YamlMap[] = [
        {
            path: "/etc/nginx/sites-available/00-default.conf",
            permissions: "0644",
            defer: true,
            content: read("default-vhost.conf")
                .replace("{{defaultLocations}}", locations.join("\n"))
                .replaceAll("{{defaultRoot}}", main?.name ?? "default"),
        },
    ];
    for (const site of input.sites) {
        const domains = site.domains.filter((d) => d !== input.publicHostname);
        if (domains.length === 0) {
            continue;
        }
        let upstream = "";
        if (site.kind === "proxy") {
            const role = site.upstreamRole;
            const host = role === undefined ? undefined : input.upstreams[role];
            if (host === undefined || site.upstreamPort === undefined) {
                throw new Error(
                    `site ${site.name}: a proxy site needs upstreamRole and upstreamPort, and ` +
                        `upstreams must hold that role's address (got ${role ?? "none"})`,
                );
            }
            upstream = `${host}:${site.upstreamPort}`;
        }
        files.push({
            path: `/etc/nginx/sites-available/${site.name}.conf`,
            permissions: "0644",
            defer: true,
            content: read(`site-${site.kind}.conf`)
                .replaceAll("{{siteName}}", site.name)
                .replaceAll("{{serverNames}}", domains.join(" "))
                .replaceAll("{{upstream}}", upstream),
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

function placeholderValues(input: UserDataInput): Record<string, Yaml> {
    const spec = ROLES[input.role];
    const d = input.downloads;
    return {
        role: input.role,
        hostname: input.hostname,
        adminUser: input.adminUser,
        sshAuthorizedKeys: [...input.sshAuthorizedKeys],
        privateCidr: input.privateCidr,
        publicHostname: input.publicHostname,
        letsencryptEmail: input.letsencryptEmail ?? "",
        dataMount: spec.dataMountPoint,
        dataLabel: `data-${input.role}`,
        dataDevice: `/dev/disk/by-id/virtio-${input.dataVolumeSerial ?? ""}`,
        firewallRules: firewallRules(input).join("\n"),
        sqlEngine: input.sqlEngine,
        packageSource: input.packageSource,
        basexVersion: d.basex.version,
        basexUrl: d.basex.url,
        basexSha256: d.basex.sha256,
        cantaloupeVersion: d.cantaloupe.version,
        cantaloupeUrl: d.cantaloupe.url,
        cantaloupeSha256: d.cantaloupe.sha256,
        juliaVersion: d.julia.version,
        juliaUrl: d.julia.url,
        juliaSha256: d.julia.sha256,
        saxonVersion: d.saxon.version,
        saxonUrl: d.saxon.url,
        saxonSha256: d.saxon.sha256,
    };
}

/** The merged, filled document as data (what `renderUserData` serialises). */
export function buildCloudConfig(input: UserDataInput, dir: string = CLOUD_INIT_DIR): YamlMap {
    const flags: Record<string, string> = {
        packageSource: input.packageSource,
        sqlEngine: input.sqlEngine,
        hasPhpSite: String(input.sites.some((s) => s.kind === "php")),
        letsencrypt: String(input.letsencryptEmail !== undefined && input.letsencryptEmail !== ""),
    };
    const hasVolume = input.dataVolumeSerial !== undefined && input.dataVolumeSerial !== "";
    let doc = applyOuvroirKey(readTemplate(dir, "base.yaml"), flags, hasVolume);
    doc = mergeCloudConfig(
        doc,
        applyOuvroirKey(readTemplate(dir, ROLE_TEMPLATES[input.role]), flags, hasVolume),
    );
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
    const doc = buildCloudConfig(input, dir);
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
