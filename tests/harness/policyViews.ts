/**
 * A stack's registrations as the policy pack sees them: the whole program under the migration
 * harness's mocks (a cloud of the given shape), its exported resources as PolicyViews. One stack
 * per test file: a second whole-program run in one module meets the first one's late registrations.
 */
import type { PolicyView } from "../../policy/rules";
import { MockCloud, runProgram, stackFileConfig, withMockSecrets } from "../migration/harness";

export async function policyViews(stack: string, cloud: MockCloud): Promise<PolicyView[]> {
    const exported = await runProgram(
        stack,
        withMockSecrets(stackFileConfig(`${__dirname}/../../Pulumi.${stack}.yaml`)),
        cloud,
    );
    return exported.deployment.resources.map((r) => ({
        type: r.type,
        name: r.urn.split("::").pop() ?? "",
        urn: r.urn,
        props: r.inputs ?? {},
        protect: r.protect,
    }));
}
