/**
 * The preview's guards against data loss, against the last deployment: a data volume never
 * shrinks, and a change that replaces instances or volumes needs `ouvroir:rebuild`.
 */
import { ROLES, ROLE_NAMES, RoleName } from "../components/roles";
import type { StackConfig } from "./types";

/** Pure: the shrink guard. `deployed` holds the data volume sizes of the last deployment. */
export function shrinkProblems(
    cfg: StackConfig,
    deployed: Readonly<Partial<Record<string, number>>>,
    /** The volumes' sizes in the cloud now (deployed.ts cloudDataVolumeSizes); may be larger. */
    cloud: Readonly<Partial<Record<string, number>>> = {},
): string[] {
    const problems: string[] = [];
    for (const role of ROLE_NAMES) {
        const rc = cfg.roles[role];
        const recorded = deployed[role];
        const real = cloud[role];
        const before =
            recorded === undefined
                ? real
                : real === undefined
                  ? recorded
                  : Math.max(recorded, real);
        const grown =
            real !== undefined && (recorded === undefined || real > recorded)
                ? ` in the cloud (the last up recorded ${recorded ?? "no size"}: it was grown outside this program, or by an up that failed)`
                : "";
        if (rc && before !== undefined && rc.dataVolumeGb < before) {
            problems.push(
                `ouvroir:roles.${role}.dataVolumeGb is ${rc.dataVolumeGb} but the deployed ${role} data volume has ${before} GB${grown}: ` +
                    `Cinder cannot shrink a volume and replacing it would destroy the data. Set it back to ${before} or more; to move to a smaller volume, back up, create a new one and restore.`,
            );
        }
        if (!rc && before !== undefined && !cfg.rebuild.includes(role)) {
            problems.push(
                `ouvroir:roles no longer lists ${role}, whose data volume (${before} GB) is deployed: removing the role would delete its VM${cfg.protectData ? "" : " and its data volume"}. ` +
                    `Put it back in ouvroir:roles; to retire it on purpose, back up, then list ${role} in ouvroir:rebuild for that up ("Retire a role" in the README).`,
            );
        }
    }
    return problems;
}

/** What a deployment records of the settings whose change replaces instances or volumes. */
export interface DeployedSettings {
    readonly privateCidr?: string;
    readonly externalNetwork?: string;
    /** `networkId/subnetId` of an adopted network, "" for the stack's own. */
    readonly existingNetwork?: string;
    readonly dataVolumeTypes?: Readonly<Partial<Record<string, string>>>;
    /** Roles whose VM was created with a host key the program pinned (components/hostKey.ts). */
    readonly pinnedHostKeys?: readonly string[];
    /** The user cloud-init made on every VM, which day-2 logs in as. */
    readonly adminUser?: string;
    /** The app server's SQL engine, when an app server was deployed. */
    readonly sqlEngine?: string;
}

function existingNetworkKey(cfg: StackConfig): string {
    const e = cfg.existingNetwork;
    return e ? `${e.networkId}/${e.subnetId}` : "";
}

/** The settings of `cfg` as the stack's `deployedSettings` output records them. */
export function deployedSettingsOf(
    cfg: StackConfig,
    pinnedHostKeys: readonly RoleName[] = [],
): DeployedSettings {
    return {
        privateCidr: cfg.privateCidr,
        externalNetwork: cfg.externalNetwork ?? "",
        existingNetwork: existingNetworkKey(cfg),
        dataVolumeTypes: Object.fromEntries(
            ROLE_NAMES.filter((r) => cfg.roles[r] && ROLES[r].stateful).map((r) => [
                r,
                cfg.roles[r]?.dataVolumeType ?? "",
            ]),
        ),
        pinnedHostKeys: [...pinnedHostKeys],
        adminUser: cfg.adminUser,
        ...(cfg.roles.app ? { sqlEngine: cfg.sqlEngine } : {}),
    };
}

