/**
 * The Ouvroir policy pack: the Alliance cloud's security policy and our data rules, enforced on
 * every preview and update (`pulumi preview --policy-pack policy`). The rules are pure functions
 * in `rules.ts`, unit-tested in `rules.test.ts`; this file only registers them.
 */
import { PolicyPack } from "@pulumi/policy";

import { policies } from "./rules";

new PolicyPack("ouvroir-alliance", {
    description: "Alliance cloud security policy and Ouvroir data rules",
    enforcementLevel: "mandatory",
    policies,
});
