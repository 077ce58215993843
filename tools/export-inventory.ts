/**
 * Migration export: turns the state of a deployed stack (`pulumi stack export`) into a
 * cloud-neutral inventory — hosts and roles, vCPU/RAM, volumes with sizes, classes and mount
 * points, security rules, public names and addresses, where the backups go — and, given a
 * mapping file for a target cloud, writes the `Pulumi.<new-stack>.yaml` that rebuilds the same
 * infrastructure there. The data itself moves by backup and restore (docs/migration.md).
 *
 *   npm run export -- <export.json | - | stack> [options]
 *     <export.json>             a file written by `pulumi stack export --file …`
 *     -                         the export on standard input
 *     <stack>                   runs `pulumi stack export --stack <stack>` itself
 *     --inventory <file>        write the inventory there (.json or .yaml); default: stdout (YAML)
 *     --source-mapping <file>   the source cloud's mapping, to name its volume classes exactly
 *     --mapping <file>          the target cloud's mapping (flavors, image, network, volume types)
 *     --stack <name>            the new stack's name (required with --mapping)
 *     --source-config <file>    the stack file of the exported stack, for the application
 *                               settings (sites, researchers, keys…) and the backup target;
 *                               default: Pulumi.<exported stack>.yaml
 *     --out <file>              default: Pulumi.<new stack>.yaml; never overwritten without --force
 *     --compare <inventory>     exit 1 and list the differences when this stack's infrastructure
 *                               differs from that inventory's (after a migration: old vs new)
 *
 * What the export holds is state (cloud ids, inputs, outputs), not configuration: the cloud
 * facts come from the resources, the application settings from the source stack file, and the
 * target cloud's names from the mapping. Everything pure here is exported for the tests.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";

import * as YAML from "yaml";

import { ROLES, ROLE_NAMES, RoleName } from "../components/roles";
import {
    CONFIG_KEYS,
    flavorSize,
    parseStackConfig,
    PROJECT,
    RawConfig,
    readStackFileAt,
    SECRET_KEYS,
} from "../config";

// ---------------------------------------------------------------------------------------------
// The export, as far as we read it

export interface ExportedResource {
    readonly urn: string;
    readonly type: string;
    readonly custom?: boolean;
    readonly id?: string;
    readonly parent?: string;
    readonly protect?: boolean;
    readonly inputs?: Record<string, unknown>;
    readonly outputs?: Record<string, unknown>;
}

export interface StackExportDoc {
    readonly version?: number;
    readonly deployment: { readonly resources?: readonly ExportedResource[] };
}

// ---------------------------------------------------------------------------------------------
// The inventory

/** A volume's storage class, the same words on every cloud. */
export type VolumeClass = string;

export interface InventoryHost {
    readonly role: RoleName;
    /** Host name without the stack prefix: `web-1` (the VM is `<stack>-web-1`). */
    readonly name: string;
    readonly vcpus: number;
    readonly ramGb: number;
    readonly bootVolumeGb: number;
    /** Has a floating IP (reachable from the Internet). */
    readonly public: boolean;
}

export interface InventoryVolume {
    readonly role: RoleName;
    readonly sizeGb: number;
    readonly class: VolumeClass;
    readonly mountPoint: string;
    /** Protected against deletion by Pulumi (`protect`). */
    readonly protected: boolean;
}

export interface InventoryRule {
    readonly role: RoleName;
    /** What the rule is for: `ssh`, `https`, `basex-http`… */
    readonly name: string;
    readonly protocol: string;
    /** `443`, or a range `8000-8099`. */
    readonly ports: string;
    readonly ethertype: string;
    /** `world`, `subnet` (the stack's private subnet), `group:bastion`, or `cidr:<prefix>`. */
    readonly from: string;
}

