/**
 * The registry of roles. A new role is a new file in this folder (its RoleSpec, see types.ts)
 * and one entry in this list; the mechanics read nothing else. The order is the order of
 * creation and of every listing (outputs, quota, inventory).
 */
import { app } from "./app";
import { iiif } from "./iiif";
import { sandbox } from "./sandbox";
import { web } from "./web";
import { xmldb } from "./xmldb";

export const ROLE_SPECS = [web, xmldb, iiif, app, sandbox] as const;
