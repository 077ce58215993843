/** Pure: the stack outputs an operator reads (SSH config, URLs). */
import { sshConfigToken as t } from "./escape";
import type { Site } from "./userData";

/** Local port of the BaseX admin tunnel (`ssh -N <stack>-xmldb-1-tunnel`, then http://localhost:8984/). */
export const BASEX_TUNNEL_PORT = 8984;

/**
 * An ~/.ssh/config snippet that reaches every VM through the bastion (ProxyJump), and a tunnel
 * host for BaseX's admin (REST, DBA), which is never public. Every value is one ssh-config
 * token (escape.ts): a newline or space in a name cannot add a directive.
 */
export function sshConfig(
    adminUser: string,
    bastion: { readonly name: string; readonly publicIp: string },
    privateHosts: readonly { readonly name: string; readonly ip: string; readonly role?: string }[],
): string {
    const user = t("adminUser", adminUser);
    const lines = [
        `Host ${t("host name", bastion.name)}`,
        `    HostName ${t("bastion address", bastion.publicIp)}`,
        `    User ${user}`,
    ];
    for (const h of privateHosts) {
        const host = [
            `    HostName ${t("private address", h.ip)}`,
            `    User ${user}`,
            `    ProxyJump ${t("host name", bastion.name)}`,
        ];
        lines.push(`Host ${t("host name", h.name)}`, ...host);
        if (h.role === "xmldb") {
            lines.push(
                `Host ${t("host name", h.name)}-tunnel`,
                ...host,
                `    LocalForward ${BASEX_TUNNEL_PORT} 127.0.0.1:8080`,
            );
        }
    }
    return lines.join("\n") + "\n";
}

/** Public URLs: the main host (its name, or the floating IP until DNS exists) and each site. */
export function endpoints(
    publicHostname: string,
    publicIp: string,
    roles: readonly string[],
    sites: readonly Site[],
): Record<string, string> {
    const base = `https://${publicHostname || publicIp}`;
    const out: Record<string, string> = { web: `${base}/` };
    // BaseX's admin is reached through the bastion only: `ssh -N <stack>-xmldb-1-tunnel`.
    if (roles.includes("xmldb")) out.basexAdmin = `http://localhost:${BASEX_TUNNEL_PORT}/`;
    if (roles.includes("iiif")) out.iiif = `${base}/iiif/3/`;
    for (const s of sites) out[`site:${s.name}`] = `https://${s.domains[0] ?? publicHostname}/`;
    return out;
}
