/**
 * Off-site backups with restic to an S3-compatible bucket (prod: Arbutus object storage, another
 * site than Béluga). CONTRACT between the program (config.ts, day2.ts) and the backup scripts:
 * the day-2 step of every stateful role appends `renderBackupSetup(...)`, a bash fragment run as
 * root that installs and schedules the backups. Secrets arrive here, never in user data.
 *
 * The scripts and units live in cloud-init/files/backup/ and are embedded (base64) so the
 * fragment is self-contained; what each role backs up is data, in its spec (components/roles/).
 */
import * as fs from "fs";
import * as path from "path";
import { PUT_FUNCTION, putFile, shellWord as q, systemdValue } from "./escape";
import { BackupPlan, RoleName, ROLES } from "./roles";
import type { Download } from "./userData";
import { LEGACY_ARBUTUS } from "../config/backend";

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

const data = (role: RoleName): string => ROLES[role].dataMountPoint;

/**
 * Pure: a role's backup plan (its spec's `backup`) with what no role keeps: the filesystem's own
 * directory and a half-made dump.
 */
export function backupPlan(role: RoleName): BackupPlan {
    const own = ROLES[role].backup;
    const common = [`${data(role)}/lost+found`, `${data(role)}/backup-dumps/basex.new`];
    return { ...own, excludes: [...common, ...own.excludes] };
}

/** The files of cloud-init/files/backup/ the fragment installs, with their modes. */
export const BACKUP_FILES: readonly {
    readonly source: string;
    readonly path: string;
    readonly mode: string;
}[] = [
    { source: "backup-lib.sh", path: "/usr/local/lib/ouvroir/backup-lib.sh", mode: "0644" },
    { source: "ouvroir-backup.sh", path: "/usr/local/sbin/ouvroir-backup", mode: "0755" },
    { source: "ouvroir-restore.sh", path: "/usr/local/sbin/ouvroir-restore", mode: "0755" },
    {
        source: "ouvroir-backup.service",
        path: "/etc/systemd/system/ouvroir-backup.service",
        mode: "0644",
    },
    {
        source: "ouvroir-backup.timer",
        path: "/etc/systemd/system/ouvroir-backup.timer",
        mode: "0644",
    },
    {
        source: "ouvroir-backup-check.service",
        path: "/etc/systemd/system/ouvroir-backup-check.service",
        mode: "0644",
    },
    {
        source: "ouvroir-backup-check.timer",
        path: "/etc/systemd/system/ouvroir-backup-check.timer",
        mode: "0644",
    },
];

export const BACKUP_FILES_DIR = path.join(__dirname, "..", "cloud-init", "files", "backup");
export const BACKUP_ENV_PATH = "/etc/ouvroir/backup.env";

/** Pure: the problems of a backup setting, each naming its key and the fix (empty: valid). */
export function validateBackupSettings(s: BackupSettings, key = "ouvroir:backup"): string[] {
    const problems: string[] = [];
    let url: URL | undefined;
    try {
        url = new URL(s.endpoint);
    } catch {
        problems.push(
            `${key}.endpoint: "${s.endpoint}" is not a URL (e.g. https://object-arbutus.alliancecan.ca)`,
        );
    }
    if (
        url &&
        (!/^https?:$/.test(url.protocol) ||
            (url.pathname !== "/" && url.pathname !== "") ||
            url.search)
    ) {
        problems.push(
            `${key}.endpoint: give only scheme and host, e.g. https://object-arbutus.alliancecan.ca`,
        );
    }
    if (url?.protocol === "http:" && !/^(127\.|10\.|localhost$)/.test(url.hostname)) {
        problems.push(`${key}.endpoint: keys and data would cross the network in clear: use https`);
    }
    // Legacy Arbutus (decommissioned in 2026 with its object storage): refused with the way out.
    if (url && LEGACY_ARBUTUS.test(url.hostname)) {
        problems.push(
            `${key}.endpoint: "${s.endpoint}" is legacy Arbutus's object storage, decommissioned in 2026: use https://object-arbutus.alliancecan.ca (new Arbutus), create the bucket there and copy the repository (docs/migration.md, "Object storage: from legacy Arbutus to new Arbutus")`,
        );
    }
    // S3 bucket naming rules (the path-style subset Ceph RGW accepts too).
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s.bucket) || s.bucket.includes("..")) {
        problems.push(
            `${key}.bucket: "${s.bucket}" is not a valid bucket name (3-63 of a-z 0-9 . -)`,
        );
    }
    if (!/^[A-Za-z0-9 :*,./~-]+$/.test(s.onCalendar)) {
        problems.push(
            `${key}.onCalendar: "${s.onCalendar}" is not a systemd calendar expression (e.g. daily, *-*-* 02:30:00)`,
        );
    }
    for (const k of ["keepDaily", "keepWeekly", "keepMonthly"] as const) {
        if (!Number.isInteger(s[k]) || s[k] < 0)
            problems.push(`${key}.${k}: ${s[k]} must be an integer ≥ 0`);
    }
    if (s.keepDaily + s.keepWeekly + s.keepMonthly === 0) {
        problems.push(
            `${key}: keepDaily, keepWeekly and keepMonthly are all 0: forget would delete every snapshot`,
        );
    }
    return problems;
}

