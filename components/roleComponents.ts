/**
 * The named components, for programs that build one VM of a role by hand. They are RoleVm with
 * the role's spec: the program itself builds every role through RoleVm and the registry, so a
 * new role needs no class.
 */
import * as pulumi from "@pulumi/pulumi";
import { ROLES, RoleName } from "./roles";
import { RoleVm, RoleVmArgs } from "./roleVm";

type Ctor = new (name: string, args: RoleVmArgs, opts?: pulumi.ComponentResourceOptions) => RoleVm;

function roleClass(role: RoleName): Ctor {
    return class extends RoleVm {
        constructor(name: string, args: RoleVmArgs, opts?: pulumi.ComponentResourceOptions) {
            super(name, ROLES[role], args, opts);
        }
    };
}

/** Nginx virtual hosts and TLS; the only public VM and the SSH bastion. */
export const WebServerVM = roleClass("web");
/** Java, BaseX, Saxon. */
export const XmlDatabaseVM = roleClass("xmldb");
/** Cantaloupe. */
export const IiifServerVM = roleClass("iiif");
/** Python, Node.js, Julia, the SQL database. */
export const AppServerVM = roleClass("app");
/** Rootless Docker sandboxes for researchers. */
export const SandboxHost = roleClass("sandbox");

/** The component class of each built-in role. */
export const ROLE_CLASSES: Readonly<Record<RoleName, Ctor>> = {
    web: WebServerVM,
    xmldb: XmlDatabaseVM,
    iiif: IiifServerVM,
    app: AppServerVM,
    sandbox: SandboxHost,
};
