// Pure: the backup fragment's text and the scripts' syntax. Does not prove that restic, the dumps or a restore work (tests/vm/backup.test.ts does, against a real S3 server).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    BACKUP_FILES,
    BACKUP_FILES_DIR,
    backupPlan,
    BackupSecrets,
    BackupSettings,
    renderBackupSetup,
    resticInstall,
    resticRepository,
    validateBackupSettings,
} from "../../components/backup";
import { PUT_FUNCTION } from "../../components/escape";
import { ROLE_NAMES, ROLES } from "../../components/roles";

const settings: BackupSettings = {
    endpoint: "https://object-arbutus.alliancecan.ca",
    bucket: "ouvroir-backups",
    onCalendar: "*-*-* 02:30:00",
    keepDaily: 7,
    keepWeekly: 4,
    keepMonthly: 12,
};
const secrets: BackupSecrets = {
    accessKeyId: "AKIDfeedface0001",
    secretAccessKey: "s3cr3t/with'quote+plus",
    resticPassword: "pw-Restic-0123456789abcdef",
};

/** The files the fragment writes through base64, decoded. */
function decodedFiles(script: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of script.matchAll(/^put '([^']+)' '0[0-7]{3}' '([A-Za-z0-9+/=]*)'$/gm)) {
        out[m[1] as string] = Buffer.from(m[2] as string, "base64").toString("utf8");
    }
    return out;
}

function bashSyntax(text: string): void {
    execFileSync("bash", ["-n"], { input: text, stdio: "pipe" });
}

