/**
 * The Alliance cloud's security policy and our data rules, as pure functions over the
 * resources the Pulumi engine shows a policy pack. Each `*Violations` function returns the
 * messages to report (empty when the resource complies), so jest calls them without the CLI;
 * `policies` wires them into `@pulumi/policy` objects and `index.ts` builds the pack.
 *
 * Properties are the program's inputs, with the SDK's camelCase names (`remoteIpPrefix`,
 * `blockDevices`). During a preview some inputs are still unknown (an id of a resource not yet
 * created); reading one throws `UnknownValueError`, which the policy server turns into an
 * advisory "cannot run during preview" message. The rules read only what they need, and test
 * for presence with `in` (which never throws), so a rule with a remote group is judged even when
 * the group's id is unknown.
 */
import {
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    UnknownValueError,
} from "@pulumi/policy";

import { ROLES, ROLE_NAMES, RoleName } from "../components/roles";

export const TYPES = {
    secGroupRule: "openstack:networking/secGroupRule:SecGroupRule",
    floatingIp: "openstack:networking/floatingIp:FloatingIp",
    floatingIpAssociate: "openstack:networking/floatingIpAssociate:FloatingIpAssociate",
    // The deprecated compute.* variants still exist in @pulumi/openstack 3.x: count them too.
    computeFloatingIp: "openstack:compute/floatingIp:FloatingIp",
    computeFloatingIpAssociate: "openstack:compute/floatingIpAssociate:FloatingIpAssociate",
    volume: "openstack:blockstorage/volume:Volume",
    instance: "openstack:compute/instance:Instance",
} as const;

/** Ports the Alliance names as never public, with the name a reader recognises. */
export const NAMED_PORTS: Readonly<Record<number, string>> = {
    22: "SSH",
    1984: "BaseX server",
    3306: "MariaDB/MySQL",
    5432: "PostgreSQL",
    8080: "BaseX HTTP / Tomcat",
    8182: "Cantaloupe",
};

/** The only ports that may be reached from the whole Internet (HTTP redirects to HTTPS). */
export const WORLD_PORTS: readonly number[] = [80, 443];

/**
 * Stacks whose data volumes must be protected: each name, and the stacks named `<name>-…` (so
 * `prod-arbutus`, the prod stack on a migration's target cloud, is protected too).
 */
export const PROTECTED_STACKS: readonly string[] = ["prod"];

export function isProtectedStack(stack: string, protectedStacks: readonly string[]): boolean {
    return protectedStacks.some((p) => stack === p || stack.startsWith(`${p}-`));
}

/**
 * Floating IPs per stack. The RAS allocation has 2 for the whole project, and dev and prod share
 * it: one each, on the web server. Raise it with the policy config `maxFloatingIps`.
 */
export const DEFAULT_MAX_FLOATING_IPS = 1;

/** A resource as the rules see it: what both resource and stack validation provide. */
export interface PolicyView {
    readonly type: string;
    /** Logical (Pulumi) name. */
    readonly name: string;
    readonly urn: string;
    readonly props: Record<string, unknown>;
    readonly protect?: boolean;
}

const UNKNOWN = Symbol("unknown during preview");

/** A property's value, `undefined` when absent, `UNKNOWN` when the preview cannot know it. */
function peek(props: Record<string, unknown>, key: string): unknown {
    if (!(key in props)) {
        return undefined;
    }
    try {
        return props[key];
    } catch (err) {
        if (err instanceof UnknownValueError) {
            return UNKNOWN;
        }
        throw err;
    }
}

/** A value that says "nothing here": absent, null or an empty string (the provider's unset). */
function isUnset(value: unknown): boolean {
    return value === undefined || value === null || value === "";
}

/** The stack a URN belongs to: `urn:pulumi:<stack>::<project>::<types>::<name>`. */
export function stackOfUrn(urn: string): string {
    const head = urn.split("::")[0] ?? "";
    return head.startsWith("urn:pulumi:") ? head.slice("urn:pulumi:".length) : "";
}

/**
 * The role a resource belongs to: first from its parents' type tokens in the URN
 * (`ouvroir:vm:WebServerVM$openstack:...`), innermost first, then from its logical name
 * (`${stack}-${short}-...` or `${short}-...`, see the role specs in components/roles/). `undefined` when neither
 * says.
 */