export interface Inventory {
    readonly format: "ouvroir-inventory/1";
    /** Where it came from; not part of the infrastructure (ignored when comparing). */
    readonly source: { readonly project: string; readonly stack: string };
    readonly network: {
        readonly cidr: string;
        readonly dnsServers: readonly string[];
        /** The stack used the project's existing network instead of creating one. */
        readonly adopted: boolean;
    };
    /** The login user of every VM (from the sshConfig output). */
    readonly adminUser?: string;
    readonly hosts: readonly InventoryHost[];
    readonly volumes: readonly InventoryVolume[];
    readonly securityRules: readonly InventoryRule[];
    /** Host names the public URLs use (DNS records to move). */
    readonly publicNames: readonly string[];
    /** How many floating IPs the stack holds. */
    readonly publicAddresses: number;
    /**
     * Where backups go: the stack's `backups`/`backup` output, else the `ouvroir:backup` of its
     * stack file (`--source-config`); absent: the stack declares none.
     */
    readonly backups?: unknown;
}

/** Volume types of the Alliance clouds, by class. A mapping file's `volumeTypes` wins. */
export const KNOWN_VOLUME_CLASSES: Readonly<Record<string, VolumeClass>> = {
    "volumes-ssd": "ssd",
    "volumes-ec": "hdd",
    high_performance: "ssd",
    rbd1: "hdd",
};

const ROLE_BY_TOKEN = new Map<string, RoleName>(ROLE_NAMES.map((r) => [ROLES[r].typeToken, r]));

function str(value: unknown): string | undefined {
    return typeof value === "string" ? value : undefined;
}

function num(value: unknown): number | undefined {
    if (typeof value === "number") return value;
    if (typeof value === "string" && /^\d+(\.\d+)?$/.test(value)) return Number(value);
    return undefined;
}

function nameOf(urn: string): string {
    return urn.split("::").pop() ?? "";
}

function props(r: ExportedResource): Record<string, unknown> {
    // Inputs are what the program asked for; outputs fill in what only the cloud knows.
    return { ...(r.outputs ?? {}), ...(r.inputs ?? {}) };
}

function portsOf(min: unknown, max: unknown): string {
    const lo = num(min);
    const hi = num(max) ?? lo;
    if (lo === undefined || lo === 0) return "all";
    return hi === undefined || hi === lo ? String(lo) : `${lo}-${hi}`;
}

function hostOfUrl(url: string): string | undefined {
    try {
        const host = new URL(url).hostname;
        // A bare address is not a name to move: the new floating IP replaces it.
        return /^[\d.]+$/.test(host) || host.includes(":") ? undefined : host;
    } catch {
        return undefined;
    }
}

const roleOrder = (r: RoleName): number => ROLE_NAMES.indexOf(r);

/**
 * Pure: the cloud-neutral inventory of a stack export. `volumeClasses` names the source cloud's
 * volume types (default: the Alliance's, see KNOWN_VOLUME_CLASSES); an unknown type keeps its
 * own name as class, which a mapping can still map.
 */
