// Does not prove Arbutus itself (its S3 dialect, TLS, quotas) nor the timers firing on their calendar: the server is rclone's `serve s3` on the host, and the test runs the backup by hand.
/**
 * Off-site backup and restore in real VMs, as a disaster would need it: a role's VM gets data
 * (files and database rows), the day-2 script with the backup fragment is pushed, a backup goes
 * to a real S3 server on the host; then the VM and its data disk are destroyed, a new VM boots on
 * an EMPTY disk, receives the same day-2 script, runs `ouvroir-restore`, and must have
 * byte-identical files and the same query answers. One VM at a time.
 *
 * First, in seconds and without a VM: the same fragment and scripts in a private mount namespace
 * on the host (tmpfs over the paths they write, systemctl stubbed), against the same S3 server:
 * init guard, wrong-password guard, backup, restore, check, a missing snapshot refused.
 *
 *   npm run test:vm -- tests/vm/backup.test.ts
 *   OUVROIR_BACKUP_ROLES=app npm run test:vm -- tests/vm/backup.test.ts   (roles: app, xmldb)
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BackupSettings, BackupSecrets, renderBackupSetup } from "../../components/backup";
import { renderDay2Script } from "../../components/day2";
import { RoleName } from "../../components/roles";
import { UserDataInput } from "../../components/userData";
import {
    BaseImage,
    ensureBaseImage,
    ensureBridge,
    ensureSshKey,
    fakeVolumeSerial,
    HOST_PRIVATE_IP,
    REPO_ROOT,
    Vm,
    VM_CACHE,
    withVms,
} from "../../scripts/vm/qemu";
import { defaultKeyDir, roleVm, waitHealthy } from "../../scripts/vm/roleVm";

const BOOT_TIMEOUT_MS = Number(process.env.OUVROIR_VM_BOOT_TIMEOUT_S ?? "2400") * 1000;
jest.setTimeout(2 * BOOT_TIMEOUT_MS + 30 * 60_000);

const ROLES_UNDER_TEST = (process.env.OUVROIR_BACKUP_ROLES ?? "app,xmldb")
    .split(",")
    .map((r) => r.trim())
    .filter((r) => r.length > 0) as RoleName[];
const RUN_DIR = path.join(VM_CACHE, "runs", `backup-${process.pid}`);
const S3_DIR = path.join(RUN_DIR, "s3");
const S3_ADDR = `${HOST_PRIVATE_IP}:${process.env.OUVROIR_BACKUP_S3_PORT ?? "9107"}`;
const S3_SCRIPT = path.join(REPO_ROOT, "scripts", "s3-server.sh");
const s3Env = { ...process.env, OUVROIR_S3_DIR: S3_DIR, OUVROIR_S3_ADDR: S3_ADDR };

/**
 * The restore commands of docs/backup.md ("After losing a VM and its volume"), read from the block
 * after its marker and run verbatim: the runbook is what this test proves, not a paraphrase.
 */
