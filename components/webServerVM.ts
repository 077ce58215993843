import * as pulumi from "@pulumi/pulumi";
import { ROLES } from "./roles";
import { RoleVm, RoleVmArgs } from "./roleVm";

/** The web server: Nginx virtual hosts and TLS; the only public VM and the SSH bastion. */
export class WebServerVM extends RoleVm {
    constructor(name: string, args: RoleVmArgs, opts?: pulumi.ComponentResourceOptions) {
        super(ROLES.web.typeToken, name, ROLES.web, args, opts);
    }
}