export function inventoryFromExport(
    doc: StackExportDoc,
    volumeClasses: Readonly<Record<string, VolumeClass>> = {},
    declaredFlavors: Readonly<Record<string, { vcpus: number; ramGb: number }>> = {},
): Inventory {
    const resources = doc.deployment.resources ?? [];
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const classes = { ...KNOWN_VOLUME_CLASSES, ...volumeClasses };

    /** The role whose component a resource sits in (walking up the parents). */
    const roleOf = (r: ExportedResource): RoleName | undefined => {
        for (
            let at: ExportedResource | undefined = r;
            at;
            at = at.parent ? byUrn.get(at.parent) : undefined
        ) {
            const role = ROLE_BY_TOKEN.get(at.type);
            if (role) return role;
        }
        return undefined;
    };
    const ofType = (type: string): ExportedResource[] => resources.filter((r) => r.type === type);

    const stackRes = resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const outputs = stackRes?.outputs ?? {};
    const [, stackName = "", project = PROJECT] =
        /^urn:pulumi:([^:]+)::([^:]+)::/.exec(resources[0]?.urn ?? "") ?? [];

    // Network
    const subnet = ofType("openstack:networking/subnet:Subnet")[0];
    const rules = ofType("openstack:networking/secGroupRule:SecGroupRule");
    const privateRule = rules.find((r) =>
        / from private$/.test(str(props(r)["description"]) ?? ""),
    );
    const cidr =
        str(subnet && props(subnet)["cidr"]) ??
        str(privateRule && props(privateRule)["remoteIpPrefix"]) ??
        "";
    const dns = subnet ? props(subnet)["dnsNameservers"] : undefined;
    const network = {
        cidr,
        dnsServers: Array.isArray(dns) ? dns.filter((d): d is string => typeof d === "string") : [],
        adopted: subnet === undefined,
    };

    // Floating IPs: which roles are public
    const fips = ofType("openstack:networking/floatingIp:FloatingIp");
    const publicRoles = new Set(
        [...fips, ...ofType("openstack:networking/floatingIpAssociate:FloatingIpAssociate")]
            .map(roleOf)
            .filter((r): r is RoleName => r !== undefined),
    );

    // Hosts
    const hosts: InventoryHost[] = [];
    for (const inst of ofType("openstack:compute/instance:Instance")) {
        const p = props(inst);
        const meta = (p["metadata"] ?? {}) as Record<string, unknown>;
        const role = roleOf(inst) ?? (str(meta["ouvroir-role"]) as RoleName | undefined);
        if (role === undefined) continue;
        const flavor = str(p["flavorName"]) ?? "";
        const size = flavorSize(flavor, declaredFlavors);
        if (size === undefined) {
            throw new Error(
                `instance ${nameOf(inst.urn)}: flavor "${flavor}" has no size; declare it in the source ` +
                    "mapping's flavors ({name: {vcpus, ramGb}}).",
            );
        }
        const devices = Array.isArray(p["blockDevices"])
            ? (p["blockDevices"] as Record<string, unknown>[])
            : [];
        const boot = devices.find((d) => num(d["bootIndex"]) === 0);
        const hostname = str(p["name"]) ?? nameOf(inst.urn);
        hosts.push({
            role,
            name:
                stackName && hostname.startsWith(`${stackName}-`)
                    ? hostname.slice(stackName.length + 1)
                    : hostname,
            vcpus: size.vcpus,
            ramGb: size.ramGb,
            bootVolumeGb: num(boot?.["volumeSize"]) ?? 0,
            public: publicRoles.has(role),
        });
    }
    hosts.sort((a, b) => roleOrder(a.role) - roleOrder(b.role) || a.name.localeCompare(b.name));

    // Volumes (Nova makes the boot volumes from blockDevices: they are not resources)
    const volumes: InventoryVolume[] = [];
    for (const vol of ofType("openstack:blockstorage/volume:Volume")) {
        const p = props(vol);
        const role = roleOf(vol);
        if (role === undefined || nameOf(vol.urn).endsWith("-boot")) continue;
        const type = str(p["volumeType"]) ?? "";
        const mount = /\((\/[^)]*)\)/.exec(str(p["description"]) ?? "")?.[1];
        volumes.push({
            role,
            sizeGb: num(p["size"]) ?? 0,
            class: classes[type] ?? type,
            mountPoint: mount ?? ROLES[role].dataMountPoint,
            protected: vol.protect === true,
        });
    }
    volumes.sort((a, b) => roleOrder(a.role) - roleOrder(b.role));

    // Security rules
    const groupName = new Map<string, string>();
    for (const sg of ofType("openstack:networking/secGroup:SecGroup")) {
        if (sg.id === undefined) continue;
        const role = roleOf(sg);
        groupName.set(
            sg.id,
            role ? `group:${role}` : `group:${nameOf(sg.urn).replace(/^.*-/, "")}`,
        );
    }
    const securityRules: InventoryRule[] = [];
    for (const rule of rules) {
        const p = props(rule);
        const role = roleOf(rule);
        if (role === undefined || str(p["direction"]) !== "ingress") continue;
        const prefix = str(p["remoteIpPrefix"]);
        const group = str(p["remoteGroupId"]);
        const from =
            prefix && /\/0$/.test(prefix)
                ? "world"
                : prefix && prefix === cidr
                  ? "subnet"
                  : prefix
                    ? `cidr:${prefix}`
                    : group
                      ? (groupName.get(group) ?? "group:unknown")
                      : "world";
        const description = str(p["description"]);
        const name = description?.split(" from ")[0] ?? nameOf(rule.urn).replace(`${role}-`, "");
        securityRules.push({
            role,
            name,
            protocol: str(p["protocol"]) ?? "any",
            ports: portsOf(p["portRangeMin"], p["portRangeMax"]),
            ethertype: str(p["ethertype"]) ?? "IPv4",
            from,
        });
    }
    const ruleKey = (r: InventoryRule): string => `${r.name} ${r.ports} ${r.ethertype} ${r.from}`;
    securityRules.sort(
        (a, b) => roleOrder(a.role) - roleOrder(b.role) || ruleKey(a).localeCompare(ruleKey(b)),
    );

    // Public names, login user, backups
    const endpoints = (outputs["endpoints"] ?? {}) as Record<string, unknown>;
    const publicNames = [
        ...new Set(
            // Public URLs only: a tunnel's local end (http://localhost:…) is no DNS record.
            Object.values(endpoints).map((u) =>
                typeof u === "string" && u.startsWith("https://") ? hostOfUrl(u) : undefined,
            ),
        ),
    ]
        .filter((h): h is string => h !== undefined)
        .sort();
    const adminUser = /^\s*User (\S+)/m.exec(str(outputs["sshConfig"]) ?? "")?.[1];
    const backups = outputs["backups"] ?? outputs["backup"];

    return {
        format: "ouvroir-inventory/1",
        source: { project, stack: stackName },
        network,
        ...(adminUser ? { adminUser } : {}),
        hosts,
        volumes,
        securityRules,
        publicNames,
        publicAddresses: fips.length,
        ...(backups !== undefined ? { backups } : {}),
    };
}