/** The repository of one VM: one prefix per hostname in the stack's bucket. */
export function resticRepository(settings: BackupSettings, hostname: string): string {
    return `s3:${settings.endpoint.replace(/\/+$/, "")}/${settings.bucket}/${hostname}`;
}

function readBackupFile(source: string, vars: Readonly<Record<string, string>>): string {
    const text = fs.readFileSync(path.join(BACKUP_FILES_DIR, source), "utf8");
    return text.replace(/\{\{([A-Za-z0-9_]+)\}\}/g, (_m, name: string) => {
        const value = vars[name];
        if (value === undefined)
            throw new Error(`cloud-init/files/backup/${source}: unknown placeholder {{${name}}}`);
        return value;
    });
}

/** The role's /etc/ouvroir/backup.conf: sourced by the scripts; no secret in it. */
export function renderBackupConf(
    role: RoleName,
    hostname: string,
    settings: BackupSettings,
): string {
    const plan = backupPlan(role);
    return [
        `# ouvroir backup settings for ${hostname} (${role}): rendered by components/backup.ts`,
        `BACKUP_ROLE=${q(role)}`,
        `BACKUP_HOST=${q(hostname)}`,
        `BACKUP_DATA_DIR=${q(data(role))}`,
        `BACKUP_DUMPS=${q(plan.dumps.join(" "))}`,
        `BACKUP_SERVICES=${q(plan.services.join(" "))}`,
        `BACKUP_AFTER_RESTORE=${q(plan.afterRestore.join(" "))}`,
        `BACKUP_KEEP_DAILY=${settings.keepDaily}`,
        `BACKUP_KEEP_WEEKLY=${settings.keepWeekly}`,
        `BACKUP_KEEP_MONTHLY=${settings.keepMonthly}`,
        "",
    ].join("\n");
}

/** The 0600 environment file: the only place the keys and the restic password are written. */
export function renderBackupEnv(
    hostname: string,
    settings: BackupSettings,
    secrets: BackupSecrets,
): string {
    return [
        `RESTIC_REPOSITORY=${q(resticRepository(settings, hostname))}`,
        `AWS_ACCESS_KEY_ID=${q(secrets.accessKeyId)}`,
        `AWS_SECRET_ACCESS_KEY=${q(secrets.secretAccessKey)}`,
        `RESTIC_PASSWORD=${q(secrets.resticPassword)}`,
        "",
    ].join("\n");
}

/**
 * restic: Debian's package (0.18 on Debian 13), or `ouvroir:downloads.restic`, the .bz2 restic
 * publishes, fetched with its SHA-256 checked and installed as /usr/local/bin/restic (before
 * /usr/bin on PATH) when the installed one is another version.
 */
