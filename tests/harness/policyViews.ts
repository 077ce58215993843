/**
 * A stack's registrations as the policy pack sees them, and the checks every stack file passes:
 * the whole program under the migration harness's mocks (a cloud of the given shape), its
 * exported resources as PolicyViews, judged by each rule. One stack per test file: a second
 * whole-program run in one module meets the first one's late registrations.
 */
import {
    bootFromVolumeViolations,
    DEFAULT_MAX_FLOATING_IPS,
    floatingIpViolations,
    instanceNameViolations,
    PolicyView,
    secGroupRuleViolations,
    TYPES,
    volumeProtectionViolations,
} from "../../policy/rules";
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

/** The policy checks of one stack file: its instances (logical names) and whether it protects data. */
export function describeStackPolicies(
    stack: string,
    cloud: MockCloud,
    expected: { instances: readonly string[]; protectsData: boolean },
): void {
    describe(`the ${stack} stack as the program registers it`, () => {
        let views: PolicyView[] = [];
        beforeAll(async () => {
            views = await policyViews(stack, cloud);
        }, 60_000);
        const ofType = (type: string): PolicyView[] => views.filter((v) => v.type === type);

        it("registers the resources each rule is about", () => {
            expect(ofType(TYPES.secGroupRule).length).toBeGreaterThan(
                2 * expected.instances.length,
            );
            expect(
                ofType(TYPES.instance)
                    .map((v) => v.name)
                    .sort(),
            ).toEqual([...expected.instances].sort());
            expect(ofType(TYPES.volume)).toHaveLength(expected.instances.length);
            expect(ofType(TYPES.floatingIp)).toHaveLength(1);
        });
        it("opens nothing but 80/443 on the web server to the world", () => {
            expect(ofType(TYPES.secGroupRule).flatMap(secGroupRuleViolations)).toEqual([]);
        });
        it("gives a floating IP to the web server only, within the stack's share", () => {
            expect(floatingIpViolations(views, DEFAULT_MAX_FLOATING_IPS)).toEqual([]);
        });
        it(
            expected.protectsData
                ? "protects every data volume"
                : "may leave its volumes unprotected (not prod, not prod-*)",
            () => {
                expect(ofType(TYPES.volume).flatMap((v) => volumeProtectionViolations(v))).toEqual(
                    [],
                );
                expect(ofType(TYPES.volume).every((v) => v.protect === true)).toBe(
                    expected.protectsData,
                );
            },
        );
        it("boots every p-flavor instance from a volume and names every instance", () => {
            const instances = ofType(TYPES.instance);
            expect(instances.flatMap(bootFromVolumeViolations)).toEqual([]);
            expect(instances.flatMap(instanceNameViolations)).toEqual([]);
        });
    });
}
