/**
 * The hardening audit of one booted role guest, shared by tests/vm/roles.test.ts (on the VMs it
 * already boots) and tests/vm/hardening.test.ts (one role at a time, for iteration):
 * - Lynis's hardening index: the host's Debian `lynis` package (a shell script) is copied into
 *   the guest as a tarball and run from there (`--usecwd`), so the guest neither installs a
 *   package under TCG nor keeps one (Debian's package would enable its own timer);
 * - listeners on non-loopback addresses ⊆ the role's ports in the role specs (components/roles/);
 * - sshd's effective settings: keys only, no root;
 * - unattended upgrades enabled; fail2ban active with its sshd jail (base, so every role,
 *   the bastion included).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { RoleName, ROLES } from "../../components/roles";
import { Vm, VM_CACHE } from "../harness/vm/qemu";

export const LYNIS_GOAL = Number(process.env.OUVROIR_LYNIS_GOAL ?? "75");

/** Where the Lynis tarball lands in the guest; removed after the audit. */
const GUEST_DIR = "/tmp/ouvroir-lynis";

export interface Listener {
    readonly port: number;
    readonly line: string;
}

export interface HardeningAudit {
    readonly role: RoleName;
    /** Lynis's hardening index (0–100); null when Lynis was not run (`lynis: false`). */
    readonly lynis: number | null;
    /**
     * The index the guest would score with ASLR on, as deployed: test guests boot with
     * `norandmaps` for speed (tests/harness/vm/qemu.ts kernelCmdline), which costs exactly one of
     * KRNL-6000's points. Equal to `lynis` when ASLR was on; null when Lynis was not run.
     */
    readonly lynisAsDeployed: number | null;
    /** Lynis's version, as the host's package has it. */
    readonly lynisVersion: string;
    /** Seconds for copy, unpack and `lynis audit system --quick` in the guest. */
    readonly auditSeconds: number;
    /** `TEST-ID: text` of each Lynis suggestion. */
    readonly suggestions: readonly string[];
    /** `TEST-ID: text` of each Lynis warning. */
    readonly warnings: readonly string[];
    /** Points each Lynis test did not award, of those it could, largest loss first. */
    readonly lostPoints: readonly { test: string; lost: number; of: number }[];
    /** Lynis's slowest tests in this guest: where the audit's time goes. */
    readonly slowest: readonly { test: string; seconds: number }[];
    /** TCP listeners on addresses other than loopback. */
    readonly listeners: readonly Listener[];
    /** Those whose port the role does not declare. */
    readonly undeclared: readonly string[];
    /** sshd -T's values for the settings that matter here. */
    readonly sshd: Readonly<Record<string, string | undefined>>;
    /** `systemctl is-enabled unattended-upgrades apt-daily-upgrade.timer` and APT::Periodic. */
    readonly unattendedUpgrades: boolean;
    readonly fail2ban: boolean;
}

/** The sshd settings checked and their required values. */
export const SSHD_REQUIRED: Readonly<Record<string, string>> = {
    passwordauthentication: "no",
    kbdinteractiveauthentication: "no",
    permitrootlogin: "no",
    pubkeyauthentication: "yes",
    permitemptypasswords: "no",
};

/** Declared TCP ports of a role, ranges expanded. */
export function declaredPorts(role: RoleName): Set<number> {
    const ports = new Set<number>();
    for (const rule of ROLES[role].ports) {
        for (let p = rule.port; p <= (rule.portMax ?? rule.port); p++) ports.add(p);
    }
    return ports;
}

/** `ss -ltnH` lines listening on a non-loopback address, with their port. */
export function publicListeners(ss: string): Listener[] {
    const out: Listener[] = [];
    for (const line of ss.split("\n").filter((l) => l.trim() !== "")) {
        const local = line.trim().split(/\s+/)[3] ?? "";
        const i = local.lastIndexOf(":");
        const addr = local
            .slice(0, i)
            .replace(/^\[|\]$/g, "")
            .replace(/%.*$/, "");
        if (/^127\./.test(addr) || addr === "::1" || addr === "::ffff:127.0.0.1") continue;
        out.push({ port: Number(local.slice(i + 1)), line: line.trim() });
    }
    return out;
}

/**
 * Points each test did not award, from Lynis's log: its "Hardening: assigned … (a of b)" lines
 * follow the "Performing test ID X" line of the test that scored them.
 */
