import * as pulumi from "@pulumi/pulumi";
import { ROLES } from "./roles";
import { RoleVm, RoleVmArgs } from "./roleVm";

/** The sandbox host: rootless Docker for researchers, each with CPU and memory limits. */
export class SandboxHost extends RoleVm {
    constructor(name: string, args: RoleVmArgs, opts?: pulumi.ComponentResourceOptions) {
        super(ROLES.sandbox.typeToken, name, ROLES.sandbox, args, opts);
    }
}