export function roleOf(name: string, urn: string): RoleName | undefined {
    const typeChain = (urn.split("::")[2] ?? "").split("$").reverse();
    for (const token of typeChain) {
        const role = ROLE_NAMES.find((r) => ROLES[r].typeToken === token);
        if (role !== undefined) {
            return role;
        }
    }
    const stack = stackOfUrn(urn);
    const rest = stack !== "" && name.startsWith(`${stack}-`) ? name.slice(stack.length + 1) : name;
    const first = rest.split("-")[0] ?? "";
    return ROLE_NAMES.find((r) => ROLES[r].short === first);
}

function describePorts(min: number | undefined, max: number | undefined): string {
    if (min === undefined) {
        return "every port";
    }
    const top = max ?? min;
    const named = Object.entries(NAMED_PORTS)
        .filter(([port]) => Number(port) >= min && Number(port) <= top)
        .map(([port, what]) => `${what} (${port})`);
    if (top === min) {
        return named[0] ?? `port ${min}`;
    }
    const range = `ports ${min}-${top}`;
    return named.length > 0 ? `${range}, including ${named.join(", ")}` : range;
}

function portOf(value: unknown): number | undefined {
    if (typeof value === "number" && value > 0) {
        return value;
    }
    if (typeof value === "string" && /^\d+$/.test(value) && Number(value) > 0) {
        return Number(value);
    }
    // Absent, or 0 (the provider's "any"): the rule covers every port.
    return undefined;
}

/**
 * Whether a security-group rule admits the whole Internet: a `/0` prefix (IPv4 or IPv6) or one
 * nearly as broad, or no prefix and no remote group at all (OpenStack then admits every address).
 */
export function opensToWorld(props: Record<string, unknown>): boolean {
    const prefix = peek(props, "remoteIpPrefix");
    if (prefix === UNKNOWN) {
        // Cannot judge yet: read it again without catching, so the policy server reports the
        // rule as "cannot run during preview" instead of passing it.
        void props["remoteIpPrefix"];
        return true;
    }
    if (typeof prefix === "string" && prefix !== "") {
        const p = prefix.trim();
        if (p === "0.0.0.0" || p === "::") return true;
        const bits = /\/(\d+)$/.exec(p)?.[1];
        // A /1 or a /7 is the world in all but name (0.0.0.0/1 + 128.0.0.0/1 is all of IPv4):
        // anything broader than a /8 (IPv4) or a /16 (IPv6) counts as public.
        return bits !== undefined && Number(bits) < (p.includes(":") ? 16 : 8);
    }
    const group = peek(props, "remoteGroupId");
    return isUnset(group);
}

/**
 * Rule `no-public-admin-ports`: an ingress rule open to the world may only carry TCP 80 or
 * 443, and only on the web server (the one public role).
 */
export function secGroupRuleViolations(rule: PolicyView): string[] {
    const direction = peek(rule.props, "direction");
    if (direction !== "ingress" || !opensToWorld(rule.props)) {
        return [];
    }
    const prefix = peek(rule.props, "remoteIpPrefix");
    const source = isUnset(prefix) ? "any address (no prefix, no group)" : String(prefix);
    const protocol = peek(rule.props, "protocol");
    const min = portOf(peek(rule.props, "portRangeMin"));
    const max = portOf(peek(rule.props, "portRangeMax")) ?? min;
    const tcp = protocol === "tcp" || protocol === "6";
    const webPortOnly = tcp && min !== undefined && min === max && WORLD_PORTS.includes(min);
    if (!webPortOnly) {
        const proto = isUnset(protocol) ? "every protocol" : String(protocol);
        return [
            `Security-group rule '${rule.name}' opens ${describePorts(min, max)} (${proto}) to ` +
                `${source}. Alliance policy: only TCP 80 and 443 may be public; SSH, databases ` +
                "and service ports must be limited to admin CIDRs or a remote security group.",
        ];
    }
    const role = roleOf(rule.name, rule.urn);
    if (role === undefined || !ROLES[role].public) {
        return [
            `Security-group rule '${rule.name}' opens port ${min} to ${source}, but it belongs ` +
                `to ${role === undefined ? "no known role" : `the '${role}' role`}: only the web ` +
                "server is public; other roles are reached through its reverse proxy.",
        ];
    }
    return [];
}