/** Pure: the inventory with its backup target taken from the stack file when the state lacks it. */
export function withBackupsFrom(inv: Inventory, stackRaw: RawConfig): Inventory {
    const backup = stackRaw["backup"];
    if (inv.backups !== undefined || typeof backup !== "object" || backup === null) return inv;
    if (Object.keys(backup).length === 0) return inv;
    return { ...inv, backups: backup };
}

/** The inventory without where it came from: what must be equal after a migration. */
export function infrastructureOf(inv: Inventory): Omit<Inventory, "source"> {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { source, ...rest } = inv;
    return rest;
}

/** Pure: what differs between two inventories' infrastructure, one line per difference. */
export function inventoryDifferences(before: Inventory, after: Inventory): string[] {
    const a = infrastructureOf(before) as Record<string, unknown>;
    const b = infrastructureOf(after) as Record<string, unknown>;
    const out: string[] = [];
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])]) {
        const left = a[key];
        const right = b[key];
        if (JSON.stringify(left) === JSON.stringify(right)) continue;
        if (Array.isArray(left) && Array.isArray(right)) {
            const before = out.length;
            const l = new Set(left.map((x) => JSON.stringify(x)));
            const r = new Set(right.map((x) => JSON.stringify(x)));
            for (const x of l) if (!r.has(x)) out.push(`${key}: only before: ${x}`);
            for (const x of r) if (!l.has(x)) out.push(`${key}: only after: ${x}`);
            if (out.length === before) out.push(`${key}: same entries, different order`);
        } else {
            out.push(`${key}: ${JSON.stringify(left)} → ${JSON.stringify(right)}`);
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Mapping to a target cloud

/** A cloud described for the migration (YAML or JSON file). */
export interface CloudMapping {
    /** A name for humans: `arbutus`. */
    readonly cloud?: string;
    /** External network for the router and the floating IP (Arbutus: `Public-Network`). */
    readonly externalNetwork?: string;
    /** The project's existing network and subnet to adopt, instead of creating them. */
    readonly existingNetwork?: { readonly networkId: string; readonly subnetId: string };
    /** Image selection on this cloud (`ouvroir:image`); absent: the program's default. */
    readonly image?: {
        readonly id?: string;
        readonly name?: string;
        readonly namePattern?: string;
    };
    /** Volume class → this cloud's volume type, e.g. `{ssd: high_performance, hdd: rbd1}`. */
    readonly volumeTypes: Readonly<Record<VolumeClass, string>>;
    /**
     * Flavors to choose from: names of the `p<vCPU>-<RAM>gb` kind, or name → `{vcpus, ramGb}`
     * for other names. Absent: keep the source's `p` flavor names (same on every Alliance cloud).
     */
    readonly flavors?:
        readonly string[] | Readonly<Record<string, { vcpus: number; ramGb: number }>>;
    readonly dnsServers?: readonly string[];
    /** The target project's quota (`ouvroir:allocation`); absent: the RAS default. */
    readonly allocation?: Readonly<Record<string, number>>;
}

export function readMapping(file: string): CloudMapping {
    const doc = YAML.parse(fs.readFileSync(file, "utf8")) as CloudMapping | null;
    if (!doc || typeof doc !== "object" || typeof doc.volumeTypes !== "object") {
        throw new Error(`${file}: a mapping needs at least volumeTypes: {<class>: <volume type>}`);
    }
    return doc;
}

/** Class of each of a mapping's volume types (its `volumeTypes`, reversed). */
export function volumeClassesOf(mapping: CloudMapping | undefined): Record<string, VolumeClass> {
    return Object.fromEntries(
        Object.entries(mapping?.volumeTypes ?? {}).map(([cls, type]) => [type, cls]),
    );
}

/** Flavor sizes a mapping declares for names outside the `p<N>-<M>gb` scheme. */
export function declaredFlavorsOf(
    mapping: CloudMapping | undefined,
): Record<string, { vcpus: number; ramGb: number }> {
    const f = mapping?.flavors;
    return f && !Array.isArray(f)
        ? { ...(f as Record<string, { vcpus: number; ramGb: number }>) }
        : {};
}

/** Pure: the smallest flavor of the mapping that fits a host (exact size first). */
export function chooseFlavor(
    host: InventoryHost,
    mapping: CloudMapping,
    sourceFlavor?: string,
): string {
    const candidates: { name: string; vcpus: number; ramGb: number }[] = [];
    const f = mapping.flavors;
    if (f === undefined) {
        if (sourceFlavor && /^p\d/.test(sourceFlavor)) return sourceFlavor;
        throw new Error(
            `no flavors in the mapping for ${host.role} (${host.vcpus} vCPU, ${host.ramGb} GB)`,
        );
    }
    const declared = declaredFlavorsOf(mapping);
    for (const name of Array.isArray(f) ? (f as string[]) : Object.keys(f)) {
        const size = flavorSize(name, declared);
        if (size && size.kind !== "compute")
            candidates.push({ name, vcpus: size.vcpus, ramGb: size.ramGb });
    }
    const fitting = candidates
        .filter((c) => c.vcpus >= host.vcpus && c.ramGb >= host.ramGb)
        .sort((a, b) => a.vcpus - b.vcpus || a.ramGb - b.ramGb);
    const choice = fitting[0];
    if (!choice) {
        throw new Error(
            `no flavor of the mapping fits ${host.role} (${host.vcpus} vCPU, ${host.ramGb} GB): ` +
                `add one to flavors (have: ${candidates.map((c) => c.name).join(", ")})`,
        );
    }
    return choice.name;
}

/** Keys that describe the source cloud and are recomputed for the target. */
const CLOUD_KEYS = [
    "externalNetwork",
    "existingNetwork",
    "image",
    "volumeTypes",
    "flavors",
    "allocation",
    "sharesAllocationWith",
    "rebuild",
    "privateCidr",
    "dnsServers",
    "adminCidrs",
    "bootVolumeGb",
    "roles",
    "protectData",
] as const;

export interface GeneratedStack {
    /** `ouvroir:*` values without the namespace, validated by config.ts. */
    readonly raw: RawConfig;
    /** Things a human must check (bigger flavors, unknown classes…). */
    readonly notes: string[];
}

/**
 * Pure: the new stack's configuration. Cloud facts come from the inventory mapped onto the target
 * cloud; application settings (sites, researchers, keys, hostnames…) from the source stack file.
 * Throws when the result does not pass config.ts's validation.
 */
export function stackConfigFor(
    inv: Inventory,
    mapping: CloudMapping,
    sourceRaw: RawConfig,
    newStack: string,
): GeneratedStack {
    const notes: string[] = [];
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(sourceRaw)) {
        if (typeof value === "object" && value !== null && "secure" in value) {
            // Encrypted with the source stack's key: meaningless in the new stack.
            notes.push(
                `ouvroir:${key} is a secret: set it again with \`pulumi config set --secret ouvroir:${key} --stack ${newStack}\`.`,
            );
        } else if (!(CLOUD_KEYS as readonly string[]).includes(key)) {
            raw[key] = value;
        }
    }

    if (mapping.externalNetwork) raw["externalNetwork"] = mapping.externalNetwork;
    if (mapping.existingNetwork) raw["existingNetwork"] = { ...mapping.existingNetwork };
    if (mapping.image) raw["image"] = { ...mapping.image };
    if (mapping.allocation) raw["allocation"] = { ...mapping.allocation };
    const declared = declaredFlavorsOf(mapping);
    if (Object.keys(declared).length > 0) raw["flavors"] = declared;
    if (inv.network.cidr) raw["privateCidr"] = inv.network.cidr;
    const dns = mapping.dnsServers ?? inv.network.dnsServers;
    if (dns.length > 0) raw["dnsServers"] = [...dns];

    const adminCidrs = inv.securityRules
        .filter((r) => r.role === "web" && r.name === "ssh" && r.from.startsWith("cidr:"))
        .map((r) => r.from.slice("cidr:".length));
    raw["adminCidrs"] = [...new Set(adminCidrs)];

    const boot = Math.max(0, ...inv.hosts.map((h) => h.bootVolumeGb));
    if (boot > 0) raw["bootVolumeGb"] = boot;

    const sourceRoles = (sourceRaw["roles"] ?? {}) as Record<
        string,
        { flavor?: string } | undefined
    >;
    const usedTypes = new Set<string>();
    const roles: Record<string, Record<string, unknown>> = {};
    for (const host of inv.hosts) {
        const flavor = chooseFlavor(host, mapping, sourceRoles[host.role]?.flavor);
        const size = flavorSize(flavor, declared);
        if (size && (size.vcpus !== host.vcpus || size.ramGb !== host.ramGb)) {
            notes.push(
                `${host.role}: no ${host.vcpus} vCPU / ${host.ramGb} GB flavor; ${flavor} is larger.`,
            );
        }
        const entry: Record<string, unknown> = { flavor };
        const volume = inv.volumes.find((v) => v.role === host.role);
        if (volume) {
            const type = mapping.volumeTypes[volume.class];
            if (type === undefined) {
                throw new Error(
                    `the mapping has no volume type for class "${volume.class}" (${host.role}'s data): ` +
                        `add it to volumeTypes (have: ${Object.keys(mapping.volumeTypes).join(", ")})`,
                );
            }
            usedTypes.add(type);
            entry["dataVolumeGb"] = volume.sizeGb;
            entry["dataVolumeType"] = type;
        }
        roles[host.role] = entry;
    }
    raw["roles"] = roles;
    // The allowed list: every type of the mapping, the ones in use first.
    raw["volumeTypes"] = [...new Set([...usedTypes, ...Object.values(mapping.volumeTypes)])];
    raw["protectData"] = inv.volumes.length > 0 && inv.volumes.every((v) => v.protected);
    const backup = raw["backup"] as { endpoint?: string } | undefined;
    if (backup?.endpoint && mapping.cloud && backup.endpoint.includes(mapping.cloud)) {
        notes.push(
            `ouvroir:backup still points to ${backup.endpoint}, on the target cloud itself: ` +
                "choose an off-site bucket (another site) for the new stack.",
        );
    }
    if (inv.adminUser && raw["adminUser"] === undefined && inv.adminUser !== "debian") {
        raw["adminUser"] = inv.adminUser;
    }

    for (const key of Object.keys(raw)) {
        if (!(CONFIG_KEYS as string[]).includes(key)) {
            notes.push(
                `ouvroir:${key} from the source stack file is not a key of this program: dropped.`,
            );
            delete raw[key];
        }
    }
    if (raw["backup"] !== undefined && Object.keys(raw["backup"] as object).length > 0) {
        for (const key of ["backupAccessKeyId", "backupSecretAccessKey"]) {
            if (!notes.some((n) => n.startsWith(`ouvroir:${key} `))) {
                notes.push(
                    `ouvroir:${key} must be set: \`pulumi config set --secret ouvroir:${key} --stack ${newStack}\`.`,
                );
            }
        }
    }
    // Throws ConfigError with every problem, each naming the key and the fix. Secrets are set
    // later by the operator (the notes say which): validate as if they were, like config.ts does.
    const secretsSet = Object.fromEntries(SECRET_KEYS.map((k) => [k, "(secret)"]));
    parseStackConfig(newStack, { ...raw, ...secretsSet });
    return { raw, notes };
}

/** Pure: the stack file's text, keys in the order of Pulumi.yaml. */
export function renderStackFile(
    raw: RawConfig,
    header: {
        readonly sourceStack: string;
        readonly cloud?: string;
        readonly notes: readonly string[];
    },
): string {
    const config: Record<string, unknown> = {};
    for (const key of CONFIG_KEYS) {
        if (raw[key] !== undefined) config[`${PROJECT}:${key}`] = raw[key];
    }
    const lines = [
        `# Generated by tools/export-inventory.ts from the state of stack '${header.sourceStack}'` +
            (header.cloud ? `, for ${header.cloud}.` : "."),
        "# Review it, then `pulumi stack init <stack>` (which adds the encryption salt) and preview.",
        ...header.notes.map((n) => `# NOTE: ${n}`),
    ];
    return `${lines.join("\n")}\n${YAML.stringify({ config }, { lineWidth: 0 })}`;
}

// ---------------------------------------------------------------------------------------------
// Command line

interface Options {
    input?: string;
    inventory?: string;
    mapping?: string;
    sourceMapping?: string;
    stack?: string;
    sourceConfig?: string;
    out?: string;
    compare?: string;
    force: boolean;
}

function parseArgs(argv: readonly string[]): Options {
    const opts: Options = { force: false };
    const valueOf = (i: number, flag: string): string => {
        const v = argv[i + 1];
        if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
        return v;
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i] ?? "";
        switch (a) {
            case "--inventory":
                opts.inventory = valueOf(i++, a);
                break;
            case "--mapping":
                opts.mapping = valueOf(i++, a);
                break;
            case "--source-mapping":
                opts.sourceMapping = valueOf(i++, a);
                break;
            case "--stack":
                opts.stack = valueOf(i++, a);
                break;
            case "--source-config":
                opts.sourceConfig = valueOf(i++, a);
                break;
            case "--out":
                opts.out = valueOf(i++, a);
                break;
            case "--compare":
                opts.compare = valueOf(i++, a);
                break;
            case "--force":
                opts.force = true;
                break;
            case "-h":
            case "--help":
                throw new Error("usage");
            default:
                if (a.startsWith("--") || opts.input !== undefined)
                    throw new Error(`unexpected argument ${a}`);
                opts.input = a;
        }
    }
    if (opts.mapping && !opts.stack) throw new Error("--mapping needs --stack <new stack name>");
    return opts;
}

