/**
 * The only reader of configuration values: turns a stack's raw `ouvroir:*` values into one typed,
 * validated StackConfig, or throws one ConfigError listing every problem, each naming the key
 * and the fix, before a single resource exists. Keys are checked in the table's order (keys.ts).
 * Pure, so tests run it over the real stack files.
 */
import { RunError } from "@pulumi/pulumi/errors";
import { BackupSettings, validateBackupSettings } from "../components/backup";
import { parseAlertSettings, validateAlertSettings } from "../components/monitoring";
import { ROLES, ROLE_NAMES, RoleName, proxiedPorts, isRoleName } from "../components/roles";
import { restxqPathProblem } from "../components/roles/web";
import type { App, Download, Researcher, Site } from "../components/userData";
import { CONFIG_KEYS, ConfigKey, DEFAULTS, RAS_ALLOCATION, SECRET_KEYS } from "./keys";
import type { ImageConfig, RoleConfig, StackConfig } from "./types";

export type RawConfig = Partial<Record<string, unknown>>;

/**
 * Values that reach a shell, cloud-init's YAML or the operator's ssh config are held to these
 * shapes at preview, so that a quote, a newline, `$(…)` or `;` never reaches those sinks.
 */
export const SAFE = {
    userName: /^[a-z_][a-z0-9_-]{0,31}$/,
    email: /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/,
    url: /^https:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~%+,=@:-]*)*$/,
    version: /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,39}$/,
    /** An OpenStack resource name the program looks up (external network). */
    resourceName: /^[A-Za-z0-9][A-Za-z0-9._ -]{0,254}$/,
};

