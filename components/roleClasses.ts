import { AppServerVM } from "./appServerVM";
import { IiifServerVM } from "./iiifServerVM";
import { RoleName } from "./roles";
import { RoleVm } from "./roleVm";
import { SandboxHost } from "./sandboxHost";
import { WebServerVM } from "./webServerVM";
import { XmlDatabaseVM } from "./xmlDatabaseVM";

/** The component class of each role. */
export const ROLE_CLASSES: Readonly<
    Record<RoleName, new (...a: ConstructorParameters<typeof WebServerVM>) => RoleVm>
> = {
    web: WebServerVM,
    xmldb: XmlDatabaseVM,
    iiif: IiifServerVM,
    app: AppServerVM,
    sandbox: SandboxHost,
};