function readExport(input: string | undefined): StackExportDoc {
    let text: string;
    if (input === undefined || input === "-") {
        text = fs.readFileSync(0, "utf8");
    } else if (fs.existsSync(input)) {
        text = fs.readFileSync(input, "utf8");
    } else if (/^[\w./-]+$/.test(input)) {
        // A stack name: ask the CLI (logged in to the stack's backend) for its state.
        try {
            text = execFileSync("pulumi", ["stack", "export", "--stack", input], {
                encoding: "utf8",
                maxBuffer: 256 * 1024 * 1024,
            });
        } catch (err) {
            const why =
                (err as NodeJS.ErrnoException).code === "ENOENT"
                    ? "the pulumi CLI is not installed"
                    : (err as Error).message;
            throw new Error(
                `${input} is not a file, and \`pulumi stack export --stack ${input}\` failed (${why}); ` +
                    "pass the file written by `pulumi stack export --file <file>` instead",
            );
        }
    } else {
        throw new Error(`${input}: no such file`);
    }
    let doc: StackExportDoc;
    try {
        doc = JSON.parse(text) as StackExportDoc;
    } catch {
        throw new Error(
            `${input === undefined || input === "-" ? "stdin" : input} is not JSON from \`pulumi stack export\`${text.trim() === "" ? " (it is empty)" : ""}`,
        );
    }
    if (!doc?.deployment)
        throw new Error("not the output of `pulumi stack export` (no deployment)");
    return doc;
}