export class ConfigError extends RunError {
    constructor(
        readonly stackName: string,
        readonly problems: readonly string[],
    ) {
        super(
            `stack '${stackName}' has ${problems.length} configuration problem(s); nothing was created:\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

// ---------------------------------------------------------------------------------------------
// Flavors

export interface FlavorSize {
    readonly vcpus: number;
    readonly ramGb: number;
    /** `p` flavors are persistent (no root disk, boot from volume); `c` ones live a month on RAS. */
    readonly kind: "persistent" | "compute" | "declared";
}

/** Size of a flavor from the Alliance naming scheme (`p4-7.5gb`) or from `ouvroir:flavors`. */
export function flavorSize(
    flavor: string,
    declared: StackConfig["flavors"] = {},
): FlavorSize | undefined {
    const own = declared[flavor];
    if (own) return { vcpus: own.vcpus, ramGb: own.ramGb, kind: "declared" };
    const m = /^([pc])(\d+)-(\d+(?:\.\d+)?)gb(?:-\d+)?$/.exec(flavor);
    if (!m) return undefined;
    return {
        vcpus: Number(m[2]),
        ramGb: Number(m[3]),
        kind: m[1] === "p" ? "persistent" : "compute",
    };
}

// ---------------------------------------------------------------------------------------------
// CIDRs

/** Parses an IPv4 or IPv6 CIDR; returns undefined when malformed. */
export function parseCidr(
    cidr: string,
): { version: 4 | 6; hostBitsSet: boolean; prefix: number; canonical: string } | undefined {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
    if (!m) return undefined;
    const [, addr = "", p = ""] = m;
    const prefix = Number(p);
    const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
    if (v4) {
        const octets = v4.slice(1).map(Number);
        if (octets.some((o) => o > 255) || prefix > 32) return undefined;
        const value = octets.reduce((acc, o) => acc * 256 + o, 0);
        const size = 2 ** (32 - prefix);
        const network = Math.floor(value / size) * size;
        const net = [24, 16, 8, 0].map((s) => Math.floor(network / 2 ** s) % 256).join(".");
        return {
            version: 4,
            hostBitsSet: network !== value,
            prefix,
            canonical: `${net}/${prefix}`,
        };
    }
    if (addr.includes(":") && /^[0-9a-fA-F:]+$/.test(addr) && prefix <= 128) {
        const halves = addr.split("::");
        if (halves.length > 2) return undefined;
        const groups = halves.map((h) => (h === "" ? [] : h.split(":")));
        if (groups.flat().some((g) => g.length > 4 || g.length === 0)) return undefined;
        const count = groups.flat().length;
        if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
        const full = [
            ...(groups[0] ?? []),
            ...Array(8 - count).fill("0"),
            ...(halves.length === 2 ? (groups[1] ?? []) : []),
        ].map((g) => parseInt(g, 16));
        let bits = prefix;
        let hostBitsSet = false;
        for (const g of full) {
            const keep = Math.max(0, Math.min(16, bits));
            bits -= 16;
            if ((g & (0xffff >> keep)) !== 0 && keep < 16) hostBitsSet = true;
        }
        return { version: 6, hostBitsSet, prefix, canonical: cidr };
    }
    return undefined;
}

export function isWorldCidr(cidr: string): boolean {
    const parsed = parseCidr(cidr);
    return parsed !== undefined && parsed.prefix === 0;
}

// ---------------------------------------------------------------------------------------------
// Parsing

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHA256 = /^[0-9a-f]{64}$/i;
const NAME = /^[a-z][a-z0-9-]{0,30}$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/**
 * Accounts the guests' systems or packages hold (Debian's base-passwd and the roles' services): a
 * researcher of that name would get a system account's keys on the sandbox host or the bastion.
 */
const SYSTEM_ACCOUNTS = [
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    "messagebus",
    "sshd",
    "debian",
    "admin",
    "postgres",
    "mysql",
    "basex",
    "cantaloupe",
    "polkitd",
    "tss",
    "dnsmasq",
    "statd",
    "nginx",
    "docker",
    "ouvroir",
    "ouvroir-jump",
];

type Problems = string[];

/** `<at>.<key> is not a <what> setting; use a, b and c.` for each key of `obj` not in `known`. */
function unknownSettings(
    at: string,
    what: string,
    obj: object,
    known: readonly string[],
): string[] {
    const list = `${known.slice(0, -1).join(", ")} and ${known[known.length - 1]}`;
    return Object.keys(obj)
        .filter((k) => !known.includes(k))
        .map((k) => `${at}.${k} is not a ${what} setting; use ${list}.`);
}

/** A key that needs a role: the problem when the stack's roles leave it out. */
function roleNeeded(key: string, role: RoleName, v: Record<string, unknown>): string[] {
    return isObject(v.roles) && !(role in v.roles)
        ? [
              `ouvroir:${key} is set but the ${role} role is not deployed: add ${role} to ouvroir:roles.`,
          ]
        : [];
}

/**
 * A list of CIDRs allowed to reach SSH on the bastion: each one well formed, without host bits,
 * and in a protected stack neither the whole Internet nor a large part of it.
 */
function cidrList(
    key: string,
    what: string,
    value: unknown,
    problems: string[],
    production: boolean,
): string[] {
    const cidrs = strings(key, value, problems);
    for (const c of cidrs) {
        const parsed = parseCidr(c);
        if (!parsed) {
            problems.push(
                `ouvroir:${key} entry "${c}" is not a CIDR: write an address with its prefix, e.g. 132.204.0.0/16 or 203.0.113.7/32.`,
            );
        } else if (parsed.hostBitsSet) {
            problems.push(
                `ouvroir:${key} entry "${c}" has host bits set: did you mean ${parsed.canonical} (or ${c.split("/")[0]}/32 for one host)?`,
            );
        } else if (parsed.prefix === 0 && production) {
            problems.push(
                `ouvroir:${key} entry "${c}" opens ${what} to the whole Internet, which Alliance policy forbids in a protected stack: list your institution's or VPN's ranges instead.`,
            );
        } else if (production && parsed.prefix < (parsed.version === 4 ? 8 : 32)) {
            // 0.0.0.0/1 and 128.0.0.0/1 are the whole Internet too, in two entries.
            problems.push(
                `ouvroir:${key} entry "${c}" is wider than a /${parsed.version === 4 ? 8 : 32}: in a protected stack SSH must come from your institution's or VPN's ranges, not a large part of the Internet.`,
            );
        }
    }
    return cidrs;
}

/**
 * One OpenSSH public key line: a known type, its base64 blob (which names the same type), an
 * optional comment; no newline or control character (each key becomes one authorized_keys line).
 */
export function publicKeyProblems(key: string, k: string): string[] {
    const shown = JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k);
    if (/PRIVATE KEY/.test(k))
        return [`${key} holds a PRIVATE key: remove it now and rotate that key.`];
    const m =
        /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) ([A-Za-z0-9+/]+={0,2})( [\x20-\x7e]*)?$/.exec(
            k.trim(),
        );
    const blob = m ? Buffer.from(m[2] as string, "base64") : Buffer.alloc(0);
    const named =
        blob.length > 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1") : "";
    if (!m || named !== m[1] || /[\x00-\x1f]/.test(k.trim()))
        return [
            `${key} entry ${shown} is not an OpenSSH public key (the one line of ~/.ssh/id_ed25519.pub).`,
        ];
    return [];
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function strings(key: string, v: unknown, problems: Problems): string[] {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
        problems.push(`ouvroir:${key} must be a list of strings (YAML: one "- value" per line).`);
        return [];
    }
    return v as string[];
}

/** No Alliance project holds a 100 TB volume: a larger size is a typo (MB for GB). */
const MAX_VOLUME_GB = 100_000;

function positiveInt(key: string, v: unknown, problems: Problems, fallback: number): number {
    const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n <= 0) {
        problems.push(
            `ouvroir:${key} is ${JSON.stringify(v)}: a size must be a positive whole number of GB.`,
        );
        return fallback;
    }
    if (n > MAX_VOLUME_GB) {
        problems.push(
            `ouvroir:${key} is ${n} GB, more than ${MAX_VOLUME_GB} GB (100 TB): check the number (sizes are in GB).`,
        );
        return fallback;
    }
    return n;
}

function boolean(key: string, v: unknown, problems: Problems, fallback: boolean): boolean {
    if (v === true || v === "true") return true;
    if (v === false || v === "false") return false;
    problems.push(`ouvroir:${key} is ${JSON.stringify(v)}: set it to true or false.`);
    return fallback;
}

/** The RESTXQ path prefixes a restxq site publishes: `/edition/`, never `/`, `/rest/`, `/dba/`. */
function restxqPaths(at: string, raw: unknown, problems: string[]): string[] {
    if (!Array.isArray(raw) || raw.length === 0) {
        problems.push(
            `${at}.paths must list the RESTXQ application's path prefixes, e.g. ["/edition/"].`,
        );
        return [];
    }
    const out: string[] = [];
    raw.forEach((p: unknown, j: number) => {
        const problem = typeof p === "string" ? restxqPathProblem(p) : "shape";
        if (problem === "shape") {
            problems.push(
                `${at}.paths[${j}] ${JSON.stringify(p)} must be a path prefix like "/edition/" (letters, digits, . _ -, starting and ending with /).`,
            );
        } else if (problem !== undefined) {
            problems.push(
                `${at}.paths[${j}] "${String(p)}" is BaseX's ${problem} admin interface, which is never published: reach it through the bastion (sshConfig's tunnel).`,
            );
        } else {
            out.push(p as string);
        }
    });
    return out;
}

