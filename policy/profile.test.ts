// Whole program under mocks: the arbutus profile's real registrations (Pulumi.arbutus.yaml,
// another project on another cloud) pass every policy, as prod's do (program.test.ts; one stack
// per file). Does not prove the CLI runs the pack (policy/check-loads.sh) nor anything about new
// Arbutus itself.
import { describeStackPolicies } from "../tests/harness/policyViews";
import { ARBUTUS } from "../tests/migration/harness";

describeStackPolicies("arbutus", ARBUTUS, {
    instances: ["iiif-vm", "web-vm", "xmldb-vm"],
    protectsData: false,
});
