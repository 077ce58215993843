/**
 * The pure rules of RoleVm (roleVm.ts): the resource options that protect data and pets, and the
 * security-group rules a role's ports expand to.
 */
import * as pulumi from "@pulumi/pulumi";
import { PortRule, ROLE_NAMES, RoleName, RoleSpec } from "./roles";

/** The properties a stateful instance ignores, so a template or image change never rebuilds it. */
export const PET_IGNORED_PROPERTIES = ["userData", "blockDevices", "imageId", "imageName"];

/**
 * Pure: resource options of a role's instance. Pets (stateful roles) ignore drift in user data
 * and image unless rebuilt on purpose. Every instance is replaced delete-first: its port and data
 * volume can be attached to one server at a time.
 */
export function instanceOptions(
    spec: Pick<RoleSpec, "stateful">,
    rebuild: boolean,
): Pick<pulumi.CustomResourceOptions, "ignoreChanges" | "deleteBeforeReplace"> {
    return {
        deleteBeforeReplace: true,
        ...(spec.stateful && !rebuild ? { ignoreChanges: PET_IGNORED_PROPERTIES } : {}),
    };
}

/**
 * Pure: resource options of a data volume (and of the public address). `protect` makes the
 * engine refuse to delete or replace it; `retainOnDelete` keeps it in the cloud even when the
 * operator lifts protection and destroys the stack: deleting data takes two deliberate acts.
 */
export function dataOptions(
    protectData: boolean,
    existingId?: string,
): Pick<pulumi.CustomResourceOptions, "protect" | "retainOnDelete" | "import" | "ignoreChanges"> {
    return {
        protect: protectData,
        retainOnDelete: protectData,
        // An adopted volume keeps its own name and description: only size and type are managed.
        ...(existingId
            ? { import: existingId, ignoreChanges: ["name", "description", "metadata"] }
            : {}),
    };
}

/** The CIDR lists that port sources name: `admin` (adminCidrs), `researchers` (researcherCidrs). */
export type SourceNetworks = Readonly<Record<"admin" | "researchers", readonly string[]>>;

/**
 * Pure: the security-group rules a role's port rules expand to. A rule from a network list gets
 * one rule per CIDR (named after it; a CIDR already opened on the same port by an earlier rule
 * adds nothing, since OpenStack refuses a duplicate rule). A rule from roles gets one rule per
 * deployed source role (named after the rule alone when it names one role); a source role that
 * is not deployed adds nothing, so its port stays closed.
 */
export function expandRules(
    ports: readonly PortRule[],
    networks: SourceNetworks,
    deployed: readonly RoleName[] = ROLE_NAMES,
): {
    suffix: string;
    rule: PortRule;
    ethertype: "IPv4" | "IPv6";
    source: { cidr: string } | { role: RoleName };
}[] {
    const out: ReturnType<typeof expandRules> = [];
    const opened = new Set<string>();
    for (const rule of ports) {
        if (rule.from === "world") {
            out.push({
                suffix: `${rule.name}-v4`,
                rule,
                ethertype: "IPv4",
                source: { cidr: "0.0.0.0/0" },
            });
            out.push({
                suffix: `${rule.name}-v6`,
                rule,
                ethertype: "IPv6",
                source: { cidr: "::/0" },
            });
        } else if (rule.from === "admin" || rule.from === "researchers") {
            for (const cidr of networks[rule.from]) {
                const key = `${rule.port}-${rule.portMax ?? rule.port} ${cidr}`;
                if (opened.has(key)) continue;
                opened.add(key);
                // The CIDR is the rule's identity: adding or removing one touches only its rule.
                const id = cidr.replace(/[/:.]/g, "-");
                out.push({
                    suffix: `${rule.name}-${id}`,
                    rule,
                    ethertype: cidr.includes(":") ? "IPv6" : "IPv4",
                    source: { cidr },
                });
            }
        } else {
            const roles = rule.from.roles;
            for (const role of roles.filter((r) => deployed.includes(r))) {
                out.push({
                    suffix: roles.length === 1 ? rule.name : `${rule.name}-${role}`,
                    rule,
                    ethertype: "IPv4",
                    source: { role },
                });
            }
        }
    }
    return out;
}
