/**
 * Physical names, apart from logical names: these become OpenStack names and host names, so
 * they are stable, readable and unique per stack (`dev-web-1`).
 */
import { ROLES, RoleName } from "./roles";

/** Instance (and host) name of a role's VM: `dev-xmldb-1`. */
export function instanceName(stack: string, role: RoleName, index = 1): string {
    return `${stack}-${ROLES[role].short}-${index}`;
}

/** Name of a role's resource in OpenStack: `dev-xmldb-data`, `dev-web-sg`. */
export function roleResourceName(stack: string, role: RoleName, purpose: string): string {
    return `${stack}-${ROLES[role].short}-${purpose}`;
}

/** Name of a stack-wide resource: `dev-net`, `dev-router`. */
export function stackResourceName(stack: string, purpose: string): string {
    return `${stack}-${purpose}`;
}

/** The first 20 characters of a Cinder volume id: the serial the guest sees as virtio-<serial>. */
export function volumeSerial(volumeId: string): string {
    return volumeId.slice(0, 20);
}
