import * as pulumi from "@pulumi/pulumi";
import { ROLES } from "./roles";
import { RoleVm, RoleVmArgs } from "./roleVm";

/** The application server: Python, Node.js and Julia apps behind the web server, and the SQL database. */
export class AppServerVM extends RoleVm {
    constructor(name: string, args: RoleVmArgs, opts?: pulumi.ComponentResourceOptions) {
        super(ROLES.app.typeToken, name, ROLES.app, args, opts);
    }
}
