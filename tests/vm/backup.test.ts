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
import { renderBackupSetup } from "../../components/backup";
import { RoleName } from "../../components/roles";
import {
    BaseImage,
    ensureBaseImage,
    ensureBridge,
    ensureSshKey,
    VM_CACHE,
    withVms,
} from "../harness/vm/qemu";
import { defaultKeyDir, roleVm, waitHealthy } from "../harness/vm/roleVm";
import {
    BACKUP_ROLES,
    backupRolesFrom,
    BackedUp,
    backUpRole,
    BackupTarget,
    restoreRole,
    startS3Server,
} from "./backupRoundTrip";

const BOOT_TIMEOUT_MS = Number(process.env.OUVROIR_VM_BOOT_TIMEOUT_S ?? "2400") * 1000;
jest.setTimeout(2 * BOOT_TIMEOUT_MS + 30 * 60_000);

const ROLES_UNDER_TEST = backupRolesFrom("OUVROIR_BACKUP_ROLES", BACKUP_ROLES.join(","));
const RUN_DIR = path.join(VM_CACHE, "runs", `backup-${process.pid}`);

let base: BaseImage;
let publicKey = "";
let target: BackupTarget;
const figures: string[] = [];

beforeAll(() => {
    // The namespace test alone (OUVROIR_BACKUP_ROLES="") needs no image.
    if (ROLES_UNDER_TEST.length > 0) base = ensureBaseImage();
    publicKey = ensureSshKey(defaultKeyDir()).publicKey;
    fs.mkdirSync(RUN_DIR, { recursive: true });
    ensureBridge();
    target = startS3Server(
        path.join(RUN_DIR, "s3"),
        Number(process.env.OUVROIR_BACKUP_S3_PORT ?? "9107"),
    );
});

afterAll(() => {
    target?.stop();
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
            renderBackupSetup("web", host, target.settings, target.secrets),
        );
        fs.writeFileSync(
            path.join(dir, "frag2.sh"),
            renderBackupSetup("web", host, target.settings, {
                ...target.secrets,
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
            `echo "envpw=$(grep -c '${target.secrets.resticPassword}' /etc/ouvroir/backup.env)"`,
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
        let backedUp: BackedUp | undefined;
        let startedAt = 0;

        vmIt("backs up files and a consistent database dump to the host's S3 server", async () => {
            startedAt = Date.now();
            const workDir = path.join(RUN_DIR, `${role}-a`);
            const { vm, input } = roleVm({ role, workDir, keyDir: defaultKeyDir() }, publicKey);
            await withVms([vm], async () => {
                await vm.start(base);
                await vm.waitCloudInit(BOOT_TIMEOUT_MS);
                await waitHealthy(vm, role, 10 * 60_000);
                backedUp = await backUpRole(vm, input, role, target);
                figures.push(`backup ${role}: ${backedUp.figure}`);
            });
            // Destroy the VM and its volume.
            fs.rmSync(workDir, { recursive: true, force: true });
        });

        vmIt(
            "restores byte-identical files and the same query answers on a new VM with an empty volume",
            async () => {
                if (!backedUp) throw new Error(`${role}: no backup to restore (the backup failed)`);
                const restored = await restoreRole(backedUp, {
                    target,
                    base,
                    publicKey,
                    workDir: path.join(RUN_DIR, `${role}-b`),
                    bootTimeoutMs: BOOT_TIMEOUT_MS,
                });
                const wallS = (Date.now() - startedAt) / 1000;
                figures.push(
                    `backup ${role}: ${backedUp.figure}; ${restored}; wall ${wallS.toFixed(0)} s (2 boots)`,
                );
            },
        );
    },
);