export function lostPointsByTest(log: string): { test: string; lost: number; of: number }[] {
    const byTest = new Map<string, { lost: number; of: number }>();
    let test = "?";
    for (const line of log.split("\n")) {
        const id = /Performing test ID (\S+)/.exec(line);
        if (id) test = id[1]!;
        // "partial … (a of b)" or "maximum … for this item (b)".
        const hp =
            /Hardening: assigned partial .*\((\d+) of (\d+)\)/.exec(line) ??
            /Hardening: assigned maximum .*item \(((\d+))\)/.exec(line);
        if (hp) {
            const t = byTest.get(test) ?? { lost: 0, of: 0 };
            t.lost += Number(hp[2]) - Number(hp[1]);
            t.of += Number(hp[2]);
            byTest.set(test, t);
        }
    }
    return [...byTest]
        .map(([t, v]) => ({ test: t, ...v }))
        .filter((t) => t.lost > 0)
        .sort((a, b) => b.lost - a.lost);
}

/**
 * Lynis's index with ASLR on, from its log: the harness's `norandmaps` makes KRNL-6000 find
 * `kernel.randomize_va_space` = 0 where its profile wants 2, one point of weight 1 not awarded.
 * Lynis's index is ⌊points × 100 / total⌋ of the final "Currently having P points (out of T)";
 * with that key as deployed, P + 1. Null when the log has no totals.
 */
export function indexWithAslr(log: string): { index: number; aslrOff: boolean } | null {
    const totals = [...log.matchAll(/Currently having (\d+) points \(out of (\d+)\)/g)].pop();
    if (!totals) return null;
    const points = Number(totals[1]);
    const total = Number(totals[2]);
    const aslrOff =
        /Result: sysctl key kernel\.randomize_va_space has a different value .*Real=0\b/.test(log);
    return { index: Math.floor(((points + (aslrOff ? 1 : 0)) * 100) / total), aslrOff };
}

/** Seconds each test took (from the epoch stamps of its "Performing test ID" line), slowest first. */
export function slowestTests(log: string, n = 8): { test: string; seconds: number }[] {
    const starts = [...log.matchAll(/^(\d+) Performing test ID (\S+)/gm)].map((m) => ({
        t: Number(m[1]),
        test: m[2]!,
    }));
    return starts
        .slice(0, -1)
        .map((s, i) => ({ test: s.test, seconds: starts[i + 1]!.t - s.t }))
        .sort((a, b) => b.seconds - a.seconds)
        .slice(0, n);
}

/** Index, suggestions and warnings from Lynis's report file (`key=value` lines). */
export function parseLynisReport(report: string): {
    index: number;
    suggestions: string[];
    warnings: string[];
} {
    const items = (key: string): string[] =>
        [...report.matchAll(new RegExp(`^${key}\\[\\]=([^|]+)\\|([^|]*)\\|`, "gm"))].map(
            (m) => `${m[1]}: ${m[2]}`,
        );
    return {
        index: Number(/^hardening_index=(\d+)/m.exec(report)?.[1] ?? "NaN"),
        suggestions: items("suggestion"),
        warnings: items("warning"),
    };
}

/**
 * Under TCG each fork costs milliseconds, and Lynis forks `date` for every line of its log (about
 * 10,000) and `expr` for every binary its Debian plugin counts: minutes of an audit. These edits
 * drop the log's timestamps and count in the shell; no test's logic or score changes.
 */
const LYNIS_SPEEDUPS: readonly (readonly [string, string, string])[] = [
    [
        "include/functions",
        'CDATE=$(date "+%Y-%m-%d %H:%M:%S"); echo "${CDATE} $1" >> ${LOGFILE}',
        'echo "$1" >> ${LOGFILE}',
    ],
    [
        "include/functions",
        'CDATE=$(date "+%Y-%m-%d %H:%M:%S")\n            echo "${CDATE} ====" >> ${LOGFILE}',
        'echo "====" >> ${LOGFILE}',
    ],
    ["plugins/plugin_debian_phase1", "N=`expr ${N} + 1`", "N=$((N + 1))"],
    // One date per test (about 260) keeps each test's duration: the slow ones are reported.
    [
        "include/functions",
        'LogText "Performing test ID ${TEST_NO} (${TEST_DESCRIPTION})"',
        'LogText "$(date +%s) Performing test ID ${TEST_NO} (${TEST_DESCRIPTION})"',
    ],
];

let tarball: { path: string; version: string } | undefined;

/**
 * Lynis as a standalone tarball (script, include/, db/, plugins/, default.prf) made from the
 * host's Debian package, installed on the host when missing. Owned by root in the tarball:
 * Lynis refuses include files that root does not own.
 */
