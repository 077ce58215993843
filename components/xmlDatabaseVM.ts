import * as pulumi from "@pulumi/pulumi";
import { ROLES } from "./roles";
import { RoleVm, RoleVmArgs } from "./roleVm";

/** The XML database: BaseX (HTTP behind the web server) and Saxon; databases on the data volume. */
export class XmlDatabaseVM extends RoleVm {
    constructor(name: string, args: RoleVmArgs, opts?: pulumi.ComponentResourceOptions) {
        super(ROLES.xmldb.typeToken, name, ROLES.xmldb, args, opts);
    }
}
