import * as pulumi from "@pulumi/pulumi";

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
    const name = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const read = (await pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", { name })) as {
        outputs?: Record<string, unknown>;
    };
    const value = read.outputs?.["dataVolumeSizes"];
    if (typeof value !== "object" || value === null) return {};
    return Object.fromEntries(
        Object.entries(value as Record<string, unknown>).filter(
            (e): e is [string, number] => typeof e[1] === "number",
        ),
    );
}