const RUNBOOK = path.join(REPO_ROOT, "docs", "backup.md");
const RUNBOOK_MARKER = "<!-- restore commands: run verbatim by tests/vm/backup.test.ts -->";
function runbookRestoreCommands(): string[] {
    const text = fs.readFileSync(RUNBOOK, "utf8");
    const at = text.indexOf(RUNBOOK_MARKER);
    const block = at < 0 ? null : /```sh\n([\s\S]*?)```/.exec(text.slice(at));
    if (!block?.[1]) throw new Error(`${RUNBOOK}: no sh block after "${RUNBOOK_MARKER}"`);
    return block[1]
        .split("\n")
        .map((l) => l.replace(/\s+#.*$/, "").trim())
        .filter((l) => l.length > 0 && !l.startsWith("#"));
}

let base: BaseImage;
let publicKey = "";
let settings: BackupSettings;
let secrets: BackupSecrets;
const figures: string[] = [];
/** Per role: what the backup test measured, completed by the restore test. */
const measured: Partial<Record<RoleName, { startedAt: number; backup: string }>> = {};

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
async function pushDay2(vm: Vm, input: UserDataInput): Promise<string> {
    const script = renderDay2Script(
        input,
        { basexAdminPassword: "vmtestBaseXadmin0123456789" },
        { settings, secrets },
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
        `for i in $(seq 1 200); do echo "fiche $i é" | sudo tee ${dir}/many/fiche-$i.txt >/dev/null; done`,
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
            `sudo bash -c '. /etc/ouvroir/basex.env && cat /srv/data/basex/admin-password | java -cp "$BASEX_CP" org.basex.BaseXClient -p1984 -Uadmin -c /tmp/mk.bxs'`,
        ].join(" && "),
        query:
            `pw="$(sudo cat /srv/data/basex/admin-password)" && curl -sf -u "admin:$pw" -G http://127.0.0.1:8080/rest ` +
            `--data-urlencode "query=string-join((string-join(sort(db:list()), ','), ` +
            `string(count(db:open('catalogue')//item)), string(hash:md5(string-join(db:open('catalogue')//item/string(), '|'))), ` +
            `string(db:open('letters')//letter/@from)), ' ')"`,
        liveDirs: ["./basex/data/*"],
    },
};

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

function s3Bytes(hostname: string): number {
    const dir = path.join(S3_DIR, "objects", settings.bucket, hostname);
    const out = execFileSync("du", ["-sb", dir], { encoding: "utf8" });
    return Number(out.split(/\s/)[0]);
}

beforeAll(() => {
    // The namespace test alone (OUVROIR_BACKUP_ROLES="") needs no image.
    if (ROLES_UNDER_TEST.length > 0) base = ensureBaseImage();
    publicKey = ensureSshKey(defaultKeyDir()).publicKey;
    fs.mkdirSync(RUN_DIR, { recursive: true });
    ensureBridge();
    const out = execFileSync("bash", [S3_SCRIPT, "start"], { env: s3Env, encoding: "utf8" });
    // Ctrl-C or a timeout ends the process without afterAll: the server must not outlive it.
    process.on("exit", () => {
        execFileSync("bash", [S3_SCRIPT, "stop"], { env: s3Env, stdio: "ignore" });
    });
    const kv = Object.fromEntries(
        out
            .trim()
            .split("\n")
            .map((l) => l.split(/=(.*)/s).slice(0, 2)),
    );
    settings = {
        endpoint: kv.S3_ENDPOINT as string,
        bucket: kv.S3_BUCKET as string,
        onCalendar: "*-*-* 03:15:00",
        keepDaily: 7,
        keepWeekly: 4,
        keepMonthly: 6,
    };
    secrets = {
        accessKeyId: kv.S3_ACCESS_KEY as string,
        secretAccessKey: kv.S3_SECRET_KEY as string,
        resticPassword: "vmtest-restic-password-0123456789",
    };
});

afterAll(() => {
    execFileSync("bash", [S3_SCRIPT, "stop"], { env: s3Env, stdio: "inherit" });
    console.log(["backup figures", ...figures].join("\n"));
    if (!process.env.OUVROIR_VM_KEEP) fs.rmSync(RUN_DIR, { recursive: true, force: true });
});

/** Paths the fragment and scripts write, hidden under tmpfs in the namespace. */
const NS_MOUNTS = [
    "/etc/ouvroir",
    "/usr/local/sbin",
    "/usr/local/lib",
    "/etc/systemd/system",
    "/srv",
    "/var/lib/ouvroir",
    "/var/cache/restic",
];

describe("fragment and scripts on the host, in a private mount namespace (no VM)", () => {
    const canRun = process.getuid?.() === 0 && fs.existsSync("/usr/bin/unshare");
    const run = canRun ? it : it.skip;

    run("init once, refuse another password, back up, restore byte-identical, check", () => {
        const dir = path.join(RUN_DIR, "ns");
        fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
        fs.writeFileSync(
            path.join(dir, "bin", "systemctl"),
            [
                "#!/bin/bash",
                'echo "[systemctl] $*" >&2',
                'case "$1" in',
                '    list-units) [[ "$*" == *nginx* ]] && echo "nginx.service loaded active running nginx" ;;',
                "    cat) exit 1 ;;",
                "esac",
                "exit 0",
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        const host = "nstest-web-1";
        fs.writeFileSync(
            path.join(dir, "frag1.sh"),
            renderBackupSetup("web", host, settings, secrets),
        );
        fs.writeFileSync(
            path.join(dir, "frag2.sh"),
            renderBackupSetup("web", host, settings, {
                ...secrets,
                resticPassword: "another-password-0123",
            }),
        );
        const tree =
            "cd /srv/data && find . \\( -path ./lost+found -o -path ./new-after \\) -prune -o -type f -print0 | " +
            "sort -z | xargs -0 sha256sum | sha256sum";
        const script = [
            "set -uo pipefail",
            ...NS_MOUNTS.map((m) => `mkdir -p ${m} && mount -t tmpfs none ${m}`),
            `export PATH=${dir}/bin:$PATH`,
            "mkdir -p /srv/data/www/atlas /srv/data/lost+found",
            "head -c 3000000 /dev/urandom > /srv/data/www/atlas/big.bin",
            "echo '<h1>Atlas</h1>' > /srv/data/www/atlas/index.html",
            `bash -c 'set -euo pipefail; . ${dir}/frag1.sh'; echo "push1=$?"`,
            `bash -c 'set -euo pipefail; . ${dir}/frag1.sh'; echo "push2=$?"`,
            `bash -c 'set -euo pipefail; . ${dir}/frag2.sh'; echo "push3=$?"`,
            `echo "envmode=$(stat -c '%a %U' /etc/ouvroir/backup.env)"`,
            `echo "envpw=$(grep -c '${secrets.resticPassword}' /etc/ouvroir/backup.env)"`,
            'ouvroir-backup run; echo "backup=$?"',
            `echo "before=$(${tree})"`,
            "rm -rf /srv/data/www; echo new > /srv/data/new-after",
            'ouvroir-restore; echo "restore=$?"',
            `echo "after=$(${tree})"`,
            'echo "kept=$(cat /srv/data/new-after)"',
            'ouvroir-backup check; echo "check=$?"',
            'ouvroir-restore deadbeef; echo "missing=$?"',
            "",
        ].join("\n");
        fs.writeFileSync(path.join(dir, "test.sh"), script);
        const out = execFileSync(
            "unshare",
            ["-m", "--propagation", "private", "bash", path.join(dir, "test.sh")],
            {
                encoding: "utf8",
                stdio: ["ignore", "pipe", "pipe"],
                timeout: 300_000,
            },
        );
        const v = (k: string): string =>
            new RegExp(`^${k}=(.*)$`, "m").exec(out)?.[1] ?? `(no ${k})`;
        expect(out.match(/ouvroir backup: repository initialised/g)?.length).toBe(1);
        expect([v("push1"), v("push2"), v("push3")]).toEqual(["0", "0", "1"]);
        // The refused push kept the working credentials.
        expect([v("envmode"), v("envpw")]).toEqual(["600 root", "1"]);
        expect([v("backup"), v("restore"), v("check"), v("missing")]).toEqual(["0", "0", "0", "1"]);
        expect(v("after")).toBe(v("before"));
        expect(v("kept")).toBe("new");
        figures.push(
            "host namespace: init once, wrong password refused, backup/restore/check passed",
        );
    });
});

describe.each(ROLES_UNDER_TEST.length > 0 ? ROLES_UNDER_TEST : ["none" as RoleName])(
    "%s: back up, destroy VM and volume, restore on an empty volume",
    (role) => {
        const vmIt = ROLES_UNDER_TEST.length > 0 ? it : it.skip;
        if (ROLES_UNDER_TEST.length > 0 && !ROLE_DATA[role]) {
            throw new Error(`no backup test data for role ${role} (app, xmldb)`);
        }
        const data = ROLE_DATA[role] ?? (ROLE_DATA.app as RoleData);
        let manifest = "";
        let answers = "";

        vmIt("backs up files and a consistent database dump to the host's S3 server", async () => {
            const startedAt = Date.now();
            const { vm, input } = roleVm(
                { role, workDir: path.join(RUN_DIR, `${role}-a`), keyDir: defaultKeyDir() },
                publicKey,
            );
            await withVms([vm], async () => {
                await vm.start(base);
                await vm.waitCloudInit(BOOT_TIMEOUT_MS);
                await waitHealthy(vm, role, 10 * 60_000);
                await sh(vm, data.seed);
                answers = (await sh(vm, data.query)).trim();
                expect(answers.length).toBeGreaterThan(10);

                const first = await pushDay2(vm, input);
                expect(first).toMatch(/ouvroir backup: repository initialised/);
                // Idempotent: a second push changes nothing and initialises nothing.
                const second = await pushDay2(vm, input);
                expect(second).not.toMatch(/repository initialised/);
                expect(second).toMatch(
                    new RegExp(`ouvroir backup: ${role} of ${input.hostname} scheduled`),
                );
                expect(await sh(vm, "sudo stat -c '%a %U' /etc/ouvroir/backup.env")).toBe(
                    "600 root\n",
                );
                expect(
                    await sh(
                        vm,
                        "systemctl is-enabled ouvroir-backup.timer ouvroir-backup-check.timer",
                    ),
                ).toBe("enabled\nenabled\n");
                // The credentials are nowhere else on the VM's disk (user data included).
                const leak = await vm.ssh(
                    `sudo grep -rlF '${secrets.secretAccessKey}' /etc /var/lib/cloud /srv/data /usr/local 2>/dev/null`,
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
                ) as {
                    total_bytes_processed: number;
                    total_files_processed: number;
                    data_added: number;
                };
                const snaps = await sh(vm, "sudo ouvroir-backup snapshots --compact");
                // Retention ran after each backup: --keep-daily keeps the newest snapshot of a day.
                expect(snaps).toMatch(/^1 snapshots$/m);
                manifest = await sh(vm, manifestCommand(data));
                expect(manifest).toMatch(/backup-dumps\//);
                measured[role] = {
                    startedAt,
                    backup:
                        `${summary.total_files_processed} files, ${(summary.total_bytes_processed / 1e6).toFixed(1)} MB, ` +
                        `backup ${backupS.toFixed(0)} s (incremental ${againS.toFixed(0)} s), ` +
                        `${(s3Bytes(input.hostname) / 1e6).toFixed(1)} MB in the bucket`,
                };
                figures.push(`backup ${role}: ${measured[role]?.backup}`);
            });
            // Destroy the VM and its volume.
            fs.rmSync(path.join(RUN_DIR, `${role}-a`), { recursive: true, force: true });
        });

        vmIt(
            "restores byte-identical files and the same query answers on a new VM with an empty volume",
            async () => {
                expect(manifest).not.toBe("");
                const dataDisk = {
                    path: path.join(RUN_DIR, `${role}-b`, "data.qcow2"),
                    serial: fakeVolumeSerial(),
                    sizeGb: 8,
                };
                expect(fs.existsSync(dataDisk.path)).toBe(false);
                const { vm, input } = roleVm(
                    {
                        role,
                        workDir: path.join(RUN_DIR, `${role}-b`),
                        keyDir: defaultKeyDir(),
                        dataDisk,
                    },
                    publicKey,
                );
                await withVms([vm], async () => {
                    await vm.start(base);
                    await vm.waitCloudInit(BOOT_TIMEOUT_MS);
                    await waitHealthy(vm, role, 10 * 60_000);
                    // Empty volume: none of the data is there before the restore.
                    expect((await vm.ssh(data.query)).stdout.trim()).not.toBe(answers);
                    const pushed = await pushDay2(vm, input);
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

                    const after = await sh(vm, manifestCommand(data));
                    expect(after).toBe(manifest);
                    expect((await sh(vm, data.query)).trim()).toBe(answers);
                    const files = manifest
                        .split("\n")
                        .filter((l) => /^[0-9a-f]{64} /.test(l)).length;
                    const wallS = (Date.now() - (measured[role]?.startedAt ?? Date.now())) / 1000;
                    figures.push(
                        `backup ${role}: ${measured[role]?.backup}; restore ${restoreS.toFixed(0)} s, ` +
                            `${files} files byte-identical, queries identical; ` +
                            `wall ${wallS.toFixed(0)} s (2 boots)`,
                    );
                });
            },
        );
    },
);