function oneOf<T extends string>(
    key: string,
    v: unknown,
    allowed: readonly T[],
    problems: Problems,
): T {
    if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as T;
    problems.push(`ouvroir:${key} is ${JSON.stringify(v)}: choose one of ${allowed.join(", ")}.`);
    return allowed[0] as T;
}

/** Raw values with defaults applied, key by key (objects are replaced, not merged). */
function withDefaults(raw: RawConfig): Record<ConfigKey, unknown> {
    const out = {} as Record<ConfigKey, unknown>;
    for (const key of CONFIG_KEYS) out[key] = raw[key] ?? DEFAULTS[key];
    return out;
}

/** What a key's check sees: the problems so far, the raw and defaulted values, the keys checked before it. */
interface CheckContext {
    readonly stack: string;
    readonly raw: RawConfig;
    readonly v: Readonly<Record<ConfigKey, unknown>>;
    readonly problems: Problems;
    /** A protected stack (prod, or protectData): stricter rules for SSH sources. */
    readonly production: boolean;
    /** The keys already checked, in the table's order (keys.ts). */
    readonly done: Partial<Parsed>;
}

/** Each key's value once checked (StackConfig's fields, before assembly). */
type Parsed = Omit<StackConfig, "stack">;

/**
 * The checks, one per key of the table (keys.ts), run in the table's order at preview; a key
 * may read the keys before it (`c.done`). Each problem names its key and the fix. The type
 * makes a key without a check a compile error.
 */
