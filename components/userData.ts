/**
 * User data for every role VM: cloud-init's data files in `cloud-init/` rendered by one pure
 * function into one `#cloud-config` document.
 *
 * CONTRACT (shared by the Pulumi program, the VM tests and `npm run local`): the input below is
 * all a role's user data may depend on. No secrets travel in it: passwords are generated on the
 * VM at first boot or pushed later over SSH (day-2).
 */
import * as path from "path";
import {
    Yaml,
    YamlMap,
    applyOuvroirKey,
    fillPlaceholders,
    inlineFiles,
    ipv4,
    isMap,
    mergeCloudConfig,
    readTemplate,
    serializeCloudConfig,
} from "./cloudConfig";
import { firstBootDocument } from "./applier";
import { envFile } from "./escape";
import { AlertSettings, nodeExporterListen, unitInclude } from "./monitoring";
import type { HostKey } from "./hostKey";
import { PortRule, ROLES, ROLE_NAMES, RoleName, rolePorts, sourceRoles } from "./roles";

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

/** A lab app on the app server, with its own database and user when `database` is true. */
export interface App {
    /** [a-z][a-z0-9-]*: its directory, its database and its database user. */
    readonly name: string;
    /** Its port in the app server's range for proxies (8000-8099): PORT in its environment. */
    readonly port: number;
    readonly database: boolean;
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
     * firewall accepts only the roles a port names (components/roles/).
     */
    readonly upstreams: Partial<Record<RoleName, string>>;
    /** Sandbox only: researcher accounts. */
    readonly researchers: readonly Researcher[];
    /** App server: the lab's apps (each its env file, and its database when asked). */
    readonly apps?: readonly App[];
    /** App server: databases of apps taken out of `apps` that the operator asked to drop. */
    readonly dropAppDatabases?: readonly string[];
    /** The monitoring host (web server): who the alerts reach; absent: Alertmanager's UI only. */
    readonly alerts?: AlertSettings;
    /** App server: `postgresql` (default) or `mariadb`. */
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
        /** restic's upstream binary (the .bz2 restic publishes); unset: Debian's package. */
        readonly restic?: Download;
    };
}

/** Where the templates live; tests and scripts may point elsewhere. */
export const CLOUD_INIT_DIR = path.join(__dirname, "..", "cloud-init");

/**
 * nftables lines for the role's declared ports: `world`, `admin` and `researchers` from anywhere
 * (the security group holds the CIDRs), a rule from roles from those roles' private addresses only; a
 * rule whose roles have no address in `upstreams` (not deployed) opens nothing.
 */
export function firewallRules(input: UserDataInput): string[] {
    const lines: string[] = [];
    // Both SSH rules of the bastion (admin, researchers) are one "from anywhere" line here.
    const opened = new Map<string, number>();
    for (const rule of rolePorts(ROLES[input.role], input.sqlEngine)) {
        const ports = rule.portMax === undefined ? `${rule.port}` : `${rule.port}-${rule.portMax}`;
        let from = "";
        if (typeof rule.from === "object") {
            const ips = sourceAddresses(rule, input.upstreams);
            if (ips.length === 0) continue;
            from = `ip saddr { ${ips.join(", ")} } `;
        }
        const at = opened.get(from + ports);
        if (at !== undefined) {
            lines[at] = (lines[at] as string).replace(/"$/, `, ${rule.name}"`);
            continue;
        }
        opened.set(from + ports, lines.length);
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
        nodeExporterUnits: unitInclude(input.role),
        nodeExporterListen: nodeExporterListen(input.role),
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
    // The SQL server's clients: the sources of the rule named `sql` (the app role's).
    const sql = ROLE_NAMES.flatMap((r) => ROLES[r].ports).find((p) => p.name === "sql");
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

/**
 * The role's desired state as one merged, filled document: what the applier applies (packages,
 * files, commands) and what cloud-init bootstraps (renderUserData splits them, applier.ts).
 */
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
        applyOuvroirKey(readTemplate(dir, ROLES[input.role].cloudInit.template), flags, hasVolume),
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
    const parts = ROLES[input.role].cloudInit.parts;
    if (parts) doc = mergeCloudConfig(doc, parts(input, dir));
    doc = inlineFiles(doc, dir);
    return fillPlaceholders(doc, placeholderValues(input)) as YamlMap;
}

/**
 * Renders a role's user data: one `#cloud-config` document. Pure and deterministic: the same
 * input and the same `cloud-init/` files give the same bytes.
 */
export function renderUserData(input: UserDataInput, dir: string = CLOUD_INIT_DIR): string {
    return serializeCloudConfig(firstBootDocument(input, buildCloudConfig(input, dir)));
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
