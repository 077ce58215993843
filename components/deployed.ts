import * as pulumi from "@pulumi/pulumi";

/**
 * The data volume sizes of this stack's last deployment, read from its own outputs: what the
 * shrink guard compares the config with. Empty before the first deployment.
 */
export async function deployedDataVolumeSizes(): Promise<Record<string, number>> {
    const self = new pulumi.StackReference(
        `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
    );
    const details = await self.getOutputDetails("dataVolumeSizes");
    const value: unknown = details.value ?? details.secretValue;
    if (typeof value !== "object" || value === null) return {};
    return Object.fromEntries(
        Object.entries(value as Record<string, unknown>).filter(
            (e): e is [string, number] => typeof e[1] === "number",
        ),
    );
}
