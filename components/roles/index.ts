/**
 * Roles as data: each role's spec is its own file in this folder, listed in registry.ts. This
 * module derives the lookups the mechanics use, and the rules that read several specs at once.
 */
import { ROLE_SPECS } from "./registry";
import type { PortRule, RoleSpec } from "./types";

export * from "./types";

export type RoleName = (typeof ROLE_SPECS)[number]["name"];

export const ROLE_NAMES: readonly RoleName[] = ROLE_SPECS.map((s) => s.name);

export const ROLES: Readonly<Record<RoleName, RoleSpec>> = Object.fromEntries(
    ROLE_SPECS.map((s) => [s.name, s as RoleSpec]),
) as Record<RoleName, RoleSpec>;

export function isRoleName(value: string): value is RoleName {
    return (ROLE_NAMES as readonly string[]).includes(value);
}

/** The SQL server's port per engine: the app role's `sql` rule opens this one. */
export const SQL_PORTS = { mariadb: 3306, postgresql: 5432 } as const;

/** A role's ports for the chosen SQL engine (a rule named `sql` opens the engine's port). */
export function rolePorts(spec: RoleSpec, sqlEngine: keyof typeof SQL_PORTS): readonly PortRule[] {
    return spec.ports.map((p) => (p.name === "sql" ? { ...p, port: SQL_PORTS[sqlEngine] } : p));
}

/** The port of a role's rule, by the rule's name (the web server proxies to it). */
export function portOf(role: RoleName, rule: string): number {
    const found = ROLES[role].ports.find((p) => p.name === rule);
    if (!found) throw new Error(`roles: ${role} has no port rule named ${rule}`);
    return found.port;
}

/** Pure: the roles a rule accepts (none for `world` and `admin`, which are CIDRs). */
export function sourceRoles(rule: PortRule): readonly RoleName[] {
    return typeof rule.from === "object" ? rule.from.roles : [];
}

/** The public role: the bastion, and the proxy in front of every other role. */
export function publicRole(): RoleName {
    const roles = ROLE_SPECS.filter((s) => s.public).map((s) => s.name);
    if (roles.length !== 1 || roles[0] === undefined)
        throw new Error(`roles: exactly one role is public, not ${roles.length}`);
    return roles[0];
}

/** Pure: the ports of a role a proxy site may forward to (marked `proxy`, open to the web server). */
export function proxiedPorts(role: RoleName): PortRule[] {
    return ROLES[role].ports.filter(
        (p) => p.proxy === true && sourceRoles(p).includes(publicRole()),
    );
}

/**
 * Pure: the roles, other than the public one, whose VMs other roles accept traffic from: each
 * gets a member security group in the private network (the public role's is the bastion group).
 */
export function clientRoles(deployed: readonly RoleName[]): RoleName[] {
    const out = new Set<RoleName>();
    for (const role of deployed) {
        for (const rule of ROLES[role].ports) {
            for (const r of sourceRoles(rule))
                if (r !== publicRole() && deployed.includes(r)) out.add(r);
        }
    }
    return ROLE_NAMES.filter((r) => out.has(r));
}
