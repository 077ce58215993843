/**
 * The project's real quota, read from the cloud at preview (Nova's, Neutron's and Cinder's quota
 * sets of the project the credentials are scoped to), compared with what the stacks need and
 * with `ouvroir:allocation`. The stacks needing more than the cloud grants is refused before any
 * resource is registered: `pulumi up` would otherwise stop half-way at the first refused create.
 * A cloud that cannot be read (offline, or an API the credentials may not query) leaves the
 * check to `ouvroir:allocation`, with a warning.
 */
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { QUOTA_ROWS, Usage, markdownTable } from "../config/quota";

/** What the cloud grants the project (-1: unlimited) and what the project uses now, all stacks and hand-made resources included. */
export interface CloudQuota {
    readonly projectId: string;
    readonly limits: Usage;
    readonly used: Partial<Usage>;
}

/** Reads the project's quota; undefined (and a warning) when the cloud does not answer. */
export async function readCloudQuota(): Promise<CloudQuota | undefined> {
    try {
        const { projectId } = await openstack.identity.getAuthScope({ name: "current" });
        const [compute, network, volume] = await Promise.all([
            openstack.compute.getQuotaSetV2({ projectId }),
            openstack.networking.getQuotaV2({ projectId }),
            openstack.blockstorage.getQuotasetV3({ projectId }),
        ]);
        // What the project uses now: Nova's limits. The provider always names the project
        // (`?tenant_id=`), which Nova's default policy (limits:other_project) grants admins only,
        // even for the caller's own project: a member gets 403, and the column stays empty.
        const used = await openstack.compute.getLimitsV2({ projectId }).catch(() => undefined);
        return cloudQuotaFrom(projectId, compute, network, volume, used);
    } catch (e) {
        void pulumi.log.warn(
            `could not read the project's quota from the cloud (${(e as Error).message.replace(/\s+/g, " ").trim()}): the stacks are checked against ouvroir:allocation only.`,
        );
        return undefined;
    }
}

/** Pure: the APIs' answers as one quota (Nova counts RAM in MiB); `used` when Nova said it. */
export function cloudQuotaFrom(
    projectId: string,
    compute: Pick<openstack.compute.GetQuotaSetV2Result, "instances" | "cores" | "ram">,
    network: Pick<openstack.networking.GetQuotaV2Result, "floatingip" | "securityGroup">,
    volume: Pick<openstack.blockstorage.GetQuotasetV3Result, "volumes" | "gigabytes">,
    used?: Pick<
        openstack.compute.GetLimitsV2Result,
        "totalInstancesUsed" | "totalCoresUsed" | "totalRamUsed"
    >,
): CloudQuota {
    const gb = (mib: number): number => (mib < 0 ? -1 : mib / 1024);
    return {
        projectId,
        limits: {
            instances: compute.instances,
            vcpus: compute.cores,
            ramGb: gb(compute.ram),
            volumes: volume.volumes,
            volumeGb: volume.gigabytes,
            floatingIps: network.floatingip,
            securityGroups: network.securityGroup,
        },
        used: used
            ? {
                  instances: used.totalInstancesUsed,
                  vcpus: used.totalCoresUsed,
                  ramGb: gb(used.totalRamUsed),
              }
            : {},
    };
}

/**
 * Pure: the rows where the stacks need more than the cloud grants (refused), and those where
 * `ouvroir:allocation` claims more than it grants (warned: the allocation is a request until the
 * cloud shows it).
 */
export function cloudQuotaProblems(
    need: Usage,
    allocation: Usage,
    cloud: CloudQuota,
    stacks: readonly string[],
): { errors: string[]; warnings: string[] } {
    const errors: string[] = [];
    const warnings: string[] = [];
    for (const { key, label } of QUOTA_ROWS) {
        const limit = cloud.limits[key];
        if (limit < 0) continue;
        if (need[key] > limit)
            errors.push(
                `over the cloud's quota: ${stacks.join(" + ")} need ${need[key]} ${label}, and the cloud grants project ${cloud.projectId} ${limit} (ouvroir:allocation.${key} says ${allocation[key]}). ` +
                    `Nothing was created. Make the stacks smaller (flavors, ouvroir:roles), or request more (RAS/RAC) and deploy once the cloud shows it.`,
            );
        else if (allocation[key] > limit)
            warnings.push(
                `ouvroir:allocation.${key} is ${allocation[key]}, the cloud grants ${limit} ${label}: the stacks fit what is granted, but the allocation is not granted yet.`,
            );
    }
    return { errors, warnings };
}

/** Pure: the quota table with the cloud's columns (limit, used now), for the `quota` output. */
export function formatCloudQuotaTable(need: Usage, allocation: Usage, cloud: CloudQuota): string {
    const n = (v: number | undefined): string =>
        v === undefined ? "" : v < 0 ? "unlimited" : Number.isInteger(v) ? String(v) : v.toFixed(2);
    const rows = QUOTA_ROWS.map(({ key, label }) => [
        label,
        `${n(need[key])}${cloud.limits[key] >= 0 && need[key] > cloud.limits[key] ? " !" : ""}`,
        n(allocation[key]),
        n(cloud.limits[key]),
        n(cloud.used[key]),
    ]);
    return markdownTable(
        ["resource", "stacks need", "allocation", "cloud grants", "cloud uses now"],
        rows,
    );
}
