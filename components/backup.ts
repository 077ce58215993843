/**
 * Off-site backups with restic to an S3-compatible bucket (prod: Arbutus object storage, another
 * site than Béluga). CONTRACT between the program (config.ts, day2.ts) and the backup scripts:
 * the day-2 step of every stateful role appends `renderBackupSetup(...)`, a bash fragment run as
 * root that installs and schedules the backups. Secrets arrive here, never in user data.
 */
import { RoleName } from "./roles";

export interface BackupSettings {
    /** S3 endpoint URL, e.g. https://object-arbutus.alliancecan.ca */
    readonly endpoint: string;
    readonly bucket: string;
    /** systemd OnCalendar of the backup timer (default "daily"). */
    readonly onCalendar: string;
    readonly keepDaily: number;
    readonly keepWeekly: number;
    readonly keepMonthly: number;
}

export interface BackupSecrets {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    /** restic repository password, from @pulumi/random. */
    readonly resticPassword: string;
}

/** Placeholder until the backup scripts land: installs nothing. */
export function renderBackupSetup(
    role: RoleName,
    hostname: string,
    settings: BackupSettings,
    secrets: BackupSecrets,
): string {
    void role;
    void hostname;
    void settings;
    void secrets;
    return "# backups: not yet implemented\n";
}
