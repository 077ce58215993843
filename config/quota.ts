/** The quota arithmetic: what a stack's config consumes of the project's allocation. */
import { ROLES, ROLE_NAMES, clientRoles } from "../components/roles";
import { flavorSize } from "./parse";
import type { Allocation, RoleConfig, StackConfig } from "./types";

export type Usage = Allocation;

export const QUOTA_ROWS: readonly { key: keyof Usage; label: string }[] = [
    { key: "instances", label: "instances" },
    { key: "vcpus", label: "vCPU" },
    { key: "ramGb", label: "RAM (GB)" },
    { key: "volumes", label: "volumes (boot + data)" },
    { key: "volumeGb", label: "volume storage (GB)" },
    { key: "floatingIps", label: "floating IPs" },
    { key: "securityGroups", label: "security groups" },
];

/** Pure: what a stack's config consumes of the project's quota. */
export function quotaUsage(cfg: StackConfig): Usage {
    const roles = ROLE_NAMES.filter((r) => cfg.roles[r] !== undefined);
    let vcpus = 0;
    let ramGb = 0;
    let volumes = 0;
    let volumeGb = 0;
    for (const r of roles) {
        const rc = cfg.roles[r] as RoleConfig;
        const size = flavorSize(rc.flavor, cfg.flavors);
        vcpus += size?.vcpus ?? 0;
        ramGb += size?.ramGb ?? 0;
        volumes += 1;
        volumeGb += cfg.bootVolumeGb;
        if (ROLES[r].stateful) {
            volumes += 1;
            volumeGb += rc.dataVolumeGb;
        }
    }
    return {
        instances: roles.length,
        vcpus,
        ramGb,
        volumes,
        volumeGb,
        floatingIps: roles.filter((r) => ROLES[r].public).length,
        // One per role, the bastion-membership group of the private network, and one member
        // group per client role (components/roles/ clientRoles: the app server, for BaseX's port).
        securityGroups: roles.length + 1 + clientRoles(roles).length,
    };
}

export function addUsage(a: Usage, b: Usage): Usage {
    const out = {} as Record<keyof Usage, number>;
    for (const { key } of QUOTA_ROWS) out[key] = a[key] + b[key];
    return out;
}

/** Pure: the quota lines over the allocation, as messages naming the key and the fix. */
export function quotaProblems(
    total: Usage,
    allocation: Allocation,
    stacks: readonly string[],
): string[] {
    return QUOTA_ROWS.filter(({ key }) => total[key] > allocation[key]).map(
        ({ key, label }) =>
            `over quota: ${stacks.join(" + ")} need ${total[key]} ${label}, the allocation (ouvroir:allocation.${key}) is ${allocation[key]}. ` +
            `Make the stacks smaller (flavors, ouvroir:roles), or request more (RAS/RAC) and, once it is granted, raise ouvroir:allocation.${key} in the stack files.`,
    );
}

/** Pure: the table the lab puts in its funding letter. */
export function formatQuotaTable(
    columns: readonly { name: string; usage: Usage }[],
    allocation: Allocation,
): string {
    const header = ["resource", ...columns.map((c) => c.name), "allocation"];
    const rows = QUOTA_ROWS.map(({ key, label }) => [
        label,
        ...columns.map((c) => {
            const n = c.usage[key];
            return `${Number.isInteger(n) ? n : n.toFixed(2)}${n > allocation[key] ? " !" : ""}`;
        }),
        String(allocation[key]),
    ]);
    return markdownTable(header, rows);
}

/** Pure: a Markdown table, the first column left-aligned, the others right-aligned (figures). */
export function markdownTable(header: readonly string[], rows: readonly string[][]): string {
    const widths = header.map((_, i) =>
        Math.max(...[header, ...rows].map((r) => (r[i] ?? "").length)),
    );
    const line = (cells: readonly string[]): string =>
        "| " +
        cells
            .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
            .join(" | ") +
        " |";
    const rule =
        "|" +
        widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") +
        "|";
    return [line(header), rule, ...rows.map(line)].join("\n");
}
