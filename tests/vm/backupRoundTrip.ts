/**
 * The off-site backup round trip of one stateful role, shared by tests/vm/backup.test.ts (its own
 * VMs, one at a time) and tests/vm/roles.test.ts (the backup on the guest it already booted for
 * the role's checks, the restore on a new VM in the background):
 * - `startS3Server`: rclone's `serve s3` on the host bridge (tests/harness/s3-server.sh), and the
 *   backup settings and secrets pointing at it;
 * - `backUpRole`: data (files and database rows) on a healthy guest, the role's day-2 script
 *   with the backup fragment pushed twice (idempotent), a backup and an incremental one;
 * - `restoreRole`: a new VM with the same hostname on an EMPTY data disk, the same day-2 script,
 *   the runbook's restore commands run verbatim (docs/backup.md), then byte-identical files
 *   and the same query answers.
 * Does not prove Arbutus itself (its S3 dialect, TLS, quotas) nor the timers firing on their
 * calendar: the backups here are run by hand.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BackupSecrets, BackupSettings } from "../../components/backup";
import { renderDay2Script } from "../../components/day2";
import { harnessDay2Script, harnessSecrets } from "../harness/vm/inputs";
import { RoleName } from "../../components/roles";
import { UserDataInput } from "../../components/userData";
import {
    BaseImage,
    fakeVolumeSerial,
    HOST_PRIVATE_IP,
    REPO_ROOT,
    Vm,
    withVms,
} from "../harness/vm/qemu";
import { defaultKeyDir, roleVm, waitHealthy } from "../harness/vm/roleVm";

const S3_SCRIPT = path.join(REPO_ROOT, "tests", "harness", "s3-server.sh");

/** The host's S3 server and the backup configuration that points at it. */
export interface BackupTarget {
    readonly dir: string;
    readonly settings: BackupSettings;
    readonly secrets: BackupSecrets;
    /** Stops the server (also done when the process exits). */
    readonly stop: () => void;
}

/** Starts rclone's S3 server with its objects in `dir`, on the host bridge at `port`. */
export function startS3Server(dir: string, port: number): BackupTarget {
    const env = {
        ...process.env,
        OUVROIR_S3_DIR: dir,
        OUVROIR_S3_ADDR: `${HOST_PRIVATE_IP}:${port}`,
    };
    const out = execFileSync("bash", [S3_SCRIPT, "start"], { env, encoding: "utf8" });
    let stopped = false;
    const stop = (): void => {
        if (stopped) return;
        stopped = true;
        execFileSync("bash", [S3_SCRIPT, "stop"], { env, stdio: "ignore" });
    };
    // Ctrl-C or a timeout ends the process without afterAll: the server must not outlive it.
    process.on("exit", stop);
    const kv = Object.fromEntries(
        out
            .trim()
            .split("\n")
            .map((l) => l.split(/=(.*)/s).slice(0, 2)),
    );
    return {
        dir,
        settings: {
            endpoint: kv.S3_ENDPOINT as string,
            bucket: kv.S3_BUCKET as string,
            onCalendar: "*-*-* 03:15:00",
            keepDaily: 7,
            keepWeekly: 4,
            keepMonthly: 6,
        },
        secrets: {
            accessKeyId: kv.S3_ACCESS_KEY as string,
            secretAccessKey: kv.S3_SECRET_KEY as string,
            resticPassword: "vmtest-restic-password-0123456789",
        },
        stop,
    };
}

/**
 * The restore commands of docs/backup.md ("After losing a VM and its volume"), read from the block
 * after its marker and run verbatim: the runbook is what the test proves, not a paraphrase.
 */
