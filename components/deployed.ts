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
