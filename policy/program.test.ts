// Whole program under mocks: the prod stack's real registrations pass every policy. Does not prove the CLI runs the pack (policy/check-loads.sh) nor anything about a real cloud.
import { describeStackPolicies } from "../tests/harness/policyViews";
import { BELUGA } from "../tests/migration/harness";

describeStackPolicies("prod", BELUGA, {
    instances: ["app-vm", "iiif-vm", "sandbox-vm", "web-vm", "xmldb-vm"],
    protectsData: true,
});
