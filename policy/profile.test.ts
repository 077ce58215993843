// Whole program under mocks: the arbutus profile's real registrations (Pulumi.arbutus.yaml, another
// project on another cloud) pass every policy, as prod's do (program.test.ts; one stack per file:
// a second whole-program run in one module meets the first one's late registrations). Does not
// prove the CLI runs the pack (policy/check-loads.sh) nor anything about new Arbutus itself.
import { ARBUTUS } from "../tests/migration/harness";
import { policyViews } from "../tests/harness/policyViews";
import {
    bootFromVolumeViolations,
    DEFAULT_MAX_FLOATING_IPS,
    floatingIpViolations,
    instanceNameViolations,
    PolicyView,
    secGroupRuleViolations,
    TYPES,
    volumeProtectionViolations,
} from "./rules";

describe("the arbutus profile as the program registers it", () => {
    let views: PolicyView[] = [];

    beforeAll(async () => {
        views = await policyViews("arbutus", ARBUTUS);
    }, 60_000);

    const ofType = (type: string): PolicyView[] => views.filter((v) => v.type === type);

    it("registers its three roles", () => {
        expect(
            ofType(TYPES.instance)
                .map((v) => v.name)
                .sort(),
        ).toEqual(["iiif-vm", "web-vm", "xmldb-vm"]);
        expect(ofType(TYPES.volume)).toHaveLength(3);
        expect(ofType(TYPES.floatingIp)).toHaveLength(1);
    });
    it("passes every policy", () => {
        expect(ofType(TYPES.secGroupRule).flatMap(secGroupRuleViolations)).toEqual([]);
        expect(floatingIpViolations(views, DEFAULT_MAX_FLOATING_IPS)).toEqual([]);
        // Not a protected stack (prod, prod-*): its volumes may go unprotected.
        expect(ofType(TYPES.volume).flatMap((v) => volumeProtectionViolations(v))).toEqual([]);
        expect(ofType(TYPES.instance).flatMap(bootFromVolumeViolations)).toEqual([]);
        expect(ofType(TYPES.instance).flatMap(instanceNameViolations)).toEqual([]);
    });
});
