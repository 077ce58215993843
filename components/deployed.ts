import * as net from "net";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import type { DeployedSettings } from "../config";

/** This stack's outputs from its last deployment (empty before the first). */
async function lastOutputs(): Promise<Record<string, unknown>> {
    const name = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const read = (await pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", { name })) as {
        outputs?: Record<string, unknown>;
    };
    return read.outputs ?? {};
}

/** The settings whose change replaces instances or volumes, as last deployed (see config.ts). */
export async function deployedSettings(): Promise<DeployedSettings> {
    const value = (await lastOutputs())["deployedSettings"];
    return typeof value === "object" && value !== null ? (value as DeployedSettings) : {};
}

/**
 * The data volume sizes of this stack's last deployment, read from its own outputs: what the
 * shrink guard compares the config with. Empty before the first deployment.
 *
 * Read with an invoke of the engine's builtin `readStackOutputs`, not a StackReference: a
 * StackReference is a resource in the state, re-read by every refresh, and its stored outputs lag
 * one deployment, so the first refresh after an output change reported an update (and the drift
 * workflow's `refresh --expect-no-changes` failed). An invoke leaves nothing in the state.
 */
export async function deployedDataVolumeSizes(): Promise<Record<string, number>> {
    const value = (await lastOutputs())["dataVolumeSizes"];
    if (typeof value !== "object" || value === null) return {};
    return Object.fromEntries(
        Object.entries(value as Record<string, unknown>).filter(
            (e): e is [string, number] => typeof e[1] === "number",
        ),
    );
}

/** The roles of this stack's last deployment (its `privateIps` output), empty before the first. */
export async function deployedRoles(): Promise<string[]> {
    const value = (await lastOutputs())["privateIps"];
    return typeof value === "object" && value !== null ? Object.keys(value) : [];
}

/**
 * The data volumes' sizes as the cloud has them now, for the volumes the last deployment
 * recorded (`dataVolumeIds`, `dataVolumeNames`): a volume grown by hand, or by an `up` that failed
 * after Cinder extended it, is bigger than the recorded size, and the shrink guard must compare
 * with that. Looked up by name (the provider has no lookup by id) and kept only when the id is
 * the recorded one; a volume the lookup cannot find is left to the recorded size, with a warning.
 */
export async function cloudDataVolumeSizes(): Promise<Record<string, number>> {
    const outputs = await lastOutputs();
    const ids = (outputs["dataVolumeIds"] ?? {}) as Record<string, unknown>;
    const names = (outputs["dataVolumeNames"] ?? {}) as Record<string, unknown>;
    const sizes: Record<string, number> = {};
    for (const [role, name] of Object.entries(names)) {
        if (typeof name !== "string" || typeof ids[role] !== "string") continue;
        try {
            const v = await openstack.blockstorage.getVolumeV3({ name });
            if (v.id === ids[role]) sizes[role] = v.size;
            else throw new Error(`found ${v.id}, not ${String(ids[role])}`);
        } catch (e) {
            void pulumi.log.warn(
                `could not read the ${role} data volume "${name}" from the cloud (${(e as Error).message.split("\n")[0]}): the shrink guard compares with the size the last up recorded.`,
            );
        }
    }
    return sizes;
}

/** Where day-2 reaches the bastion: its SSH port, and how long an `up` waits for it. */
export const BASTION_SSH = { port: 22, timeoutMs: 10_000 };

/** The bastion's address from the last deployment (its `bastion` output), if any. */
export async function deployedBastion(): Promise<string | undefined> {
    const value = (await lastOutputs())["bastion"];
    return typeof value === "string" && value !== "" ? value : undefined;
}

/** Why `host:port` does not accept a TCP connection within `ms`, or undefined when it does. */
export function tcpProblem(host: string, port: number, ms: number): Promise<string | undefined> {
    return new Promise((resolve) => {
        const socket = net.connect({ host, port });
        const done = (problem: string | undefined): void => {
            socket.destroy();
            resolve(problem);
        };
        socket.setTimeout(ms, () => done(`no answer in ${ms / 1000} s`));
        socket.once("connect", () => done(undefined));
        socket.once("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    });
}
