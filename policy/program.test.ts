// Whole program under mocks: the prod stack's real registrations pass every policy. Does not prove the CLI runs the pack (policy/check-loads.sh) nor anything about a real cloud.
import { BELUGA } from "../tests/migration/harness";
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

describe("the prod stack as the program registers it", () => {
    let views: PolicyView[] = [];

    beforeAll(async () => {
        views = await policyViews("prod", BELUGA);
    }, 60_000);

    const ofType = (type: string): PolicyView[] => views.filter((v) => v.type === type);

    it("registers the resources each rule is about", () => {
        expect(ofType(TYPES.secGroupRule).length).toBeGreaterThan(10);
        expect(ofType(TYPES.instance)).toHaveLength(5);
        expect(ofType(TYPES.volume)).toHaveLength(5);
        expect(ofType(TYPES.floatingIp)).toHaveLength(1);
    });
    it("opens nothing but 80/443 on the web server to the world", () => {
        expect(ofType(TYPES.secGroupRule).flatMap(secGroupRuleViolations)).toEqual([]);
    });
    it("gives a floating IP to the web server only, within the stack's share", () => {
        expect(floatingIpViolations(views, DEFAULT_MAX_FLOATING_IPS)).toEqual([]);
    });
    it("protects every data volume", () => {
        expect(ofType(TYPES.volume).flatMap((v) => volumeProtectionViolations(v))).toEqual([]);
        expect(ofType(TYPES.volume).every((v) => v.protect === true)).toBe(true);
    });
    it("boots every p-flavor instance from a volume and names every instance", () => {
        const instances = ofType(TYPES.instance);
        expect(instances.flatMap(bootFromVolumeViolations)).toEqual([]);
        expect(instances.flatMap(instanceNameViolations)).toEqual([]);
    });
});