export function lynisTarball(): { path: string; version: string } {
    if (tarball) return tarball;
    const query = (): string =>
        execFileSync("dpkg-query", ["-W", "-f=${Status} ${Version}", "lynis"], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        });
    let status = "";
    try {
        status = query();
    } catch {
        // not installed
    }
    if (!status.startsWith("install ok installed")) {
        const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
        const install = ["install", "-y", "-qq", "--no-install-recommends", "lynis"];
        try {
            execFileSync("apt-get", install, { env, stdio: "ignore" });
        } catch {
            execFileSync("apt-get", ["update", "-qq"], { env, stdio: "ignore" });
            execFileSync("apt-get", install, { env, stdio: "ignore" });
        }
        status = query();
    }
    const version = status.split(" ").pop() ?? "unknown";
    const out = path.join(VM_CACHE, `lynis-${version}-ouvroir3.tar.gz`);
    if (!fs.existsSync(out)) {
        const stage = fs.mkdtempSync(path.join(VM_CACHE, "lynis-stage-"));
        try {
            execFileSync("cp", [
                "-a",
                "/usr/share/lynis/include",
                "/usr/share/lynis/db",
                "/usr/sbin/lynis",
                "/etc/lynis/default.prf",
                "/etc/lynis/plugins",
                stage,
            ]);
            for (const [file, from, to] of LYNIS_SPEEDUPS) {
                const f = path.join(stage, file);
                const text = fs.readFileSync(f, "utf8");
                if (!text.includes(from)) throw new Error(`lynis ${version}: ${file} changed`);
                fs.writeFileSync(f, text.split(from).join(to));
            }
            // Tests that award no points and take minutes under TCG (an openssl per CA
            // certificate; IPv6 details): skipping them leaves the index unchanged.
            fs.appendFileSync(
                path.join(stage, "default.prf"),
                "\n# ouvroir: no hardening points, minutes under TCG\n" +
                    "skip-test=CRYP-7902\nskip-test=NETW-2600\n",
            );
            const tmp = `${out}.${process.pid}`;
            execFileSync("tar", [
                "-czf",
                tmp,
                "--owner=0",
                "--group=0",
                "-C",
                stage,
                "include",
                "db",
                "lynis",
                "default.prf",
                "plugins",
            ]);
            fs.renameSync(tmp, out);
        } finally {
            fs.rmSync(stage, { recursive: true, force: true });
        }
    }
    tarball = { path: out, version };
    return tarball;
}

async function run(vm: Vm, command: string, timeoutMs = 300_000): Promise<string> {
    const r = await vm.ssh(command, timeoutMs);
    if (r.code !== 0) {
        throw new Error(`${vm.spec.name}: \`${command}\` exited ${r.code}: ${r.stderr}${r.stdout}`);
    }
    return r.stdout;
}

/** Runs Lynis in the guest; its index, suggestions and how long it took. */
export async function runLynis(vm: Vm): Promise<{
    index: number;
    asDeployed: number | null;
    suggestions: string[];
    warnings: string[];
    lostPoints: { test: string; lost: number; of: number }[];
    slowest: { test: string; seconds: number }[];
    seconds: number;
}> {
    const { path: tgz } = lynisTarball();
    const started = Date.now();
    await vm.copyIn(tgz, "/tmp/ouvroir-lynis.tar.gz");
    // --usecwd: include/, db/, plugins/ and the profile from the unpacked directory.
    // --quick: no pauses. Logs stay in that directory; nothing else of the guest changes.
    await run(
        vm,
        `sudo rm -rf ${GUEST_DIR} && sudo mkdir -m 0700 ${GUEST_DIR} && ` +
            `sudo tar -xzf /tmp/ouvroir-lynis.tar.gz -C ${GUEST_DIR} && ` +
            `rm -f /tmp/ouvroir-lynis.tar.gz && ` +
            `sudo sh -c 'cd ${GUEST_DIR} && ./lynis audit system --quick --no-colors --usecwd ` +
            `--logfile ${GUEST_DIR}/lynis.log --report-file ${GUEST_DIR}/report.dat ` +
            `>${GUEST_DIR}/out.txt 2>&1' || true`,
        20 * 60_000,
    );
    const seconds = (Date.now() - started) / 1000;
    const report = await run(vm, `sudo cat ${GUEST_DIR}/report.dat`);
    const log = await run(
        vm,
        `sudo grep -E 'Performing test ID|Hardening: assigned|sysctl key kernel.randomize_va_space' ` +
            `${GUEST_DIR}/lynis.log`,
    );
    if (!process.env.OUVROIR_VM_KEEP) await vm.ssh(`sudo rm -rf ${GUEST_DIR}`);
    return {
        ...parseLynisReport(report),
        asDeployed: indexWithAslr(log)?.index ?? null,
        lostPoints: lostPointsByTest(log),
        slowest: slowestTests(log),
        seconds,
    };
}

/**
 * The whole audit of a booted, healthy role guest. Lynis takes 3–7 min under TCG; the other
 * checks (listeners, sshd, upgrades, fail2ban) take seconds: `lynis: false` runs only those.
 */
