/** The parsed, typed configuration of a stack (parse.ts makes it from the raw values). */
import type { BackupSettings } from "../components/backup";
import type { AlertSettings } from "../components/monitoring";
import type { ImageConfig } from "../components/image";
export type { ImageConfig };
import type { RoleName } from "../components/roles";
import type { App, Download, Researcher, Site } from "../components/userData";

export const PROJECT = "ouvroir";

export interface RoleConfig {
    readonly flavor: string;
    /** Data volume size in GB (stateful roles). */
    readonly dataVolumeGb: number;
    readonly dataVolumeType: string;
    /** Adopt this existing Cinder volume (imported into the stack) instead of creating one. */
    readonly existingDataVolumeId?: string;
}

export interface Allocation {
    readonly instances: number;
    readonly vcpus: number;
    readonly ramGb: number;
    readonly volumes: number;
    readonly volumeGb: number;
    readonly floatingIps: number;
    readonly securityGroups: number;
}

export interface StackConfig {
    readonly stack: string;
    readonly externalNetwork?: string;
    readonly existingNetwork?: { readonly networkId: string; readonly subnetId: string };
    readonly privateCidr: string;
    readonly dnsServers: readonly string[];
    readonly adminCidrs: readonly string[];
    /** Where researchers SSH from to their jump-only bastion accounts (beside adminCidrs). */
    readonly researcherCidrs: readonly string[];
    readonly sshPublicKeys: readonly string[];
    readonly adminUser: string;
    readonly image: ImageConfig;
    readonly bootVolumeGb: number;
    readonly volumeTypes: readonly string[];
    readonly flavors: Readonly<Record<string, { vcpus: number; ramGb: number }>>;
    /** The deployed roles, in the canonical order of ROLE_NAMES. */
    readonly roles: Readonly<Partial<Record<RoleName, RoleConfig>>>;
    readonly publicHostname: string;
    readonly letsencryptEmail?: string;
    readonly sites: readonly Site[];
    readonly researchers: readonly Researcher[];
    readonly apps: readonly App[];
    readonly dropAppDatabases: readonly string[];
    readonly sqlEngine: "mariadb" | "postgresql";
    readonly packageSource: "upstream" | "debian";
    readonly downloads: Readonly<Record<"cantaloupe" | "basex" | "julia" | "saxon", Download>> & {
        /** restic's upstream binary (.bz2); unset: Debian's package. */
        readonly restic?: Download;
    };
    readonly protectData: boolean;
    /** Roles whose instance takes the current template and image on this `up` (rebuild on purpose). */
    readonly rebuild: readonly RoleName[];
    /** What the project may use; raise it here once a larger allocation is granted. */
    readonly allocation: Allocation;
    readonly sharesAllocationWith: readonly string[];
    readonly day2: boolean;
    /** Off-site backups of every stateful role; absent: none (the preview warns in prod). */
    readonly backup?: BackupSettings;
    /** Who the alerts reach; absent: nobody (Alertmanager's UI only). */
    readonly alerts?: AlertSettings;
}