/**
 * Pure: the roles whose day-2 SSH pins the host key. A VM created from now on gets a pinned key
 * in its user data; a VM deployed before pinning existed keeps its own keys (its user data is
 * never re-applied) until it is rebuilt on purpose. Without day-2 nothing connects: none.
 */
export function hostKeyRoles(
    cfg: StackConfig,
    before: { readonly deployedRoles: readonly string[]; readonly pinned: readonly string[] },
): { pinned: RoleName[]; legacy: RoleName[] } {
    const deployed = ROLE_NAMES.filter((r) => cfg.roles[r] !== undefined);
    if (!cfg.day2) return { pinned: [], legacy: [] };
    const isLegacy = (r: RoleName): boolean =>
        before.deployedRoles.includes(r) && !before.pinned.includes(r) && !cfg.rebuild.includes(r);
    return { pinned: deployed.filter((r) => !isLegacy(r)), legacy: deployed.filter(isLegacy) };
}

/**
 * Changes that replace instances or data volumes, or that only a new VM can take, refused
 * unless `ouvroir:rebuild` lists every role they concern: a data volume's type (the volume is
 * replaced and its data destroyed), the private CIDR or the external network (every port and VM
 * is replaced, with whatever lives on their boot volumes), the admin user (made at first boot;
 * day-2 logs in as it), the SQL engine (a new one starts empty). Compared with the last
 * deployment's `deployedSettings` output.
 */
export function replacementProblems(cfg: StackConfig, before: DeployedSettings): string[] {
    const problems: string[] = [];
    const listed = (roles: readonly RoleName[]): boolean =>
        roles.every((r) => cfg.rebuild.includes(r));
    const deployed = ROLE_NAMES.filter((r) => cfg.roles[r] !== undefined);
    const confirm = (roles: readonly RoleName[]): string =>
        `to do it on purpose, back up first, then list ${roles.join(", ")} in ouvroir:rebuild (pulumi config set --path 'ouvroir:rebuild[0]' ${roles[0]} …) for that one up`;
    for (const role of deployed) {
        const was = before.dataVolumeTypes?.[role];
        const now = cfg.roles[role]?.dataVolumeType ?? "";
        if (was !== undefined && was !== now && !listed([role]))
            problems.push(
                `ouvroir:roles.${role}.dataVolumeType is ${JSON.stringify(now)} but the deployed ${role} data volume is ${JSON.stringify(was)}: a new type replaces the volume and destroys its data. Set it back; ${confirm([role])}.`,
            );
    }
    for (const [key, was, now] of [
        ["privateCidr", before.privateCidr, cfg.privateCidr],
        ["externalNetwork", before.externalNetwork, cfg.externalNetwork ?? ""],
        ["existingNetwork", before.existingNetwork, existingNetworkKey(cfg)],
    ] as const) {
        if (was !== undefined && was !== now && !listed(deployed))
            problems.push(
                `ouvroir:${key} is ${JSON.stringify(now)} but the stack was deployed with ${JSON.stringify(was)}: the change replaces every port and VM (${deployed.join(", ")}). Set it back; ${confirm(deployed)}.`,
            );
    }
    if (before.adminUser !== undefined && before.adminUser !== cfg.adminUser && !listed(deployed))
        problems.push(
            `ouvroir:adminUser is ${JSON.stringify(cfg.adminUser)} but the VMs were made with ${JSON.stringify(before.adminUser)}, the user day-2 logs in as: only new VMs get the new one. Set it back; ${confirm(deployed)}.`,
        );
    if (
        before.sqlEngine !== undefined &&
        cfg.roles.app !== undefined &&
        before.sqlEngine !== cfg.sqlEngine &&
        !listed(["app"])
    )
        problems.push(
            `ouvroir:sqlEngine is ${JSON.stringify(cfg.sqlEngine)} but the app server's databases are in ${before.sqlEngine}: the new engine would start empty (nothing is converted). Set it back; to switch on purpose, dump every database, list app in ouvroir:rebuild for that one up, then restore the dumps by hand.`,
        );
    return problems;
}