const FLOATING_IP_TYPES: readonly string[] = [TYPES.floatingIp, TYPES.computeFloatingIp];
const FLOATING_ASSOC_TYPES: readonly string[] = [
    TYPES.floatingIpAssociate,
    TYPES.computeFloatingIpAssociate,
];

/**
 * Rule `floating-ips-web-only`: every floating IP (and association) belongs to the web server,
 * and the stack holds no more of them than `maxFloatingIps`. Returns `[message, urn?]` pairs so
 * the stack policy can point at the offending resource.
 */
export function floatingIpViolations(
    resources: readonly PolicyView[],
    maxFloatingIps: number,
): [string, string | undefined][] {
    const out: [string, string | undefined][] = [];
    const ips = resources.filter((r) => FLOATING_IP_TYPES.includes(r.type));
    const assocs = resources.filter((r) => FLOATING_ASSOC_TYPES.includes(r.type));
    for (const r of [...ips, ...assocs]) {
        const role = roleOf(r.name, r.urn);
        if (role === undefined || !ROLES[role].public) {
            out.push([
                `Floating IP resource '${r.name}' belongs to ` +
                    `${role === undefined ? "no known role" : `the '${role}' role`}: only the web ` +
                    "server gets a public address (name it `<stack>-web-...` or create it inside " +
                    "the WebServerVM component).",
                r.urn,
            ]);
        }
    }
    // An association may reuse an address allocated outside the stack, so count whichever is
    // larger: addresses held, or ports given one.
    const used = Math.max(ips.length, assocs.length);
    if (used > maxFloatingIps) {
        out.push([
            `The stack uses ${used} floating IPs; the allocation leaves it ${maxFloatingIps} ` +
                "(RAS: 2 per project, shared by dev and prod). Reach private VMs through the web " +
                "server, or raise `maxFloatingIps` after a RAC request.",
            undefined,
        ]);
    }
    return out;
}

/** A boot volume, by the program's naming (`...-boot`), in its logical or cloud name. */
export function isBootVolume(volume: PolicyView): boolean {
    const cloudName = peek(volume.props, "name");
    return (
        volume.name.endsWith("-boot") ||
        (typeof cloudName === "string" && cloudName.endsWith("-boot"))
    );
}

/** Rule `prod-data-volumes-protected`: in a protected stack, every data volume has `protect`. */
export function volumeProtectionViolations(
    volume: PolicyView,
    protectedStacks: readonly string[] = PROTECTED_STACKS,
): string[] {
    const stack = stackOfUrn(volume.urn);
    if (
        !isProtectedStack(stack, protectedStacks) ||
        isBootVolume(volume) ||
        volume.protect === true
    ) {
        return [];
    }
    return [
        `Data volume '${volume.name}' in stack '${stack}' is not protected: set ` +
            "`ouvroir:protectData: true` (the default) so `pulumi destroy` or a replacement cannot " +
            "delete research data.",
    ];
}

/** The persistent flavors (`p<vCPU>-<RAM>gb`) have no root disk. */
export function isPersistentFlavor(flavorName: unknown): boolean {
    return typeof flavorName === "string" && /^p\d+-[\d.]+gb$/.test(flavorName);
}

/**
 * Rule `p-flavors-boot-from-volume`: an instance on a `p` flavor has a block device with boot
 * index 0 whose destination is a volume (from an image or an existing volume).
 */
export function bootFromVolumeViolations(instance: PolicyView): string[] {
    const flavor = peek(instance.props, "flavorName");
    if (!isPersistentFlavor(flavor)) {
        return [];
    }
    const devices = peek(instance.props, "blockDevices");
    const list = Array.isArray(devices) ? (devices as Record<string, unknown>[]) : [];
    const bootsFromVolume = list.some((d) => {
        const index = peek(d, "bootIndex");
        return (
            (index === 0 || index === "0") &&
            peek(d, "destinationType") === "volume" &&
            ["volume", "image"].includes(String(peek(d, "sourceType")))
        );
    });
    if (bootsFromVolume) {
        return [];
    }
    return [
        `Instance '${instance.name}' uses persistent flavor '${String(flavor)}', which has no ` +
            'root disk: give it a block device with `bootIndex: 0`, `destinationType: "volume"` ' +
            'and `sourceType` "image" or "volume" (see `ouvroir:bootVolumeGb`).',
    ];
}