export function resticInstall(restic: Download | undefined): string[] {
    if (!restic)
        return [
            // The unattended upgrades of a fresh VM may hold dpkg's lock: wait for it, do not fail.
            "if ! command -v restic >/dev/null 2>&1; then",
            "    export DEBIAN_FRONTEND=noninteractive",
            "    apt-get -o DPkg::Lock::Timeout=600 update -qq",
            "    apt-get -o DPkg::Lock::Timeout=600 install -y -qq restic >/dev/null",
            "fi",
        ];
    const bz2 = `/usr/local/lib/ouvroir/restic-${restic.version}.bz2`;
    return [
        `if [[ "$(/usr/local/bin/restic version 2>/dev/null | cut -d' ' -f2)" != ${q(restic.version)} ]]; then`,
        "    install -d -m 0755 /usr/local/lib/ouvroir",
        "    command -v bunzip2 >/dev/null || apt-get -o DPkg::Lock::Timeout=600 install -y -qq bzip2 >/dev/null",
        `    /usr/local/lib/ouvroir/fetch-verified ${q(restic.url)} ${q(restic.sha256)} ${q(bz2)}`,
        `    bunzip2 -c ${q(bz2)} > /usr/local/bin/restic.ouvroir-new`,
        "    chmod 0755 /usr/local/bin/restic.ouvroir-new",
        "    mv -f /usr/local/bin/restic.ouvroir-new /usr/local/bin/restic",
        "fi",
        `/usr/local/bin/restic version | grep -qF ${q(`restic ${restic.version} `)}`,
    ];
}

/**
 * Pure: the bash fragment (run as root, inside the role's day-2 script) that installs restic,
 * writes the settings and the 0600 credentials, initialises the repository if it does not exist,
 * installs `ouvroir-backup`/`ouvroir-restore` and enables the backup and check timers.
 * Idempotent: re-running it rewrites the same files and initialises nothing.
 */
export function renderBackupSetup(
    role: RoleName,
    hostname: string,
    settings: BackupSettings,
    secrets: BackupSecrets,
    restic?: Download,
): string {
    const problems = validateBackupSettings(settings);
    if (problems.length > 0) throw new Error(`backup of ${hostname}: ${problems.join("; ")}`);
    for (const [k, v] of Object.entries(secrets)) {
        if (typeof v !== "string" || v.length === 0)
            throw new Error(`backup of ${hostname}: secret ${k} is empty`);
    }
    const plan = backupPlan(role);
    const vars = { onCalendar: systemdValue("ouvroir:backup.onCalendar", settings.onCalendar) };
    const lines = [
        `# --- ouvroir backup (restic -> ${settings.endpoint}/${settings.bucket}/${hostname}): components/backup.ts`,
        "(",
        "set -euo pipefail",
        "umask 022",
        PUT_FUNCTION,
        ...resticInstall(restic),
        "install -d -m 0755 /etc/ouvroir /usr/local/lib/ouvroir",
        putFile("/etc/ouvroir/backup.conf", "0644", renderBackupConf(role, hostname, settings)),
        putFile("/etc/ouvroir/backup-excludes", "0644", plan.excludes.join("\n") + "\n"),
    ];
    for (const f of BACKUP_FILES)
        lines.push(putFile(f.path, f.mode, readBackupFile(f.source, vars)));
    // The credentials: created 0600 under umask 077 before a byte is written. They replace the
    // old file only once the repository opens with them (or was created with them): new keys or
    // a new password that do not fit leave the running backups alone and fail here, loudly.
    const env = `${BACKUP_ENV_PATH}.ouvroir-new`;
    const b64 = Buffer.from(renderBackupEnv(hostname, settings, secrets)).toString("base64");
    lines.push(
        `(umask 077 && echo ${q(b64)} | base64 -d > ${env} && chown root:root ${env} && chmod 0600 ${env})`,
        'err="$(mktemp)"',
        // A repository that answers is never initialised again (init would refuse anyway); a wrong
        // password must not be taken for a missing repository.
        `if ! OUVROIR_BACKUP_ENV=${env} /usr/local/sbin/ouvroir-backup restic cat config >/dev/null 2>"$err"; then`,
        `    if grep -qiE 'wrong password|no key found' "$err"; then`,
        `        cat "$err" >&2; rm -f "$err" ${env}`,
        `        echo "ouvroir backup: the repository exists with another password; ${BACKUP_ENV_PATH} kept" >&2`,
        "        exit 1",
        "    fi",
        `    OUVROIR_BACKUP_ENV=${env} /usr/local/sbin/ouvroir-backup restic init`,
        `    echo "ouvroir backup: repository initialised"`,
        "fi",
        `rm -f "$err"`,
        `mv -f ${env} ${BACKUP_ENV_PATH}`,
        "systemctl daemon-reload",
        "systemctl enable --now ouvroir-backup.timer ouvroir-backup-check.timer",
        `echo "ouvroir backup: ${role} of ${hostname} scheduled (${settings.onCalendar.replace(/"/g, "")})"`,
        ")",
    );
    return lines.join("\n") + "\n";
}
