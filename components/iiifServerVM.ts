import * as pulumi from "@pulumi/pulumi";
import { ROLES } from "./roles";
import { RoleVm, RoleVmArgs } from "./roleVm";

/** The IIIF image server: Cantaloupe behind the web server; images and cache on the data volume. */
export class IiifServerVM extends RoleVm {
    constructor(name: string, args: RoleVmArgs, opts?: pulumi.ComponentResourceOptions) {
        super(ROLES.iiif.typeToken, name, ROLES.iiif, args, opts);
    }
}