/** Rule `instances-named`: the cloud name is explicit (it becomes the hostname). */
export function instanceNameViolations(instance: PolicyView): string[] {
    const name = peek(instance.props, "name");
    if (typeof name === "string" && name.trim() !== "") {
        return [];
    }
    return [
        `Instance '${instance.name}' has no explicit \`name\`: the provider would invent ` +
            "'<logical>-<random>', which becomes the hostname. Set it from the naming function.",
    ];
}

/** The policy pack's configuration (`pulumi preview --policy-pack-config <file>`). */
export interface PackConfig {
    readonly maxFloatingIps?: number;
    readonly protectedStacks?: string[];
}

function viewOf(args: ResourceValidationArgs): PolicyView {
    return {
        type: args.type,
        name: args.name,
        urn: args.urn,
        props: args.props,
        protect: args.opts.protect,
    };
}

/** Wraps a pure rule into a resource validation that runs on one type only. */
function onType(
    type: string,
    rule: (view: PolicyView, args: ResourceValidationArgs) => string[],
): (args: ResourceValidationArgs, report: ReportViolation) => void {
    return (args, report) => {
        if (args.type !== type) {
            return;
        }
        for (const message of rule(viewOf(args), args)) {
            report(message);
        }
    };
}

export const noPublicAdminPorts: ResourceValidationPolicy = {
    name: "no-public-admin-ports",
    description:
        "Only TCP 80/443 on the web server may be open to 0.0.0.0/0 or ::/0 (Alliance security " +
        "policy: never SSH, database or service ports).",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: onType(TYPES.secGroupRule, (view) => secGroupRuleViolations(view)),
};

export const floatingIpsWebOnly: StackValidationPolicy = {
    name: "floating-ips-web-only",
    description:
        "Only the web server gets a floating IP, and the stack stays within its share of the " +
        "allocation's floating IPs.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: {
        properties: {
            maxFloatingIps: { type: "integer", minimum: 0, default: DEFAULT_MAX_FLOATING_IPS },
        },
    },
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const config = args.getConfig<PackConfig>();
        const views: PolicyView[] = args.resources.map((r) => ({
            type: r.type,
            name: r.name,
            urn: r.urn,
            props: r.props,
            protect: r.opts.protect,
        }));
        const max = config.maxFloatingIps ?? DEFAULT_MAX_FLOATING_IPS;
        for (const [message, urn] of floatingIpViolations(views, max)) {
            report(message, urn);
        }
    },
};

export const prodDataVolumesProtected: ResourceValidationPolicy = {
    name: "prod-data-volumes-protected",
    description:
        "Every data volume (not `*-boot`) of a protected stack (`prod`, `prod-*`) has `protect: true`.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: {
        properties: {
            protectedStacks: {
                type: "array",
                items: { type: "string" },
                default: [...PROTECTED_STACKS],
            },
        },
    },
    validateResource: onType(TYPES.volume, (view, args) =>
        volumeProtectionViolations(
            view,
            args.getConfig<PackConfig>().protectedStacks ?? PROTECTED_STACKS,
        ),
    ),
};

export const pFlavorsBootFromVolume: ResourceValidationPolicy = {
    name: "p-flavors-boot-from-volume",
    description: "Instances on a `p<N>-<M>gb` flavor (no root disk) boot from a volume.",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: onType(TYPES.instance, (view) => bootFromVolumeViolations(view)),
};

export const instancesNamed: ResourceValidationPolicy = {
    name: "instances-named",
    description: "Every instance sets an explicit `name` (it becomes the hostname).",
    enforcementLevel: "mandatory",
    severity: "low",
    validateResource: onType(TYPES.instance, (view) => instanceNameViolations(view)),
};

export const policies = [
    noPublicAdminPorts,
    floatingIpsWebOnly,
    prodDataVolumesProtected,
    pFlavorsBootFromVolume,
    instancesNamed,
];