const RUNBOOK = path.join(REPO_ROOT, "docs", "backup.md");
const RUNBOOK_MARKER = "<!-- restore commands: run verbatim by tests/vm/backup.test.ts -->";
export function runbookRestoreCommands(): string[] {
    const text = fs.readFileSync(RUNBOOK, "utf8");
    const at = text.indexOf(RUNBOOK_MARKER);
    const block = at < 0 ? null : /```sh\n([\s\S]*?)```/.exec(text.slice(at));
    if (!block?.[1]) throw new Error(`${RUNBOOK}: no sh block after "${RUNBOOK_MARKER}"`);
    return block[1]
        .split("\n")
        .map((l) => l.replace(/\s+#.*$/, "").trim())
        .filter((l) => l.length > 0 && !l.startsWith("#"));
}

async function sh(vm: Vm, command: string, timeoutMs = 600_000): Promise<string> {
    const r = await vm.ssh(command, timeoutMs);
    if (r.code !== 0) {
        throw new Error(
            `${vm.spec.name}: \`${command.slice(0, 200)}\` exited ${r.code}:\n${r.stderr}${r.stdout}`,
        );
    }
    return r.stdout;
}

/** Pushes the role's day-2 script with its backup fragment, rendered as the program renders it. */
async function pushDay2(vm: Vm, input: UserDataInput, target: BackupTarget): Promise<string> {
    const script = harnessDay2Script(
        renderDay2Script(input, harnessSecrets(input), {
            settings: target.settings,
            secrets: target.secrets,
        }),
    );
    const local = path.join(vm.spec.workDir, "day2.sh");
    fs.writeFileSync(local, script, { mode: 0o600 });
    await vm.copyIn(local, "/tmp/ouvroir-day2.sh");
    try {
        return await sh(vm, "sudo bash /tmp/ouvroir-day2.sh 2>&1", 900_000);
    } finally {
        await vm.ssh("rm -f /tmp/ouvroir-day2.sh");
    }
}

/** What a role stores and how the test reads it back. */
interface RoleData {
    /** Puts files and database content on the VM (run once, on the first VM). */
    readonly seed: string;
    /** Prints the database answers that must survive (run on both VMs). */
    readonly query: string;
    /** Directories under /srv/data whose files are not compared: live database files (dumped). */
    readonly liveDirs: readonly string[];
}

const FILES_SEED = (dir: string): string =>
    [
        `sudo install -d -m 0755 ${dir} ${dir}/many`,
        `sudo sh -c 'head -c 30000000 /dev/urandom > ${dir}/bulk.bin'`,
        // One sudo for the 200 files: each sudo costs a fraction of a second under TCG.
        `sudo sh -c 'for i in $(seq 1 200); do echo "fiche $i é" > ${dir}/many/fiche-$i.txt; done'`,
        `sudo ln -sfn many/fiche-1.txt ${dir}/link-to-first`,
        `sudo chmod 0640 ${dir}/many/fiche-7.txt`,
    ].join(" && ");

const ROLE_DATA: Partial<Record<RoleName, RoleData>> = {
    app: {
        seed: [
            FILES_SEED("/srv/data/apps/testdata"),
            `sudo mariadb -e "CREATE DATABASE ouvroir_test CHARACTER SET utf8mb4; USE ouvroir_test; ` +
                `CREATE TABLE ouvroir_test.items (id INT PRIMARY KEY, title VARCHAR(200), body MEDIUMBLOB); ` +
                `INSERT INTO ouvroir_test.items SELECT seq, CONCAT('Œuvre n°', seq), REPEAT(SHA2(seq, 256), 40) FROM seq_1_to_5000; ` +
                `CREATE USER 'lab'@'10.209.0.%' IDENTIFIED BY 'lab-pw'; GRANT SELECT ON ouvroir_test.* TO 'lab'@'10.209.0.%';"`,
        ].join(" && "),
        query:
            `sudo mariadb -N -e "SET SESSION group_concat_max_len = 10000000; ` +
            `SELECT COUNT(*), SUM(CRC32(body)), MD5(GROUP_CONCAT(title ORDER BY id)) FROM ouvroir_test.items; ` +
            `SELECT CONCAT(user, '@', host) FROM mysql.user WHERE user = 'lab'; SHOW GRANTS FOR 'lab'@'10.209.0.%';"`,
        liveDirs: ["./mysql", "./postgresql"],
    },
    xmldb: {
        seed: [
            FILES_SEED("/srv/data/uploads"),
            // Two databases created by the BaseX server (its client reads the password on stdin;
            // Debian's 9.7 has no HTTP API, only the read-only gateway).
            `seq 1 3000 | awk 'BEGIN{print "<items>"} {printf "<item id=\\"%d\\">Lettre n°%d é</item>\\n", $1, $1} END{print "</items>"}' | sudo tee /srv/data/uploads/items.xml >/dev/null`,
            `printf '<letters><letter from="Diderot">Mon amie</letter></letters>' | sudo tee /srv/data/uploads/letters.xml >/dev/null`,
            `printf 'CREATE DB catalogue /srv/data/uploads/items.xml\\nCREATE DB letters /srv/data/uploads/letters.xml\\n' > /tmp/mk.bxs`,
            `sudo bash -c '. /etc/ouvroir/basex.env && cat /srv/data/basex/admin-password | java -XX:TieredStopAtLevel=1 -cp "$BASEX_CP" org.basex.BaseXClient -p1984 -Uadmin -c /tmp/mk.bxs'`,
        ].join(" && "),
        query:
            `pw="$(sudo cat /srv/data/basex/admin-password)" && curl -sf -u "admin:$pw" -G http://127.0.0.1:8080/rest ` +
            `--data-urlencode "query=string-join((string-join(sort(db:list()), ','), ` +
            `string(count(db:open('catalogue')//item)), string(hash:md5(string-join(db:open('catalogue')//item/string(), '|'))), ` +
            `string(db:open('letters')//letter/@from)), ' ')"`,
        liveDirs: ["./basex/data/*"],
    },
};

/** The roles with a round trip (the stateful ones whose data the test knows how to seed). */
export const BACKUP_ROLES = Object.keys(ROLE_DATA) as RoleName[];

/**
 * The roles named by the environment variable `variable` (comma-separated, `fallback` when
 * unset); a role without a round trip is refused, naming the variable.
 */
export function backupRolesFrom(variable: string, fallback: string): RoleName[] {
    const roles = (process.env[variable] ?? fallback)
        .split(",")
        .map((r) => r.trim())
        .filter((r) => r.length > 0) as RoleName[];
    for (const r of roles) {
        if (!BACKUP_ROLES.includes(r)) {
            throw new Error(
                `${variable}: no backup round trip for ${r} (${BACKUP_ROLES.join(", ")})`,
            );
        }
    }
    return roles;
}

function roleData(role: RoleName): RoleData {
    const data = ROLE_DATA[role];
    if (!data) throw new Error(`no backup test data for role ${role} (${BACKUP_ROLES.join(", ")})`);
    return data;
}

/**
 * A manifest of the data volume: path, mode, owner, size and SHA-256 of every file, without the
 * live database directories (their content is compared through queries) and lost+found.
 */
function manifestCommand(role: RoleData): string {
    const prune = ["./lost+found", ...role.liveDirs]
        .map((p) => `\\( -path '${p}' -type d \\) -prune -o`)
        .join(" ");
    return (
        `cd /srv/data && sudo find . ${prune} \\( -type f -o -type l \\) -printf '%p %m %u:%g %s %l\\n' | sort > /tmp/m.txt && ` +
        `sudo find . ${prune} -type f -print0 | sort -z | sudo xargs -0 sha256sum > /tmp/s.txt && cat /tmp/m.txt /tmp/s.txt`
    );
}

function s3Bytes(target: BackupTarget, hostname: string): number {
    const dir = path.join(target.dir, "objects", target.settings.bucket, hostname);
    const out = execFileSync("du", ["-sb", dir], { encoding: "utf8" });
    return Number(out.split(/\s/)[0]);
}

/** What the backup half leaves for the restore half. */
export interface BackedUp {
    readonly role: RoleName;
    readonly hostname: string;
    /** The data volume's manifest (files, modes, owners, checksums) at backup time. */
    readonly manifest: string;
    /** The database answers at backup time. */
    readonly answers: string;
    /** e.g. "214 files, 45.6 MB, backup 17 s (incremental 11 s), 31.0 MB in the bucket". */
    readonly figure: string;
}

/**
 * After another backup of the same guest (the monitoring test's, once its failure was fixed):
 * the restore takes the latest snapshot, so the manifest to compare with is taken again.
 */
export async function afterAnotherBackup(vm: Vm, b: BackedUp): Promise<BackedUp> {
    return { ...b, manifest: await sh(vm, manifestCommand(roleData(b.role))) };
}

/** Seeds a healthy guest of `role`, pushes the backup fragment twice, backs up twice. */
export async function backUpRole(
    vm: Vm,
    input: UserDataInput,
    role: RoleName,
    target: BackupTarget,
): Promise<BackedUp> {
    const data = roleData(role);
    await sh(vm, data.seed);
    const answers = (await sh(vm, data.query)).trim();
    expect(answers.length).toBeGreaterThan(10);

    const first = await pushDay2(vm, input, target);
    expect(first).toMatch(/ouvroir backup: repository initialised/);
    // Idempotent: a second push changes nothing and initialises nothing, and the applier it
    // runs again restarts no database (the same main process before and after).
    const db = { app: "mariadb.service", xmldb: "basex.service" }[role as "app" | "xmldb"];
    const pid = async (): Promise<string> =>
        db ? (await sh(vm, `systemctl show -p MainPID --value ${db}`)).trim() : "";
    const before = await pid();
    const second = await pushDay2(vm, input, target);
    expect(await pid()).toBe(before);
    if (db) expect(before).not.toBe("0");
    expect(second).not.toMatch(/repository initialised/);
    expect(second).toMatch(new RegExp(`ouvroir backup: ${role} of ${input.hostname} scheduled`));
    expect(await sh(vm, "sudo stat -c '%a %U' /etc/ouvroir/backup.env")).toBe("600 root\n");
    expect(
        await sh(vm, "systemctl is-enabled ouvroir-backup.timer ouvroir-backup-check.timer"),
    ).toBe("enabled\nenabled\n");
    // The credentials are nowhere else on the VM's disk (user data included).
    const leak = await vm.ssh(
        `sudo grep -rlF '${target.secrets.secretAccessKey}' /etc /var/lib/cloud /srv/data /usr/local 2>/dev/null`,
    );
    expect(leak.stdout.trim()).toBe("/etc/ouvroir/backup.env");

    const t0 = Date.now();
    await sh(vm, "sudo ouvroir-backup run 2>&1", 1_800_000);
    const backupS = (Date.now() - t0) / 1000;
    // A second run is incremental.
    const t1 = Date.now();
    await sh(vm, "sudo ouvroir-backup run 2>&1", 1_800_000);
    const againS = (Date.now() - t1) / 1000;
    const summary = JSON.parse(
        await sh(vm, "sudo cat /var/lib/ouvroir/backup/last-summary.json"),
    ) as { total_bytes_processed: number; total_files_processed: number };
    // A third run, then retention has something to remove whatever restic's version.
    await sh(vm, "sudo ouvroir-backup run 2>&1", 1_800_000);
    const snaps = await sh(vm, "sudo ouvroir-backup snapshots --compact");
    // Retention ran after each backup: --keep-daily keeps the newest snapshot of a day, and
    // restic 0.17 and later (Debian 13's 0.18) also keep the oldest one while a period's count
    // is not filled ("oldest daily snapshot"): of three same-day snapshots, 2 stay (1 before).
    const [, minor = "0"] = /restic 0\.(\d+)\./.exec(await sh(vm, "restic version")) ?? [];
    expect(snaps).toMatch(new RegExp(`^${Number(minor) >= 17 ? 2 : 1} snapshots$`, "m"));
    const manifest = await sh(vm, manifestCommand(data));
    expect(manifest).toMatch(/backup-dumps\//);
    return {
        role,
        hostname: input.hostname,
        manifest,
        answers,
        figure:
            `${summary.total_files_processed} files, ${(summary.total_bytes_processed / 1e6).toFixed(1)} MB, ` +
            `backup ${backupS.toFixed(0)} s (incremental ${againS.toFixed(0)} s), ` +
            `${(s3Bytes(target, input.hostname) / 1e6).toFixed(1)} MB in the bucket`,
    };
}

export interface RestoreOptions {
    readonly target: BackupTarget;
    readonly base: BaseImage;
    readonly publicKey: string;
    /** The new VM's directory; must not hold a data disk yet (an empty volume is created). */
    readonly workDir: string;
    readonly bootTimeoutMs: number;
    /** A fixed VM slot (a restore in the background of roles.test.ts). */
    readonly slot?: number;
}

/**
 * A new VM of the backed-up role, same hostname, on an empty data disk: the day-2 script, the
 * runbook's restore, then byte-identical files and the same answers. Returns its figure.
 */
export async function restoreRole(backedUp: BackedUp, o: RestoreOptions): Promise<string> {
    const { role } = backedUp;
    const data = roleData(role);
    const dataDisk = {
        path: path.join(o.workDir, "data.qcow2"),
        serial: fakeVolumeSerial(),
        sizeGb: 8,
    };
    expect(fs.existsSync(dataDisk.path)).toBe(false);
    const { vm, input } = roleVm(
        {
            role,
            name: `${role}-restored`,
            workDir: o.workDir,
            keyDir: defaultKeyDir(),
            dataDisk,
            slot: o.slot,
        },
        o.publicKey,
    );
    expect(input.hostname).toBe(backedUp.hostname);
    let figure = "";
    await withVms([vm], async () => {
        await vm.start(o.base);
        await vm.waitCloudInit(o.bootTimeoutMs);
        await waitHealthy(vm, role, 10 * 60_000);
        // Empty volume: none of the data is there before the restore.
        expect((await vm.ssh(data.query)).stdout.trim()).not.toBe(backedUp.answers);
        const pushed = await pushDay2(vm, input, o.target);
        expect(pushed).not.toMatch(/repository initialised/);

        // The runbook's commands, as an operator types them.
        const commands = runbookRestoreCommands();
        expect(commands).toContain("sudo ouvroir-restore");
        const t0 = Date.now();
        let log = "";
        for (const c of commands) log += await sh(vm, `${c} 2>&1`, 1_800_000);
        const restoreS = (Date.now() - t0) / 1000;
        expect(log).toMatch(new RegExp(`${input.hostname} +ouvroir`));
        expect(log).toMatch(/restore of latest finished/);
        await waitHealthy(vm, role, 5 * 60_000);

        expect(await sh(vm, manifestCommand(data))).toBe(backedUp.manifest);
        expect((await sh(vm, data.query)).trim()).toBe(backedUp.answers);
        const files = backedUp.manifest.split("\n").filter((l) => /^[0-9a-f]{64} /.test(l)).length;
        figure = `restore ${restoreS.toFixed(0)} s, ${files} files byte-identical, queries identical`;
    });
    return figure;
}