export async function auditHardening(
    vm: Vm,
    role: RoleName,
    opts: { lynis?: boolean } = {},
): Promise<HardeningAudit> {
    const lynis =
        opts.lynis === false
            ? {
                  index: null,
                  asDeployed: null,
                  suggestions: [],
                  warnings: [],
                  lostPoints: [],
                  slowest: [],
                  seconds: 0,
              }
            : await runLynis(vm);

    const listeners = publicListeners(await run(vm, "sudo ss -ltnpH"));
    const declared = declaredPorts(role);
    const undeclared = listeners.filter((l) => !declared.has(l.port)).map((l) => l.line);

    const conf = await run(vm, "sudo sshd -T");
    const sshd: Record<string, string | undefined> = {};
    for (const k of Object.keys(SSHD_REQUIRED)) {
        sshd[k] = new RegExp(`^${k} (.*)$`, "m").exec(conf)?.[1];
    }

    const upgrades = (
        await vm.ssh(
            "systemctl is-enabled unattended-upgrades apt-daily-upgrade.timer; " +
                "systemctl is-active apt-daily-upgrade.timer; " +
                "apt-config dump | grep -E '^APT::Periodic::(Unattended-Upgrade|Update-Package-Lists) '",
        )
    ).stdout;
    const unattendedUpgrades =
        /^enabled\nenabled\nactive\n/.test(upgrades) &&
        /APT::Periodic::Unattended-Upgrade "1";/.test(upgrades) &&
        /APT::Periodic::Update-Package-Lists "1";/.test(upgrades);

    const f2b = await vm.ssh(
        "systemctl is-active fail2ban && sudo fail2ban-client status sshd",
        60_000,
    );
    const fail2ban = f2b.code === 0 && /Currently banned/.test(f2b.stdout);

    return {
        role,
        lynis: lynis.index,
        lynisAsDeployed: lynis.asDeployed,
        lynisVersion: lynis.index === null ? "" : lynisTarball().version,
        auditSeconds: lynis.seconds,
        suggestions: lynis.suggestions,
        warnings: lynis.warnings,
        lostPoints: lynis.lostPoints,
        slowest: lynis.slowest,
        listeners,
        undeclared,
        sshd,
        unattendedUpgrades,
        fail2ban,
    };
}

/** What falls short of the goal, one line each; empty when the guest is hardened. */
export function hardeningFailures(a: HardeningAudit, goal = LYNIS_GOAL): string[] {
    const out: string[] = [];
    if (a.lynis !== null && !(a.lynis >= goal)) out.push(`lynis ${a.role}=${a.lynis} < ${goal}`);
    for (const l of a.undeclared) out.push(`undeclared listener: ${l}`);
    for (const [k, v] of Object.entries(SSHD_REQUIRED)) {
        if (a.sshd[k] !== v) out.push(`sshd ${k} ${a.sshd[k] ?? "(unset)"}, want ${v}`);
    }
    if (!a.unattendedUpgrades) out.push("unattended upgrades not enabled");
    if (!a.fail2ban) out.push("fail2ban not active with its sshd jail");
    return out;
}

/**
 * One line for the run's summary, e.g. `lynis web=78 (audit 52 s); ports 22,80,443`, with the
 * index as deployed when the harness's ASLR setting changed it: `lynis web=80 (81 with ASLR …)`.
 */
export function hardeningFigure(a: HardeningAudit): string {
    const ports = [...new Set(a.listeners.map((l) => l.port))].sort((x, y) => x - y);
    const lynis =
        a.lynis === null
            ? `lynis ${a.role}: not run here`
            : `lynis ${a.role}=${a.lynis} (` +
              (a.lynisAsDeployed !== null && a.lynisAsDeployed !== a.lynis
                  ? `${a.lynisAsDeployed} with ASLR on as deployed; `
                  : "") +
              `audit ${a.auditSeconds.toFixed(0)} s)`;
    return `${lynis}; ports ${ports.join(",")} listening, ${a.undeclared.length} undeclared`;
}

/** The figure, then Lynis's warnings and suggestions: what to harden next. */
export function hardeningReport(a: HardeningAudit): string {
    if (a.lynis === null) return hardeningFigure(a);
    return [
        hardeningFigure(a),
        "  points not awarded: " +
            a.lostPoints.map((t) => `${t.test} ${t.lost}/${t.of}`).join(", "),
        "  slowest tests: " + a.slowest.map((t) => `${t.test} ${t.seconds} s`).join(", "),
        ...a.warnings.map((w) => `  ! ${w}`),
        ...a.suggestions.map((s) => `  - ${s}`),
    ].join("\n");
}
