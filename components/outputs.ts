/** Pure: the stack outputs an operator reads (SSH config, URLs). */
import { sshConfigToken as t } from "./escape";
import { isRoleName, ROLES } from "./roles";
import type { Site } from "./userData";

/**
 * An ~/.ssh/config snippet that reaches every VM through the bastion (ProxyJump), and the
 * tunnel hosts the roles' specs declare (BaseX's admin: REST, DBA), which are never public.
 * Every value is one ssh-config token (escape.ts): a newline or space in a name cannot add a
 * directive.
 */
export function sshConfig(
    adminUser: string,
    bastion: { readonly name: string; readonly publicIp: string; readonly role?: string },
    privateHosts: readonly { readonly name: string; readonly ip: string; readonly role?: string }[],
): string {
    const user = t("adminUser", adminUser);
    const lines = [
        `Host ${t("host name", bastion.name)}`,
        `    HostName ${t("bastion address", bastion.publicIp)}`,
        `    User ${user}`,
    ];
    // A role's tunnel hosts (admin UIs on its loopback): the host's own lines and a forward.
    const tunnels = (name: string, host: readonly string[], role: string | undefined): void => {
        const specs = (role !== undefined && isRoleName(role) ? ROLES[role].tunnels : []) ?? [];
        for (const tunnel of specs) {
            lines.push(
                `Host ${t("host name", name)}-${tunnel.suffix}`,
                ...host,
                `    LocalForward ${tunnel.localPort} 127.0.0.1:${tunnel.remotePort}`,
            );
        }
    };
    tunnels(bastion.name, lines.slice(1), bastion.role);
    for (const h of privateHosts) {
        const host = [
            `    HostName ${t("private address", h.ip)}`,
            `    User ${user}`,
            `    ProxyJump ${t("host name", bastion.name)}`,
        ];
        lines.push(`Host ${t("host name", h.name)}`, ...host);
        tunnels(h.name, host, h.role);
    }
    return lines.join("\n") + "\n";
}

/**
 * Each researcher's ~/.ssh/config lines, by name: the hosts researchers log into (the sandbox
 * host), reached through their own jump-only account on the bastion with their own key. Never
 * the operators' account. Every value is one ssh-config token, as in `sshConfig`.
 */
export function researcherSshConfig(
    researchers: readonly string[],
    bastionIp: string,
    hosts: readonly { readonly name: string; readonly ip: string }[],
): Record<string, string> {
    return Object.fromEntries(
        researchers.map((name) => {
            const user = t("researcher name", name);
            const lines = hosts.flatMap((h) => [
                `Host ${t("host name", h.name)}`,
                `    HostName ${t("private address", h.ip)}`,
                `    User ${user}`,
                `    ProxyJump ${user}@${t("bastion address", bastionIp)}`,
            ]);
            return [name, lines.join("\n") + "\n"];
        }),
    );
}

/**
 * Public URLs: the main host (its name, or the floating IP until DNS exists), the tunnels' local
 * URLs (`ssh -N <host>-tunnel` first), the roles' paths on the main host, and each site.
 */
export function endpoints(
    publicHostname: string,
    publicIp: string,
    roles: readonly string[],
    sites: readonly Site[],
): Record<string, string> {
    const base = `https://${publicHostname || publicIp}`;
    const out: Record<string, string> = { web: `${base}/` };
    const specs = roles.filter(isRoleName).map((r) => ROLES[r]);
    for (const spec of specs) {
        for (const tunnel of spec.tunnels ?? [])
            out[tunnel.endpoint] = `http://localhost:${tunnel.localPort}/`;
    }
    for (const spec of specs) {
        for (const [key, p] of Object.entries(spec.publicPaths ?? {})) out[key] = `${base}${p}`;
    }
    for (const s of sites) out[`site:${s.name}`] = `https://${s.domains[0] ?? publicHostname}/`;
    return out;
}