export const CHECKS: { readonly [K in ConfigKey]: (value: unknown, c: CheckContext) => Parsed[K] } =
    {
        externalNetwork: (value, c) => {
            const { problems } = c;
            const externalNetwork = typeof value === "string" ? value : "";
            if (externalNetwork !== "" && !SAFE.resourceName.test(externalNetwork))
                problems.push(
                    `ouvroir:externalNetwork ${JSON.stringify(externalNetwork)} is not a network name (letters, digits, spaces, . _ -); see openstack network list --external.`,
                );
            return externalNetwork;
        },
        existingNetwork: (value, c) => {
            const { problems } = c;
            let existingNetwork: StackConfig["existingNetwork"];
            if (!isObject(value)) {
                problems.push(
                    `ouvroir:existingNetwork must be an object {networkId, subnetId} or {}.`,
                );
            } else if (Object.keys(value).length > 0) {
                const { networkId, subnetId } = value;
                if (
                    typeof networkId !== "string" ||
                    typeof subnetId !== "string" ||
                    !networkId ||
                    !subnetId
                ) {
                    problems.push(
                        `ouvroir:existingNetwork needs both networkId and subnetId (openstack network list; openstack subnet list), or {} to create a network.`,
                    );
                } else {
                    existingNetwork = { networkId, subnetId };
                }
            }
            return existingNetwork;
        },
        privateCidr: (value, c) => {
            const { problems } = c;
            const privateCidr = String(value);
            const pc = parseCidr(privateCidr);
            if (!pc || pc.version !== 4) {
                problems.push(
                    `ouvroir:privateCidr "${privateCidr}" is not an IPv4 CIDR such as 10.20.0.0/24.`,
                );
            } else if (pc.hostBitsSet) {
                problems.push(
                    `ouvroir:privateCidr "${privateCidr}" has host bits set: did you mean ${pc.canonical}?`,
                );
            } else if (pc.prefix > 28) {
                problems.push(
                    `ouvroir:privateCidr "${privateCidr}" is too small for the stack: use a /24 to /28.`,
                );
            }
            return privateCidr;
        },
        dnsServers: (value, c) => {
            const { problems } = c;
            const dnsServers = strings("dnsServers", value, problems);
            for (const d of dnsServers) {
                if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(d))
                    problems.push(`ouvroir:dnsServers entry "${d}" is not an IPv4 address.`);
            }
            return dnsServers;
        },
        adminCidrs: (value, c) => {
            const { problems, production } = c;
            const adminCidrs = cidrList("adminCidrs", "SSH", value, problems, production);
            if (adminCidrs.length === 0 && production) {
                problems.push(
                    `ouvroir:adminCidrs is empty: nobody could reach the bastion; add your institution's range (pulumi config set --path 'ouvroir:adminCidrs[0]' 132.204.0.0/16).`,
                );
            }
            return adminCidrs;
        },
        researcherCidrs: (value, c) =>
            cidrList("researcherCidrs", "the researchers' SSH", value, c.problems, c.production),
        sshPublicKeys: (value, c) => {
            const { problems } = c;
            const sshPublicKeys = strings("sshPublicKeys", value, problems);
            if (sshPublicKeys.length === 0) {
                problems.push(
                    `ouvroir:sshPublicKeys is empty: add the operators' public keys (pulumi config set --path 'ouvroir:sshPublicKeys[0]' "$(cat ~/.ssh/id_ed25519.pub)").`,
                );
            }
            for (const k of sshPublicKeys)
                problems.push(...publicKeyProblems("ouvroir:sshPublicKeys", k));
            return sshPublicKeys;
        },
        adminUser: (value, c) => {
            const { problems } = c;
            // The admin user reaches cloud-init's YAML, shell scripts and the operator's ~/.ssh/config
            // (sshConfig output): a Linux user name, nothing else.
            const adminUser = String(value);
            if (!SAFE.userName.test(adminUser) || adminUser === "root")
                problems.push(
                    `ouvroir:adminUser ${JSON.stringify(adminUser)} is not a user name: use lower-case letters, digits, _ and - (at most 32, not root), e.g. debian.`,
                );
            return adminUser;
        },
        image: (value, c) => {
            const { problems } = c;
            let image: ImageConfig = { namePattern: DEFAULTS.image.namePattern };
            if (!isObject(value)) {
                problems.push(`ouvroir:image must be an object {id?, name?, namePattern?}.`);
            } else {
                const { id, name, namePattern } = value;
                const pattern =
                    typeof namePattern === "string" ? namePattern : DEFAULTS.image.namePattern;
                try {
                    new RegExp(pattern);
                } catch {
                    problems.push(
                        `ouvroir:image.namePattern "${pattern}" is not a valid regular expression.`,
                    );
                }
                image = {
                    id: typeof id === "string" && id ? id : undefined,
                    name: typeof name === "string" && name ? name : undefined,
                    namePattern: pattern,
                };
            }
            return image;
        },
        bootVolumeGb: (value, c) => {
            const { problems } = c;
            const bootVolumeGb = positiveInt("bootVolumeGb", value, problems, 20);
            if (bootVolumeGb < 10) {
                problems.push(
                    `ouvroir:bootVolumeGb is ${bootVolumeGb}: a Debian image with the services needs at least 10 GB (20 recommended).`,
                );
            }
            return bootVolumeGb;
        },
        volumeTypes: (value, c) => {
            const { problems } = c;
            const volumeTypes = strings("volumeTypes", value, problems);
            return volumeTypes;
        },
        flavors: (value, c) => {
            const { problems } = c;
            const flavors: Record<string, { vcpus: number; ramGb: number }> = {};
            if (!isObject(value)) {
                problems.push(`ouvroir:flavors must map flavor names to {vcpus, ramGb}.`);
            } else {
                for (const [name, f] of Object.entries(value)) {
                    if (
                        !isObject(f) ||
                        typeof f.vcpus !== "number" ||
                        typeof f.ramGb !== "number" ||
                        f.vcpus <= 0 ||
                        f.ramGb <= 0
                    ) {
                        problems.push(
                            `ouvroir:flavors.${name} must be {vcpus: <n>, ramGb: <n>} with positive numbers.`,
                        );
                    } else {
                        flavors[name] = { vcpus: f.vcpus, ramGb: f.ramGb };
                    }
                }
            }
            return flavors;
        },
        roles: (value, c) => {
            const { problems } = c;
            const { flavors, volumeTypes } = c.done as Parsed;
            const defaultVolumeType = volumeTypes[0] ?? "";
            const checkType = (key: string, t: string): void => {
                if (volumeTypes.length > 0 && !volumeTypes.includes(t)) {
                    problems.push(
                        `ouvroir:${key} "${t}" is not a volume type of this cloud; choose one of ${volumeTypes.join(", ")} (openstack volume type list), or add it to ouvroir:volumeTypes.`,
                    );
                }
            };
            const roles: Partial<Record<RoleName, RoleConfig>> = {};
            if (!isObject(value)) {
                problems.push(
                    `ouvroir:roles must map role names (${ROLE_NAMES.join(", ")}) to their settings.`,
                );
            } else {
                for (const key of Object.keys(value)) {
                    if (!isRoleName(key)) {
                        problems.push(
                            `ouvroir:roles.${key} is not a role; roles are ${ROLE_NAMES.join(", ")}.`,
                        );
                    }
                }
                if (!("web" in value)) {
                    problems.push(
                        `ouvroir:roles must include web: it is the only public entry and the SSH bastion.`,
                    );
                }
                for (const role of ROLE_NAMES) {
                    if (!(role in value)) continue;
                    const rc: unknown = value[role] ?? {};
                    const spec = ROLES[role];
                    if (!isObject(rc)) {
                        problems.push(
                            `ouvroir:roles.${role} must be an object ({} for the defaults).`,
                        );
                        continue;
                    }
                    for (const k of Object.keys(rc)) {
                        if (
                            ![
                                "flavor",
                                "dataVolumeGb",
                                "dataVolumeType",
                                "existingDataVolumeId",
                            ].includes(k)
                        ) {
                            problems.push(
                                `ouvroir:roles.${role}.${k} is not a role setting; use flavor, dataVolumeGb, dataVolumeType or existingDataVolumeId.`,
                            );
                        }
                    }
                    const flavor = typeof rc.flavor === "string" ? rc.flavor : spec.defaultFlavor;
                    const size = flavorSize(flavor, flavors);
                    if (!size) {
                        problems.push(
                            `ouvroir:roles.${role}.flavor "${flavor}" is unknown: use an Alliance flavor such as ${spec.defaultFlavor} (openstack flavor list), or declare its size in ouvroir:flavors.`,
                        );
                    } else {
                        if (size.kind === "compute") {
                            problems.push(
                                `ouvroir:roles.${role}.flavor "${flavor}" is a compute flavor (one-month lifetime on RAS): services need a persistent p flavor such as ${spec.defaultFlavor}.`,
                            );
                        }
                        if (size.vcpus < spec.minVcpus || size.ramGb < spec.minRamGb) {
                            problems.push(
                                `ouvroir:roles.${role}.flavor "${flavor}" (${size.vcpus} vCPU, ${size.ramGb} GB) is below the ${role} role's minimum of ${spec.minVcpus} vCPU and ${spec.minRamGb} GB: use ${spec.defaultFlavor} or larger.`,
                            );
                        }
                    }
                    const dataVolumeGb = positiveInt(
                        `roles.${role}.dataVolumeGb`,
                        rc.dataVolumeGb ?? spec.defaultDataVolumeGb,
                        problems,
                        spec.defaultDataVolumeGb,
                    );
                    const dataVolumeType =
                        typeof rc.dataVolumeType === "string"
                            ? rc.dataVolumeType
                            : defaultVolumeType;
                    checkType(`roles.${role}.dataVolumeType`, dataVolumeType);
                    let existingDataVolumeId: string | undefined;
                    if (rc.existingDataVolumeId !== undefined) {
                        if (
                            typeof rc.existingDataVolumeId !== "string" ||
                            !UUID.test(rc.existingDataVolumeId)
                        ) {
                            problems.push(
                                `ouvroir:roles.${role}.existingDataVolumeId ${JSON.stringify(rc.existingDataVolumeId)} is not a Cinder volume id (a UUID from openstack volume list).`,
                            );
                        } else {
                            existingDataVolumeId = rc.existingDataVolumeId;
                        }
                    }
                    roles[role] = { flavor, dataVolumeGb, dataVolumeType, existingDataVolumeId };
                }
            }
            return roles;
        },
        publicHostname: (value, c) => {
            const { problems } = c;
            const publicHostname = String(value);
            if (publicHostname && !DOMAIN.test(publicHostname)) {
                problems.push(
                    `ouvroir:publicHostname "${publicHostname}" is not a DNS name such as ouvroir.umontreal.ca.`,
                );
            }
            return publicHostname;
        },
        letsencryptEmail: (value, c) => {
            const { problems } = c;
            const letsencryptEmail = String(value) || undefined;
            if (letsencryptEmail && !SAFE.email.test(letsencryptEmail)) {
                problems.push(
                    `ouvroir:letsencryptEmail ${JSON.stringify(letsencryptEmail)} is not an e-mail address.`,
                );
            }
            return letsencryptEmail;
        },
        sites: (value, c) => {
            const { problems } = c;
            const { publicHostname } = c.done as Parsed;
            const sites: Site[] = [];
            if (!Array.isArray(value)) {
                problems.push(`ouvroir:sites must be a list of {name, domains, kind}.`);
            } else {
                const names = new Set<string>();
                const domains = new Map<string, string>();
                value.forEach((s: unknown, i: number) => {
                    const at = `ouvroir:sites[${i}]`;
                    if (!isObject(s) || typeof s.name !== "string") {
                        problems.push(`${at} must be an object with at least a name.`);
                        return;
                    }
                    const name = s.name;
                    problems.push(
                        ...unknownSettings(at, "site", s, [
                            "name",
                            "domains",
                            "kind",
                            "upstreamRole",
                            "upstreamPort",
                            "paths",
                        ]),
                    );
                    if (!NAME.test(name))
                        problems.push(
                            `${at}.name "${name}" must be lower-case letters, digits and dashes, starting with a letter.`,
                        );
                    if (names.has(name))
                        problems.push(
                            `${at}.name "${name}" is a duplicate site name: each site needs its own name (it names the vhost file and directory).`,
                        );
                    names.add(name);
                    const ds = Array.isArray(s.domains)
                        ? s.domains.filter((d): d is string => typeof d === "string")
                        : [];
                    if (ds.length === 0)
                        problems.push(
                            `${at}.domains is empty: list the host names the site answers to.`,
                        );
                    for (const d of ds) {
                        if (!DOMAIN.test(d))
                            problems.push(`${at}.domains entry "${d}" is not a DNS name.`);
                        const other = domains.get(d);
                        if (other !== undefined && other !== name)
                            problems.push(
                                `${at}.domains entry "${d}" is already served by site "${other}".`,
                            );
                        domains.set(d, name);
                    }
                    const kind = oneOf(
                        `sites[${i}].kind`,
                        s.kind,
                        ["static", "proxy", "php", "restxq"] as const,
                        problems,
                    );
                    let upstreamRole: RoleName | undefined;
                    let upstreamPort: number | undefined;
                    let paths: string[] | undefined;
                    if (kind === "restxq") {
                        paths = restxqPaths(at, s.paths, problems);
                        if (isObject(c.v.roles) && !("xmldb" in c.v.roles))
                            problems.push(
                                `${at} is a restxq site but the xmldb role is not deployed: add it to ouvroir:roles.`,
                            );
                    } else if (s.paths !== undefined) {
                        problems.push(
                            `${at}.paths is only for a restxq site: remove it, or set kind: restxq.`,
                        );
                    }
                    if (kind === "proxy") {
                        if (
                            typeof s.upstreamRole !== "string" ||
                            !isRoleName(s.upstreamRole) ||
                            s.upstreamRole === "web"
                        ) {
                            problems.push(
                                `${at}.upstreamRole ${JSON.stringify(s.upstreamRole)}: a proxy site needs the private role it forwards to (xmldb, iiif, app or sandbox).`,
                            );
                        } else {
                            upstreamRole = s.upstreamRole;
                            if (isObject(c.v.roles) && !(upstreamRole in c.v.roles)) {
                                problems.push(
                                    `${at}.upstreamRole "${upstreamRole}" is not deployed in this stack: add it to ouvroir:roles or choose a deployed role.`,
                                );
                            }
                            const port = Number(s.upstreamPort);
                            const proxied = proxiedPorts(upstreamRole);
                            const open = proxied.some(
                                (p) => port >= p.port && port <= (p.portMax ?? p.port),
                            );
                            if (upstreamRole === "xmldb") {
                                problems.push(
                                    `${at} proxies to the xmldb role, which would publish BaseX's REST and DBA admin: use kind: restxq with the paths of the RESTXQ application.`,
                                );
                            } else if (!open) {
                                const allowed = proxied.map((p) =>
                                    p.portMax ? `${p.port}-${p.portMax}` : `${p.port}`,
                                );
                                problems.push(
                                    `${at}.upstreamPort ${JSON.stringify(s.upstreamPort)} is not a port of the ${upstreamRole} role that a proxy site may forward to; use ${allowed.join(" or ")}.`,
                                );
                            } else {
                                upstreamPort = port;
                            }
                        }
                    }
                    if (publicHostname && ds.includes(publicHostname) && kind !== "static")
                        problems.push(
                            `${at} uses publicHostname ${publicHostname} but is a ${kind} site: only a static site may (the default vhost also carries /iiif/); give it another domain.`,
                        );
                    sites.push({
                        name,
                        domains: ds,
                        kind,
                        upstreamRole,
                        upstreamPort,
                        ...(paths ? { paths } : {}),
                    });
                });
            }
            return sites;
        },
        researchers: (value, c) => {
            const { problems } = c;
            const { adminUser } = c.done as Parsed;
            const researchers: Researcher[] = [];
            if (!Array.isArray(value)) {
                problems.push(
                    `ouvroir:researchers must be a list of {name, sshPublicKeys, cpuPercent, memoryMiB}.`,
                );
            } else {
                const seen = new Set<string>();
                value.forEach((r: unknown, i: number) => {
                    const at = `ouvroir:researchers[${i}]`;
                    if (!isObject(r) || typeof r.name !== "string") {
                        problems.push(`${at} must be an object with at least a name.`);
                        return;
                    }
                    if (
                        !NAME.test(r.name) ||
                        [...SYSTEM_ACCOUNTS, adminUser].includes(r.name) ||
                        r.name.startsWith("systemd-")
                    ) {
                        problems.push(
                            `${at}.name "${r.name}" is not a usable account name: lower-case letters, digits, dashes; not the admin user nor a system account (root, www-data, postgres, …).`,
                        );
                    }
                    if (seen.has(r.name))
                        problems.push(`${at}.name "${r.name}" is a duplicate researcher.`);
                    seen.add(r.name);
                    problems.push(
                        ...unknownSettings(at, "researcher", r, [
                            "name",
                            "sshPublicKeys",
                            "cpuPercent",
                            "memoryMiB",
                        ]),
                    );
                    const keys = strings(
                        `researchers[${i}].sshPublicKeys`,
                        r.sshPublicKeys,
                        problems,
                    );
                    for (const k of keys)
                        problems.push(...publicKeyProblems(`${at}.sshPublicKeys`, k));
                    const cpuPercent = Number(r.cpuPercent ?? 100);
                    const memoryMiB = Number(r.memoryMiB ?? 2048);
                    if (!Number.isInteger(cpuPercent) || cpuPercent <= 0)
                        problems.push(
                            `${at}.cpuPercent must be a positive whole number (100 = one core).`,
                        );
                    if (!Number.isInteger(memoryMiB) || memoryMiB < 256)
                        problems.push(
                            `${at}.memoryMiB must be a whole number of MiB, at least 256.`,
                        );
                    researchers.push({ name: r.name, sshPublicKeys: keys, cpuPercent, memoryMiB });
                });
                if (researchers.length > 0)
                    problems.push(...roleNeeded("researchers", "sandbox", c.v));
            }
            return researchers;
        },
        apps: (value, c) => {
            const { problems } = c;
            const apps: App[] = [];
            if (!Array.isArray(value)) {
                problems.push(`ouvroir:apps must be a list of {name, port, database?}.`);
                return apps;
            }
            const [low, high] = [8003, 8099]; // 8001 and 8002: the demo apps
            const names = new Set<string>();
            const ports = new Set<number>();
            value.forEach((a: unknown, i: number) => {
                const at = `ouvroir:apps[${i}]`;
                if (!isObject(a) || typeof a.name !== "string") {
                    problems.push(`${at} must be an object with at least a name and a port.`);
                    return;
                }
                problems.push(...unknownSettings(at, "app", a, ["name", "port", "database"]));
                if (!NAME.test(a.name)) {
                    problems.push(
                        `${at}.name "${a.name}" is not a usable app name: lower-case letters, digits, dashes, at most 31.`,
                    );
                }
                if (names.has(a.name)) problems.push(`${at}.name "${a.name}" is a duplicate app.`);
                names.add(a.name);
                const port = Number(a.port);
                if (!Number.isInteger(port) || port < low || port > high) {
                    problems.push(
                        `${at}.port must be a whole number from ${low} to ${high} (the app server's range for proxies).`,
                    );
                } else if (ports.has(port)) {
                    problems.push(`${at}.port ${port} is already another app's.`);
                }
                ports.add(port);
                if (a.database !== undefined && typeof a.database !== "boolean") {
                    problems.push(`${at}.database must be true or false.`);
                }
                apps.push({ name: a.name, port, database: a.database !== false });
            });
            if (apps.length > 0) problems.push(...roleNeeded("apps", "app", c.v));
            return apps;
        },
        dropAppDatabases: (value, c) => {
            const { problems } = c;
            const drop = strings("dropAppDatabases", value, problems);
            const { apps } = c.done as Parsed;
            for (const name of drop) {
                if (!NAME.test(name)) {
                    problems.push(`ouvroir:dropAppDatabases entry "${name}" is not an app name.`);
                } else if (apps.some((a) => a.name === name)) {
                    problems.push(
                        `ouvroir:dropAppDatabases names ${name}, which ouvroir:apps still declares: take the app out of ouvroir:apps first (its database is dropped only when both ask).`,
                    );
                }
            }
            return drop;
        },
        sqlEngine: (value, c) => {
            const { problems } = c;
            const sqlEngine = oneOf(
                "sqlEngine",
                value,
                ["mariadb", "postgresql"] as const,
                problems,
            );
            return sqlEngine;
        },
        packageSource: (value, c) => {
            const { problems } = c;
            const packageSource = oneOf(
                "packageSource",
                value,
                ["upstream", "debian"] as const,
                problems,
            );
            return packageSource;
        },
        downloads: (value, c) => {
            const { problems } = c;
            const { packageSource } = c.done as Parsed;
            // Downloads: each overrides the default entry by entry.
            const downloads = { ...DEFAULTS.downloads } as Record<
                "cantaloupe" | "basex" | "julia" | "saxon",
                Download
            > & { restic?: Download };
            if (!isObject(value)) {
                problems.push(
                    `ouvroir:downloads must be an object keyed by cantaloupe, basex, julia, saxon, restic.`,
                );
            } else {
                for (const [name, d] of Object.entries(value)) {
                    if (!(name in DEFAULTS.downloads) && name !== "restic") {
                        problems.push(
                            `ouvroir:downloads.${name} is not a download of this program; known: ${[...Object.keys(DEFAULTS.downloads), "restic"].join(", ")}.`,
                        );
                        continue;
                    }
                    // restic has no default download (Debian's package): all three fields, checked.
                    const base: Download =
                        name === "restic"
                            ? { version: "0.18.1", url: "", sha256: "" }
                            : DEFAULTS.downloads[name as keyof typeof DEFAULTS.downloads];
                    if (name === "restic" && isObject(d) && !SHA256.test(String(d.sha256 ?? "")))
                        problems.push(
                            `ouvroir:downloads.restic.sha256 is missing: an upstream restic is verified; set it to the sha256sum of the .bz2 at its url, or remove downloads.restic to keep Debian's package.`,
                        );
                    const merged = { ...base, ...(isObject(d) ? d : {}) } as Download;
                    problems.push(
                        ...unknownSettings(
                            `ouvroir:downloads.${name}`,
                            "download",
                            isObject(d) ? d : {},
                            ["version", "url", "sha256"],
                        ),
                    );
                    if (!SAFE.url.test(String(merged.url)))
                        problems.push(
                            `ouvroir:downloads.${name}.url must be a plain https:// URL (a mirror is fine): letters, digits and . _ ~ % + , = @ / : - only.`,
                        );
                    if (!SAFE.version.test(String(merged.version)))
                        problems.push(
                            `ouvroir:downloads.${name}.version ${JSON.stringify(merged.version)} is not a version: letters, digits and . + _ - only, e.g. ${base.version}.`,
                        );
                    if (merged.sha256 && !SHA256.test(merged.sha256))
                        problems.push(
                            `ouvroir:downloads.${name}.sha256 must be 64 hexadecimal characters (sha256sum of the file).`,
                        );
                    if (name === "restic") downloads.restic = merged;
                    else downloads[name as keyof typeof DEFAULTS.downloads] = merged;
                }
            }
            if (packageSource === "upstream") {
                const needed: (keyof typeof DEFAULTS.downloads)[] = [];
                if (isObject(c.v.roles)) {
                    if ("iiif" in c.v.roles) needed.push("cantaloupe");
                    if ("xmldb" in c.v.roles) needed.push("basex", "saxon");
                    if ("app" in c.v.roles) needed.push("julia");
                }
                for (const n of needed) {
                    if (!SHA256.test(downloads[n].sha256)) {
                        problems.push(
                            `ouvroir:downloads.${n}.sha256 is missing: every upstream download is verified; set it to the sha256sum of ${downloads[n].url} (or use packageSource: debian).`,
                        );
                    }
                }
            }
            return downloads;
        },
        rebuild: (value, c) => {
            const { problems } = c;
            const rebuild: RoleName[] = [];
            for (const r of strings("rebuild", value, problems)) {
                if (!isRoleName(r))
                    problems.push(
                        `ouvroir:rebuild entry "${r}" is not a role; roles are ${ROLE_NAMES.join(", ")}.`,
                    );
                else rebuild.push(r);
            }
            return rebuild;
        },
        allocation: (value, c) => {
            const { problems } = c;
            const allocation = { ...RAS_ALLOCATION };
            if (!isObject(value)) {
                problems.push(
                    `ouvroir:allocation must be an object such as {vcpus: 25, ramGb: 50, ...}.`,
                );
            } else {
                for (const [k, n] of Object.entries(value)) {
                    if (!(k in RAS_ALLOCATION)) {
                        problems.push(
                            `ouvroir:allocation.${k} is not a quota this program counts; known: ${Object.keys(RAS_ALLOCATION).join(", ")}.`,
                        );
                    } else if (typeof n !== "number" || !(n >= 0)) {
                        problems.push(`ouvroir:allocation.${k} must be a number ≥ 0.`);
                    } else {
                        (allocation as Record<string, number>)[k] = n;
                    }
                }
            }
            return allocation;
        },
        sharesAllocationWith: (value, c) => {
            const { problems } = c;
            const sharesAllocationWith = strings("sharesAllocationWith", value, problems);
            // Each names a stack whose file, Pulumi.<name>.yaml, is read from the project directory.
            for (const other of sharesAllocationWith)
                if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(other) || other.includes(".."))
                    problems.push(
                        `ouvroir:sharesAllocationWith entry ${JSON.stringify(other)} is not a stack name (letters, digits, _ . -).`,
                    );
            return sharesAllocationWith;
        },
        day2: (value, c) => {
            const { problems } = c;
            const day2 = boolean("day2", value, problems, true);
            return day2;
        },
        backup: (value, c) => {
            const { problems, raw } = c;
            const { day2 } = c.done as Parsed;
            let backup: BackupSettings | undefined;
            if (!isObject(value)) {
                problems.push(
                    `ouvroir:backup must be an object {endpoint, bucket, ...} or {} for no backups.`,
                );
            } else if (Object.keys(value).length > 0) {
                const b = value;
                const known = [
                    "endpoint",
                    "bucket",
                    "onCalendar",
                    "keepDaily",
                    "keepWeekly",
                    "keepMonthly",
                ];
                for (const k of Object.keys(b)) {
                    if (!known.includes(k))
                        problems.push(
                            `ouvroir:backup.${k} is not a backup setting; use ${known.join(", ")}.`,
                        );
                }
                const endpoint = String(b.endpoint ?? "");
                const bucket = String(b.bucket ?? "");
                if (!/^https?:\/\/[^/\s]+$/.test(endpoint)) {
                    problems.push(
                        `ouvroir:backup.endpoint "${endpoint}" must be the S3 endpoint URL without a path, e.g. https://object-arbutus.alliancecan.ca.`,
                    );
                }
                if (!/^[a-z0-9][a-z0-9.-]{2,62}$/.test(bucket))
                    problems.push(
                        `ouvroir:backup.bucket "${bucket}" is not an S3 bucket name (3-63 lower-case letters, digits, dots, dashes).`,
                    );
                const keep = (k: string, d: number): number => {
                    const n = b[k] ?? d;
                    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
                        problems.push(`ouvroir:backup.${k} must be a whole number ≥ 0.`);
                        return d;
                    }
                    return n;
                };
                for (const secret of ["backupAccessKeyId", "backupSecretAccessKey"]) {
                    if (raw[secret] === undefined && day2) {
                        problems.push(
                            `ouvroir:${secret} is not set: backups need the bucket's keys (openstack ec2 credentials create on Arbutus; pulumi config set --secret ouvroir:${secret} ...).`,
                        );
                    }
                }
                if (!day2)
                    problems.push(
                        `ouvroir:backup needs ouvroir:day2: true (backups are installed by the day-2 step, which carries their secrets).`,
                    );
                backup = {
                    endpoint,
                    bucket,
                    onCalendar: typeof b.onCalendar === "string" ? b.onCalendar : "daily",
                    keepDaily: keep("keepDaily", 7),
                    keepWeekly: keep("keepWeekly", 5),
                    keepMonthly: keep("keepMonthly", 12),
                };
                // The day-2 step's own checks (calendar, clear-text endpoint, a retention of nothing),
                // here too, so that they fail the preview instead of a day-2 step after the VMs exist.
                // (The endpoint's and the bucket's shapes are checked above already.)
                problems.push(
                    ...validateBackupSettings(backup).filter(
                        (p) =>
                            !/^ouvroir:backup\.(bucket|endpoint): (".*" is not|give only)/.test(p),
                    ),
                );
            }
            return backup;
        },
        protectData: (value, c) => boolean("protectData", value, c.problems, true),
        alerts: (value, c) => {
            const { problems, raw } = c;
            const { day2 } = c.done as Parsed;
            const found = validateAlertSettings(value);
            problems.push(...found);
            if (found.length > 0 || !isObject(value)) return undefined;
            const alerts = parseAlertSettings(value);
            const needs: [boolean, string, string][] = [
                [
                    alerts?.email?.username !== undefined,
                    "alertSmtpPassword",
                    "alerts.email.username is set: the relay's password",
                ],
                [alerts?.webhook === true, "alertWebhookUrl", "alerts.webhook is true: its URL"],
            ];
            for (const [needed, secret, why] of needs) {
                if (needed && raw[secret] === undefined)
                    problems.push(
                        `ouvroir:${secret} is not set (${why}): pulumi config set --secret ouvroir:${secret} ...`,
                    );
                if (needed && !day2)
                    problems.push(
                        `ouvroir:${secret} needs ouvroir:day2: true (the day-2 step carries the alerts' secrets).`,
                    );
            }
            return alerts;
        },
    };