describe("renderBackupSetup", () => {
    const script = renderBackupSetup("xmldb", "dev-xmldb-1", settings, secrets);
    const lines = script.split("\n");

    it("is valid bash and runs in its own subshell (the day-2 script around it keeps its state)", () => {
        bashSyntax("#!/bin/bash\nset -euo pipefail\n" + script);
        expect(lines[1]).toBe("(");
        expect(lines[lines.length - 2]).toBe(")");
    });

    const envLines = lines.filter((l) => l.startsWith("(umask 077"));
    const envContent = (): string =>
        Buffer.from(
            /echo '([A-Za-z0-9+/=]+)' \| base64 -d/.exec(envLines[0]!)![1]!,
            "base64",
        ).toString("utf8");

    it("writes the credentials only into the 0600 env file, created under umask 077", () => {
        expect(envLines).toHaveLength(1);
        expect(envLines[0]).toContain("> /etc/ouvroir/backup.env.ouvroir-new");
        expect(envLines[0]).toContain("chmod 0600 /etc/ouvroir/backup.env.ouvroir-new");
        expect(envLines[0]).toContain("chown root:root");
        // In place only after the repository opened (or was created) with the new values.
        const move = lines.indexOf(
            "mv -f /etc/ouvroir/backup.env.ouvroir-new /etc/ouvroir/backup.env",
        );
        expect(move).toBeGreaterThan(lines.findIndex((l) => l.includes("restic init")));
        for (const secret of Object.values(secrets)) {
            // Nowhere in clear, and in no other file the fragment writes.
            expect(script).not.toContain(secret);
            for (const content of Object.values(decodedFiles(script)))
                expect(content).not.toContain(secret);
        }
    });

    it("the env file holds the repository under a per-host prefix, the keys and the password", () => {
        expect(envContent()).toContain(
            "RESTIC_REPOSITORY='s3:https://object-arbutus.alliancecan.ca/ouvroir-backups/dev-xmldb-1'",
        );
        const env = execFileSync("bash", ["-c", `set -a; eval "$1"; env`, "_", envContent()], {
            encoding: "utf8",
        });
        expect(env).toContain(`AWS_SECRET_ACCESS_KEY=${secrets.secretAccessKey}\n`);
        expect(env).toContain(`RESTIC_PASSWORD=${secrets.resticPassword}\n`);
        expect(env).toContain(`AWS_ACCESS_KEY_ID=${secrets.accessKeyId}\n`);
    });

    it("initialises the repository only when `restic cat config` fails, never on a wrong password", () => {
        const init = lines.findIndex((l) => l.includes("ouvroir-backup restic init"));
        const guard = lines.findIndex((l) => l.includes("restic cat config"));
        expect(guard).toBeGreaterThan(-1);
        expect(init).toBeGreaterThan(guard);
        expect(lines[guard]).toMatch(/^if ! /);
        expect(script).toMatch(/wrong password\|no key found[\s\S]*exit 1[\s\S]*restic init/);
        expect(lines.filter((l) => /restic init/.test(l))).toHaveLength(1);
        // The env file is in place before restic is first called.
        expect(lines.findIndex((l) => l.startsWith("(umask 077"))).toBeLessThan(guard);
    });

    it("installs restic only when missing, waiting for dpkg's lock", () => {
        expect(script).toMatch(
            /if ! command -v restic[^\n]*\n[\s\S]*?apt-get -o DPkg::Lock::Timeout=600 install -y -qq restic/,
        );
    });

    it("with downloads.restic: restic's own .bz2, SHA-256 checked, never Debian's package", () => {
        const restic = {
            version: "0.18.1",
            url: "https://github.com/restic/restic/releases/download/v0.18.1/restic_0.18.1_linux_amd64.bz2",
            sha256: "680838f19d67151adba227e1570cdd8af12c19cf1735783ed1ba928bc41f363d",
        };
        const upstream = renderBackupSetup("xmldb", "dev-xmldb-1", settings, secrets, restic);
        expect(upstream).not.toMatch(/install -y -qq restic/);
        expect(upstream).toContain(
            `/usr/local/lib/ouvroir/fetch-verified '${restic.url}' '${restic.sha256}' '/usr/local/lib/ouvroir/restic-0.18.1.bz2'`,
        );
        bashSyntax(upstream);
    });

    it("with downloads.restic: installs it when another version runs, not again when it does (run by bash)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-restic-"));
        try {
            // A stand-in restic that reports its version, compressed as restic publishes it; a
            // fetch-verified that copies it (the real one is tested in the VM layer).
            const fake = (v: string): string =>
                `#!/bin/sh\necho "restic ${v} compiled with go1.24 on linux/amd64"\n`;
            fs.writeFileSync(path.join(dir, "restic-new"), fake("0.18.1"));
            execFileSync("bzip2", ["-k", path.join(dir, "restic-new")]);
            fs.writeFileSync(
                path.join(dir, "fetch-verified"),
                `#!/bin/sh\necho "$@" >>${dir}/fetched\ncp ${dir}/restic-new.bz2 "$3"\n`,
                { mode: 0o755 },
            );
            fs.mkdirSync(path.join(dir, "bin"));
            fs.writeFileSync(path.join(dir, "bin", "restic"), fake("0.14.0"), { mode: 0o755 });
            const script = resticInstall({
                version: "0.18.1",
                url: "https://example.org/r.bz2",
                sha256: "a".repeat(64),
            })
                .join("\n")
                .replaceAll("/usr/local/lib/ouvroir", dir)
                .replaceAll("/usr/local/bin", path.join(dir, "bin"));
            const run = (): string =>
                execFileSync("bash", ["-euo", "pipefail", "-c", script], { encoding: "utf8" });
            run();
            expect(
                execFileSync(path.join(dir, "bin", "restic"), ["version"], { encoding: "utf8" }),
            ).toBe("restic 0.18.1 compiled with go1.24 on linux/amd64\n");
            run();
            // Fetched once: the second run found 0.18.1 running.
            expect(fs.readFileSync(path.join(dir, "fetched"), "utf8").trim().split("\n")).toEqual([
                `https://example.org/r.bz2 ${"a".repeat(64)} ${dir}/restic-0.18.1.bz2`,
            ]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("installs the scripts and both timers, and enables the timers", () => {
        const files = decodedFiles(script);
        for (const f of BACKUP_FILES) expect(Object.keys(files)).toContain(f.path);
        expect(files["/etc/systemd/system/ouvroir-backup.timer"]).toMatch(
            /OnCalendar=\*-\*-\* 02:30:00\n/,
        );
        expect(files["/etc/systemd/system/ouvroir-backup.timer"]).toMatch(/Persistent=true/);
        expect(files["/etc/systemd/system/ouvroir-backup.timer"]).toMatch(/RandomizedDelaySec=/);
        expect(files["/etc/systemd/system/ouvroir-backup-check.timer"]).toMatch(/OnCalendar=Sun/);
        expect(files["/etc/systemd/system/ouvroir-backup-check.service"]).toMatch(
            /ExecStart=\/usr\/local\/sbin\/ouvroir-backup check/,
        );
        expect(script).toContain(
            "systemctl enable --now ouvroir-backup.timer ouvroir-backup-check.timer",
        );
        expect(script.indexOf("systemctl daemon-reload")).toBeLessThan(
            script.indexOf("systemctl enable --now"),
        );
        for (const content of Object.values(files)) expect(content).not.toMatch(/\{\{\w+\}\}/);
    });

    it("is idempotent by construction: atomic rewrites, no append, same input gives the same bytes", () => {
        expect(renderBackupSetup("xmldb", "dev-xmldb-1", settings, secrets)).toBe(script);
        expect(script).not.toMatch(/>>/);
        // Every file through the one atomic write (escape.ts PUT_FUNCTION), defined in the fragment.
        expect(script).toContain(`\n${PUT_FUNCTION}\n`);
        expect(Object.keys(decodedFiles(script)).length).toBe(2 + BACKUP_FILES.length);
    });

    it("carries retention and the role's plan in backup.conf", () => {
        const conf = decodedFiles(script)["/etc/ouvroir/backup.conf"]!;
        expect(conf).toContain("BACKUP_KEEP_DAILY=7\nBACKUP_KEEP_WEEKLY=4\nBACKUP_KEEP_MONTHLY=12");
        expect(conf).toContain("BACKUP_HOST='dev-xmldb-1'");
        expect(conf).toContain("BACKUP_DUMPS='basex'");
        bashSyntax(conf);
    });
});

describe("the plan of each role", () => {
    const conf = (role: (typeof ROLE_NAMES)[number]): string =>
        decodedFiles(renderBackupSetup(role, `dev-${role}-1`, settings, secrets))[
            "/etc/ouvroir/backup.conf"
        ]!;
    const excludes = (role: (typeof ROLE_NAMES)[number]): string =>
        decodedFiles(renderBackupSetup(role, `dev-${role}-1`, settings, secrets))[
            "/etc/ouvroir/backup-excludes"
        ]!;

    it("every stateful role has a plan; each backs up its data mount", () => {
        for (const role of ROLE_NAMES.filter((r) => ROLES[r].stateful)) {
            expect(backupPlan(role).excludes).toContain(`${ROLES[role].dataMountPoint}/lost+found`);
            expect(conf(role)).toContain(`BACKUP_DATA_DIR='${ROLES[role].dataMountPoint}'`);
        }
    });

    it("xmldb dumps BaseX, app dumps SQL, the others dump nothing", () => {
        expect(conf("xmldb")).toContain("BACKUP_DUMPS='basex'");
        expect(conf("app")).toContain("BACKUP_DUMPS='sql'");
        for (const role of ["web", "iiif", "sandbox"] as const)
            expect(conf(role)).toContain("BACKUP_DUMPS=''");
    });

    it("live database files and caches are excluded; the dumps are not", () => {
        expect(excludes("app")).toContain("/srv/data/mysql\n");
        expect(excludes("app")).toContain("/srv/data/postgresql\n");
        expect(excludes("iiif")).toContain("/srv/data/iiif/cache\n");
        expect(excludes("sandbox")).toContain("/srv/data/home/*/docker\n");
        for (const role of ROLE_NAMES)
            expect(excludes(role)).not.toMatch(/^\/srv\/data\/backup-dumps$/m);
    });

    it("a restore stops the role's services", () => {
        expect(conf("xmldb")).toContain(
            "BACKUP_SERVICES='basex.service basex-rest-gateway.service'",
        );
        expect(conf("app")).toContain(
            "BACKUP_SERVICES='ouvroir-app@*.service mariadb.service postgresql.service'",
        );
        expect(conf("web")).toContain("BACKUP_SERVICES='nginx.service'");
    });
});

describe("the scripts", () => {
    it("the backup runs the dumps, then restic backup with the excludes, then forget --prune", () => {
        const s = fs.readFileSync(path.join(BACKUP_FILES_DIR, "ouvroir-backup.sh"), "utf8");
        const body = s.slice(s.indexOf("backup() {"));
        expect(body.indexOf("dumps")).toBeLessThan(body.indexOf("restic backup"));
        expect(body.indexOf("restic backup")).toBeLessThan(body.indexOf("restic forget"));
        expect(s).toContain("--exclude-file");
        expect(s).toMatch(/restic forget[^\n]*--prune/);
        expect(s).toContain("mariadb-dump --single-transaction --all-databases");
        expect(s).toContain("pg_dumpall");
        expect(s).toContain("CREATE BACKUP");
        expect(s).toMatch(/restic check --read-data-subset/);
    });

    it("the restore stops services, restores, reloads dumps, then starts them", () => {
        const s = fs.readFileSync(path.join(BACKUP_FILES_DIR, "ouvroir-restore.sh"), "utf8");
        const order = [
            'systemctl stop "${units[@]}"',
            "restic restore",
            "RESTORE $name",
            'mariadb <"$dump"',
            'systemctl start "${units[@]}"',
        ];
        const at = order.map((o) => s.indexOf(o));
        expect(at.every((i) => i >= 0)).toBe(true);
        expect([...at].sort((a, b) => a - b)).toEqual(at);
        expect(s).toContain('snapshot="${1:-latest}"');
    });

    it("every script is valid bash with strict mode", () => {
        for (const f of ["ouvroir-backup.sh", "ouvroir-restore.sh", "backup-lib.sh"]) {
            const text = fs.readFileSync(path.join(BACKUP_FILES_DIR, f), "utf8");
            bashSyntax(text);
            if (f !== "backup-lib.sh") expect(text).toContain("set -euo pipefail");
        }
    });
});

describe("validateBackupSettings", () => {
    it("accepts the documented settings", () => {
        expect(validateBackupSettings(settings)).toEqual([]);
        expect(validateBackupSettings({ ...settings, onCalendar: "daily" })).toEqual([]);
    });

    it("names the key of each problem", () => {
        const bad = validateBackupSettings({
            endpoint: "http://object.example.org/path",
            bucket: "Bad_Bucket",
            onCalendar: "daily\nExecStart=/bin/sh",
            keepDaily: 0,
            keepWeekly: 0,
            keepMonthly: 0,
        });
        expect(bad.join("\n")).toMatch(/endpoint: give only scheme and host/);
        expect(bad.join("\n")).toMatch(/endpoint: keys and data would cross the network in clear/);
        expect(bad.join("\n")).toMatch(/bucket: "Bad_Bucket"/);
        expect(bad.join("\n")).toMatch(/onCalendar/);
        expect(bad.join("\n")).toMatch(/forget would delete every snapshot/);
        expect(() =>
            renderBackupSetup("web", "dev-web-1", { ...settings, bucket: "x" }, secrets),
        ).toThrow(/ouvroir:backup.bucket/);
    });

    it("refuses an empty secret", () => {
        expect(() =>
            renderBackupSetup("web", "dev-web-1", settings, { ...secrets, resticPassword: "" }),
        ).toThrow(/resticPassword is empty/);
    });

    it("one repository per host in the stack's bucket", () => {
        expect(
            resticRepository({ ...settings, endpoint: "http://10.209.0.1:9000/" }, "vmtest-app-1"),
        ).toBe("s3:http://10.209.0.1:9000/ouvroir-backups/vmtest-app-1");
    });
});

describe("docs/backup.md", () => {
    it("keeps the restore commands that the VM test runs verbatim after its marker", () => {
        const text = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "backup.md"), "utf8");
        const marker = "<!-- restore commands: run verbatim by tests/vm/backup.test.ts -->";
        const at = text.indexOf(marker);
        expect(at).toBeGreaterThan(0);
        const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at))?.[1] ?? "";
        const commands = block
            .split("\n")
            .map((l) => l.replace(/\s+#.*$/, "").trim())
            .filter((l) => l.length > 0);
        expect(commands).toEqual(["sudo ouvroir-backup snapshots", "sudo ouvroir-restore"]);
    });
});