function writeData(file: string, data: unknown): void {
    const text = /\.json$/i.test(file)
        ? `${JSON.stringify(data, null, 2)}\n`
        : YAML.stringify(data, { lineWidth: 0 });
    fs.writeFileSync(file, text);
}

export function main(argv: readonly string[]): number {
    let opts: Options;
    const usage = (fs.readFileSync(__filename, "utf8").split("*/")[0] ?? "") + "*/\n";
    try {
        opts = parseArgs(argv);
    } catch (err) {
        if ((err as Error).message === "usage") {
            process.stdout.write(usage);
            return 0;
        }
        process.stderr.write(`${(err as Error).message}\n${usage}`);
        return 2;
    }
    if ((opts.input === undefined || opts.input === "-") && process.stdin.isTTY) {
        // Nothing piped in: say what to give rather than wait on the terminal.
        process.stderr.write(`no stack export given (a file, a stack name, or on stdin)\n${usage}`);
        return 2;
    }
    const sourceMapping = opts.sourceMapping ? readMapping(opts.sourceMapping) : undefined;
    const fromState = inventoryFromExport(
        readExport(opts.input),
        volumeClassesOf(sourceMapping),
        declaredFlavorsOf(sourceMapping),
    );
    // The stack file holds what the state does not: application settings, the backup target.
    const sourceConfig = opts.sourceConfig ?? `Pulumi.${fromState.source.stack}.yaml`;
    const sourceRaw = fs.existsSync(sourceConfig) ? readStackFileAt(sourceConfig) : {};
    const inv = withBackupsFrom(fromState, sourceRaw);
    if (opts.inventory) {
        writeData(opts.inventory, inv);
        process.stderr.write(
            `inventory of stack '${inv.source.stack}' written to ${opts.inventory}\n`,
        );
    } else {
        process.stdout.write(YAML.stringify(inv, { lineWidth: 0 }));
    }
    if (opts.compare) {
        const text = fs.readFileSync(opts.compare, "utf8");
        const before = (
            /\.json$/i.test(opts.compare) ? JSON.parse(text) : YAML.parse(text)
        ) as Inventory;
        const diff = inventoryDifferences(before, inv);
        if (diff.length > 0) {
            process.stderr.write(
                `${opts.compare} (${before.source.stack}) and ${inv.source.stack} differ:\n`,
            );
            for (const d of diff) process.stderr.write(`  ${d}\n`);
            return 1;
        }
        process.stderr.write(
            `${inv.source.stack} has the infrastructure of ${before.source.stack}: same inventory\n`,
        );
    }
    if (opts.mapping && opts.stack) {
        const mapping = readMapping(opts.mapping);
        const generated = stackConfigFor(inv, mapping, sourceRaw, opts.stack);
        if (!fs.existsSync(sourceConfig)) {
            generated.notes.push(
                `${sourceConfig} not found: sites, researchers and SSH keys are not carried over.`,
            );
        }
        const out = opts.out ?? `Pulumi.${opts.stack}.yaml`;
        if (fs.existsSync(out) && !opts.force) {
            process.stderr.write(
                `${out} exists: not overwritten (use --force, or --out another file)\n`,
            );
            return 1;
        }
        fs.writeFileSync(
            out,
            renderStackFile(generated.raw, {
                sourceStack: inv.source.stack,
                cloud: mapping.cloud,
                notes: generated.notes,
            }),
        );
        process.stderr.write(`${out} written for ${mapping.cloud ?? "the target cloud"}\n`);
        for (const n of generated.notes) process.stderr.write(`note: ${n}\n`);
    }
    return 0;
}

if (require.main === module) {
    try {
        process.exitCode = main(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`export-inventory: ${(err as Error).message}\n`);
        process.exitCode = 1;
    }
}