/**
 * Pure: raw `ouvroir:*` values (without the namespace) → a validated StackConfig.
 * Throws ConfigError listing every problem found.
 */
export function parseStackConfig(stack: string, raw: RawConfig): StackConfig {
    const problems: Problems = [];
    for (const key of Object.keys(raw)) {
        if (
            !(CONFIG_KEYS as string[]).includes(key) &&
            !(SECRET_KEYS as readonly string[]).includes(key)
        ) {
            problems.push(
                `ouvroir:${key} is not a setting of this program (misspelt?); known keys: ${CONFIG_KEYS.join(", ")}.`,
            );
        }
    }
    const v = withDefaults(raw);
    const production = stack === "prod" || boolean("protectData", v.protectData, [], true);
    const done: Partial<Parsed> = {};
    const c: CheckContext = { stack, raw, v, problems, production, done };
    for (const key of CONFIG_KEYS) (done as Record<string, unknown>)[key] = CHECKS[key](v[key], c);
    const parsed = done as Parsed;
    const config: StackConfig = {
        stack,
        ...parsed,
        externalNetwork: parsed.externalNetwork || undefined,
    };
    if (problems.length > 0) throw new ConfigError(stack, problems);
    return config;
}

// ---------------------------------------------------------------------------------------------
// Quota

/** What a stack consumes, counted in the allocation's units. */
