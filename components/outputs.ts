/** Pure: the stack outputs an operator reads (SSH config, URLs). */
import type { Site } from "./userData";

/** An ~/.ssh/config snippet that reaches every VM through the bastion (ProxyJump). */
export function sshConfig(
    adminUser: string,
    bastion: { readonly name: string; readonly publicIp: string },
    privateHosts: readonly { readonly name: string; readonly ip: string }[],
): string {
    const lines = [
        `Host ${bastion.name}`,
        `    HostName ${bastion.publicIp}`,
        `    User ${adminUser}`,
    ];
    for (const h of privateHosts) {
        lines.push(
            `Host ${h.name}`,
            `    HostName ${h.ip}`,
            `    User ${adminUser}`,
            `    ProxyJump ${bastion.name}`,
        );
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
    if (roles.includes("xmldb")) out.basex = `${base}/basex/`;
    if (roles.includes("iiif")) out.iiif = `${base}/iiif/3/`;
    for (const s of sites) out[`site:${s.name}`] = `https://${s.domains[0] ?? publicHostname}/`;
    return out;
}
