// Does not prove the cloud's side (OpenStack networks, security groups, Cinder attach/resize, floating IP, Let's Encrypt) nor the upstream downloads (Cantaloupe, BaseX ≥ 10, Julia): guests use Debian's packages on a host bridge standing for the private network.
/**
 * Every role's cloud-init in real qemu guests, checked from the host as a client would: through
 * the web server's Nginx for everything public, over SSH for what only an operator sees. The web
 * server stays up while the private roles take turns beside it; as soon as one is healthy, the
 * next one starts booting (when the process's VM slots allow: `OUVROIR_VM_SLOTS`, default 2,
 * that is one private role at a time), so its boot overlaps the checks, Lynis and backup of the
 * one before.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { RoleName, ROLE_NAMES } from "../../components/roles";
import {
    PUBLIC_HOSTNAME,
    harnessHostKey,
    researcherFor,
    selfServeResearcher,
    TEST_SITES,
} from "../harness/vm/inputs";
import { researcherSshConfig } from "../../components/outputs";
import { expectOwnDatabasesOnly } from "./appDatabases";
import {
    BaseImage,
    ensureBaseImage,
    ensureSshKey,
    PRIVATE_IPS,
    harnessSshOptions,
    REPO_ROOT,
    Vm,
    VM_CACHE,
} from "../harness/vm/qemu";
import { defaultKeyDir, researcherKeyPair, roleVm, waitHealthy } from "../harness/vm/roleVm";
import { UserDataInput } from "../../components/userData";
import { shellWord } from "../../components/escape";
import { formatStatus, parseAnswers, remoteScript } from "../../tools/status";
import { ALERTS, probeTargets, renderAlertSecretsSetup } from "../../components/monitoring";
import {
    Mail,
    makeRelayCertificate,
    SmtpSink,
    startSmtpSink,
    startWebhookSink,
    WebhookSink,
} from "../harness/vm/smtpSink";
import { ensureBridge, HOST_PRIVATE_IP } from "../harness/vm/qemu";
import { HARNESS_ALERT_SECRETS, SMTP_SINK_PORT, WEBHOOK_SINK_PORT } from "../harness/vm/inputs";
import {
    afterAnotherBackup,
    BACKUP_ROLES,
    backupRolesFrom,
    BackedUp,
    backUpRole,
    BackupTarget,
    restoreRole,
    startS3Server,
} from "./backupRoundTrip";
import {
    auditHardening,
    HardeningAudit,
    hardeningFailures,
    hardeningReport,
    LYNIS_GOAL,
} from "./hardening";

const execFileP = promisify(execFile);

/** Boot time varies ±25 % under TCG and with the machine's load (the web server took 2792 s once beside two unit runs): generous, but bounded. */
const BOOT_TIMEOUT_MS = Number(process.env.OUVROIR_VM_BOOT_TIMEOUT_S ?? "3000") * 1000;
/**
 * Jest's own timeout only backs up ours: a hook may wait up to an hour for a VM slot held by
 * someone else on the machine, then BOOT_TIMEOUT_MS for cloud-init.
 */
const SLOT_WAIT_MS = 60 * 60_000;
jest.setTimeout(SLOT_WAIT_MS + BOOT_TIMEOUT_MS + 15 * 60_000);

const RUN_DIR = path.join(VM_CACHE, "runs", `test-${process.pid}`);
const WEB = PRIVATE_IPS.web;
const figures: Partial<Record<RoleName, { cloudInit: number; healthy: number }>> = {};
const vms: Partial<Record<RoleName, Vm>> = {};
const inputs: Partial<Record<RoleName, UserDataInput>> = {};
const bootErrors: Partial<Record<RoleName, Error>> = {};
let base: BaseImage;
let publicKey = "";

/** Boots under way or done, so that a role is booted once whoever asks first. */
const booting: Partial<Record<RoleName, Promise<void>>> = {};

function startBoot(role: RoleName): Promise<void> {
    return (booting[role] ??= boot(role));
}

async function boot(role: RoleName): Promise<void> {
    const { vm, input } = roleVm(
        { role, workDir: path.join(RUN_DIR, role), keyDir: defaultKeyDir() },
        publicKey,
    );
    vms[role] = vm;
    inputs[role] = input;
    try {
        await vm.start(base, SLOT_WAIT_MS);
        const cloudInit = await vm.waitCloudInit(BOOT_TIMEOUT_MS);
        const healthy = await waitHealthy(vm, role, 5 * 60_000);
        figures[role] = { cloudInit, healthy };
    } catch (e) {
        bootErrors[role] = e as Error;
    }
    // The next private role boots while this one is checked (it waits for a free slot).
    const next = PRIVATE_ORDER[PRIVATE_ORDER.indexOf(role) + 1];
    if (role !== "web" && next) void startBoot(next);
}

async function stop(role: RoleName): Promise<void> {
    await vms[role]?.stop();
}

/** The role's VM, or the reason it did not boot (so each check fails with it). */
function vmOf(role: RoleName): Vm {
    const err = bootErrors[role];
    if (err) throw err;
    const vm = vms[role];
    if (!vm || !figures[role]) throw new Error(`${role}: not booted`);
    return vm;
}

const hardening: string[] = [];
/** Figure lines of the researchers' and apps' paths, printed with the others. */
const figureLines: string[] = [];
/** `OUVROIR_VM_AUDIT_ROLES` narrows the audited roles (default: all). */
const AUDITED = (process.env.OUVROIR_VM_AUDIT_ROLES ?? ROLE_NAMES.join(",")).split(",");
/**
 * Lynis takes 3–7 min per guest under TCG (thousands of forks; 7–12 min before test guests
 * booted without ASLR): `OUVROIR_VM_LYNIS_ROLES` narrows the audited roles that also run it
 * (default: all audited; CI runs it on web and sandbox for its time budget, .ci/layers.sh).
 * tests/vm/hardening.test.ts runs it one role at a time.
 */
const LYNIS = (process.env.OUVROIR_VM_LYNIS_ROLES ?? AUDITED.join(",")).split(",");
/**
 * The web server's audit starts as soon as it is healthy and runs beside the private roles'
 * boots (its guest is otherwise idle); the last test of this file collects it.
 */
let webAudit: Promise<HardeningAudit | Error> | undefined;

async function expectHardened(role: RoleName, audit: () => Promise<HardeningAudit>): Promise<void> {
    await check([role], async () => {
        const a = await audit();
        hardening.push(hardeningReport(a));
        expect(hardeningFailures(a)).toEqual([]);
    });
}

/**
 * The hardening audit (tests/vm/hardening.ts) on the guest already booted for the role's
 * checks: Lynis's index ≥ the goal, only declared ports listening, sshd keys only and no root,
 * unattended upgrades, fail2ban with its sshd jail. Figures in the run's summary.
 */
function itIsHardened(role: RoleName): void {
    if (role === "web" && LYNIS.includes("web")) return; // collected by the last test
    (AUDITED.includes(role) ? it : it.skip)(
        LYNIS.includes(role)
            ? "is hardened: Lynis index, declared ports only, sshd, upgrades, fail2ban"
            : "is hardened: declared ports only, sshd, upgrades, fail2ban (Lynis not run here)",
        async () => {
            const vm = vmOf(role);
            await expectHardened(role, () =>
                auditHardening(vm, role, { lynis: LYNIS.includes(role) }),
            );
        },
    );
}

/**
 * The off-site backup round trip (tests/vm/backupRoundTrip.ts) of the roles in
 * `OUVROIR_VM_BACKUP_ROLES` (default none; CI: app,xmldb): the backup runs on the guest booted
 * for the role's checks, once they pass; when that guest is stopped its volume is destroyed and
 * a new VM restores onto an empty one in the background, in a slot of its own
 * (`OUVROIR_VM_RESTORE_SLOT`, default 3), while the next roles are checked. Restores run one
 * at a time; the file's last tests collect them. tests/vm/backup.test.ts runs the same round
 * trip on its own VMs.
 */
const BACKED_UP = backupRolesFrom("OUVROIR_VM_BACKUP_ROLES", "");
const RESTORE_SLOT = Number(process.env.OUVROIR_VM_RESTORE_SLOT ?? "3");
let backupTarget: BackupTarget | undefined;
const backedUp: Partial<Record<RoleName, BackedUp>> = {};
const restores: Partial<Record<RoleName, Promise<string | Error>>> = {};
let restoreQueue: Promise<unknown> = Promise.resolve();
const backupFigures: string[] = [];

/** The backup half, on the role's own guest after its checks (skipped unless selected). */
function itBacksUp(role: RoleName): void {
    (BACKED_UP.includes(role) ? it : it.skip)(
        "backs up files and a consistent database dump to an S3 server on the host",
        async () => {
            const vm = vmOf(role);
            await check([role], async () => {
                if (!backupTarget) throw new Error("the S3 server was not started");
                const b = await backUpRole(vm, inputs[role]!, role, backupTarget);
                backedUp[role] = b;
                backupFigures.push(`backup ${role}: ${b.figure}`);
            });
        },
    );
}

/**
 * Stops the role's guest; if it was backed up, destroys its volume and queues the restore on a
 * new VM with an empty one (it cannot start before: it takes the same private address).
 */
async function stopAndRestore(role: RoleName): Promise<void> {
    await stop(role);
    const b = backedUp[role];
    if (!b || !backupTarget) return;
    const target = backupTarget;
    fs.rmSync(path.join(RUN_DIR, role), { recursive: true, force: true });
    const run = restoreQueue.then(() =>
        restoreRole(b, {
            target,
            base,
            publicKey,
            workDir: path.join(RUN_DIR, `${role}-restored`),
            bootTimeoutMs: BOOT_TIMEOUT_MS,
            slot: RESTORE_SLOT,
        }).catch((e: Error) => e),
    );
    restores[role] = run;
    restoreQueue = run;
}

/** Runs a check; a failure carries the guests' cloud-init logs. */
async function check(roles: RoleName[], fn: () => Promise<void>): Promise<void> {
    try {
        await fn();
    } catch (e) {
        const err = e as Error;
        for (const role of roles) {
            const vm = vms[role];
            if (vm?.running) err.message += "\n" + (await vm.diagnostics());
        }
        throw err;
    }
}

/** The host's ssh options for the harness key (the tunnel through the web server). */
const SSH_OPTS = harnessSshOptions(path.join(defaultKeyDir(), "id_ed25519"));

/**
 * Whether a TCP connection from `src` reaches `dst:port`, tried on the `via` guest. When `src` is
 * not the guest's own address it is added for the try (a /32 on the private interface) and
 * removed after: a client at another role's address, while that role's VM is not running.
 */
async function connectsFrom(
    via: RoleName,
    src: string,
    dst: string,
    port: number,
    // A guest still booting (not yet "healthy", so not through vmOf): the sandbox beside the app.
    guest: Vm = vmOf(via),
): Promise<boolean> {
    const vm = guest;
    const own = src === PRIVATE_IPS[via];
    const script = [
        "set -u",
        `dev="$(ip -o route get ${dst} | grep -o 'dev [^ ]*' | cut -d' ' -f2)"`,
        own ? "" : `sudo ip addr add ${src}/32 dev "$dev"`,
        `python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(5); s.bind(("${src}",0)); s.connect(("${dst}",${port})); print("connected")' 2>/dev/null; rc=$?`,
        own ? "" : `sudo ip addr del ${src}/32 dev "$dev"`,
        "exit $rc",
    ].join("\n");
    const r = await vm.ssh(script, 60_000);
    return r.code === 0 && r.stdout.includes("connected");
}

async function sh(vm: Vm, command: string, user?: string): Promise<string> {
    const r = await vm.ssh(command, 300_000, user);
    if (r.code !== 0) {
        throw new Error(`${vm.spec.name}: \`${command}\` exited ${r.code}: ${r.stderr}${r.stdout}`);
    }
    return r.stdout;
}

interface Response {
    readonly status: number;
    readonly headers: Record<string, string>;
    readonly body: Buffer;
}

/** A client request to the web server, with the host name resolved to it (`curl --resolve`). */
async function request(url: string, extra: string[] = []): Promise<Response> {
    const u = new URL(url);
    const port = u.port || (u.protocol === "https:" ? "443" : "80");
    const { stdout } = await execFileP(
        "curl",
        [
            "-sk",
            "-i",
            "--max-time",
            "120",
            "--resolve",
            `${u.hostname}:${port}:${WEB}`,
            ...extra,
            url,
        ],
        { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 },
    );
    // Headers end at the first blank line (HTTP/2 and HTTP/1.1 alike; no 100-continue here).
    const sep = stdout.indexOf("\r\n\r\n");
    const head = stdout.subarray(0, sep).toString("latin1").split("\r\n");
    const status = Number(head[0]?.split(" ")[1]);
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
        const i = line.indexOf(":");
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    return { status, headers, body: stdout.subarray(sep + 4) };
}

/** The data volume is the disk with the fake Cinder serial, mounted where the role keeps data. */
async function expectDataOnVolume(vm: Vm, dataDir: string): Promise<void> {
    const serial = vm.spec.dataDisk?.serial ?? "";
    const out = await sh(
        vm,
        `sudo findmnt -no SOURCE,FSTYPE,OPTIONS --target ${dataDir}; ` +
            `readlink -f /dev/disk/by-id/virtio-${serial}`,
    );
    const [mount, device] = out.trim().split("\n");
    expect(mount?.split(/\s+/)[0]).toBe(device);
    expect(mount).toMatch(/ext4/);
}

async function expectCloudInitClean(vm: Vm): Promise<void> {
    const r = await vm.ssh("cloud-init status --long");
    expect(r.stdout).toMatch(/status: done/);
    expect(r.code).toBe(0);
}

/** sshd serves the host key the program pinned, and no other: what day-2's connection checks. */
async function expectPinnedHostKey(vm: Vm, role: RoleName): Promise<void> {
    const { stdout } = await execFileP("ssh-keyscan", ["-T", "20", vm.spec.privateIp], {
        encoding: "utf8",
    });
    const served = stdout
        .split("\n")
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map((l) => l.split(" ").slice(1).join(" "))
        .sort();
    expect(served).toEqual([harnessHostKey(role).publicKey]);
}

/** `OUVROIR_VM_ROLES=iiif,app` runs only those roles' checks (the web server boots with them). */
const SELECTED = (process.env.OUVROIR_VM_ROLES ?? ROLE_NAMES.join(","))
    .split(",")
    .filter((r): r is RoleName => (ROLE_NAMES as readonly string[]).includes(r));
const PROXIED: readonly RoleName[] = ["xmldb", "iiif", "app", "sandbox"];
/** The selected private roles in the order of this file's describes. */
const PRIVATE_ORDER = PROXIED.filter((r) => SELECTED.includes(r));
const needsWeb = SELECTED.some((r) => r === "web" || PROXIED.includes(r));
const describeRole = (role: RoleName): jest.Describe =>
    SELECTED.includes(role) ? describe : describe.skip;

/**
 * A private role's VM, booted beside the web server, or already booting since the role before
 * it was healthy. Roles before it are stopped (their describes do it; this is a safety net),
 * never the ones after it. Every private role, the sandbox too, is checked through the web
 * server's Nginx.
 */
async function bootPrivate(role: RoleName): Promise<void> {
    for (const other of PRIVATE_ORDER) {
        if (other === role) break;
        if (vms[other]?.running) await stop(other);
    }
    await startBoot(role);
}

/**
 * The lab's SMTP relay (STARTTLS, login) and the operator's webhook, standing on this machine
 * (harness/vm/smtpSink.ts); the guest trusts the relay's test CA (the alert test installs it).
 */
let smtpSink: SmtpSink | undefined;
let webhookSink: WebhookSink | undefined;
let relayCa: string | undefined;

beforeAll(async () => {
    if (needsWeb) {
        ensureBridge();
    }
    base = ensureBaseImage();
    publicKey = ensureSshKey(defaultKeyDir()).publicKey;
    fs.mkdirSync(RUN_DIR, { recursive: true });
    if (needsWeb) {
        const relay = makeRelayCertificate(path.join(RUN_DIR, "relay"), HOST_PRIVATE_IP);
        relayCa = relay.caCert;
        smtpSink = await startSmtpSink(HOST_PRIVATE_IP, SMTP_SINK_PORT, {
            tls: { key: relay.key, cert: relay.cert },
            login: {
                username: HARNESS_ALERT_SECRETS.username,
                password: HARNESS_ALERT_SECRETS.smtpPassword,
            },
        });
        webhookSink = await startWebhookSink(HOST_PRIVATE_IP, WEBHOOK_SINK_PORT);
    }
    if (BACKED_UP.some((r) => SELECTED.includes(r))) {
        backupTarget = startS3Server(
            path.join(RUN_DIR, "s3"),
            Number(process.env.OUVROIR_VM_BACKUP_S3_PORT ?? "9108"),
        );
    }
    // The web server and the first private role boot together: two guests, two cores.
    const first = SELECTED.find((r) => r !== "web");
    await Promise.all([
        needsWeb
            ? startBoot("web").then(() => {
                  if (
                      SELECTED.includes("web") &&
                      AUDITED.includes("web") &&
                      LYNIS.includes("web")
                  ) {
                      const vm = vms.web;
                      if (vm && !bootErrors.web) {
                          webAudit = auditHardening(vm, "web").catch((e: Error) => e);
                      }
                  }
              })
            : Promise.resolve(),
        first && (needsWeb ? PROXIED.includes(first) : true) ? startBoot(first) : Promise.resolve(),
    ]);
});

afterAll(async () => {
    await Promise.all((Object.keys(vms) as RoleName[]).map(stop));
    await restoreQueue;
    backupTarget?.stop();
    await smtpSink?.stop();
    await webhookSink?.stop();
    const rows = (Object.keys(figures) as RoleName[]).map(
        (r) =>
            `${r.padEnd(8)} ${figures[r]!.cloudInit.toFixed(0).padStart(6)} ${figures[r]!.healthy.toFixed(0).padStart(8)}`,
    );
    console.log(
        [
            "VM figures (seconds from qemu start; the guests share two cores)",
            "role     cloud-init  healthy",
            ...rows,
            `Hardening (Lynis hardening index, goal ≥ ${LYNIS_GOAL}):`,
            ...hardening,
            ...(backupFigures.length > 0 ? ["Off-site backup round trips:", ...backupFigures] : []),
            ...(figureLines.length > 0 ? ["Paths people take:", ...figureLines] : []),
        ].join("\n"),
    );
    if (!process.env.OUVROIR_VM_KEEP) fs.rmSync(RUN_DIR, { recursive: true, force: true });
});

/** Prometheus's answer to an instant query, asked on the monitoring host (the web server). */
async function promQuery(query: string): Promise<{ metric: Record<string, string> }[]> {
    const out = await sh(
        vmOf("web"),
        `curl -sf -G http://127.0.0.1:9090/api/v1/query --data-urlencode ${shellWord(`query=${query}`)}`,
    );
    return (JSON.parse(out) as { data: { result: { metric: Record<string, string> }[] } }).data
        .result;
}

/** The alerts Alertmanager holds as active (firing, neither silenced nor inhibited). */
async function activeAlerts(): Promise<Record<string, string>[]> {
    const out = await sh(
        vmOf("web"),
        "curl -sf 'http://127.0.0.1:9093/api/v2/alerts?active=true&silenced=false&inhibited=false'",
    );
    return (JSON.parse(out) as { labels: Record<string, string> }[]).map((a) => a.labels);
}

/**
 * The guest's own state, outside the program: a security update published since the image was
 * built, a kernel upgrade waiting for its reboot.
 */
const GUEST_STATE_ALERTS = ["SecurityUpdatesPending", "RebootRequired"];

/**
 * The monitoring host watches `role` as deployed: its node exporter scraped, each of the role's
 * probes (the web server's input says which) succeeding, and no alert rule's condition true for
 * it (each rule's expression evaluated now, without its `for`), its units all active among them.
 * Waits for the first scrapes (every 30 s, as deployed). `before` runs first (on the sandbox
 * host, a refresh of its textfile metrics).
 */
function itIsWatched(role: RoleName, before?: () => Promise<void>): void {
    it("is watched by the monitoring host: node exporter scraped, every probe succeeds, no alert condition holds", async () => {
        await check(["web", role], async () => {
            vmOf(role);
            await before?.();
            const web = inputs.web;
            if (!web) throw new Error("the web server's input is not known");
            const probes = probeTargets(web)
                .filter((p) => p.role === role)
                .map((p) => p.probe)
                .sort();
            const state = async (): Promise<string[]> => {
                const up = (await promQuery(`up{job="node",role="${role}"} == 1`)).length;
                const ok = (await promQuery(`probe_success{role="${role}"} == 1`))
                    .map((r) => r.metric.probe ?? "")
                    .sort();
                return [`node ${up}`, ...ok];
            };
            await waitFor(
                `${role} scraped and its probes ${probes.join(", ") || "(none)"} succeeding`,
                async () => {
                    const now = await state();
                    return JSON.stringify(now) === JSON.stringify(["node 1", ...probes])
                        ? now
                        : undefined;
                },
                240_000,
            );
            // A condition seen once may be a restart the check before made (BaseX's): it must
            // clear within the wait, as the rules' `for` lets it.
            const holding = async (): Promise<string[]> => {
                const out: string[] = [];
                for (const alert of ALERTS.filter((a) => !GUEST_STATE_ALERTS.includes(a.name))) {
                    for (const r of await promQuery(alert.expr))
                        if (r.metric.role === role)
                            out.push(`${alert.name} ${JSON.stringify(r.metric)}`);
                }
                return out;
            };
            let last: string[] = [];
            await waitFor(
                `no alert condition true for ${role}`,
                async () => {
                    last = await holding();
                    return last.length === 0 ? true : undefined;
                },
                240_000,
            ).catch(() => undefined);
            expect(last).toEqual([]);
        });
    });
}

/** Polls `probe` every 5 s until it returns something, or fails after `timeoutMs` naming `what`. */
async function waitFor<T>(
    what: string,
    probe: () => Promise<T | undefined>,
    timeoutMs: number,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await probe();
            if (v !== undefined) return v;
        } catch (e) {
            last = e;
        }
        if (Date.now() > deadline)
            throw new Error(
                `${what}: not after ${timeoutMs / 1000} s${last ? ` (${String(last)})` : ""}`,
            );
        await new Promise((res) => setTimeout(res, 5000));
    }
}

/**
 * HARNESS STAND-IN, test only: the monitoring host's clock, sped up for the alert test alone.
 * The rules wait 10 s instead of their 5 min to 24 h (the unit layer's promtool tests prove the
 * real durations), Prometheus scrapes and evaluates every 10 s instead of 30 s, and Alertmanager
 * groups for 5 s and repeats after 10 s instead of 30 s and 5 min. The deployed files are kept
 * beside (`*.harness-orig`) and put back by NORMAL_MONITORING: scraping five guests every few
 * seconds under software emulation for the whole run took CPU from every other check (the CI run
 * of stop 24 did not finish in its 90 min). Idempotent: re-applied after any day-2 push.
 */
const MONITORING_FILES = ["rules.yml", "prometheus.yml", "alertmanager-nosecrets.yml"];
const SPEED_UP_MONITORING = [
    "set -e",
    "cd /etc/ouvroir/monitoring",
    `for f in ${MONITORING_FILES.join(" ")}; do sudo cp -n "$f" "$f.harness-orig"; done`,
    "sudo sed -i -E 's/^( +)for: .*/\\1for: 10s/' rules.yml",
    "sudo sed -i -E 's/^( +)(scrape_interval|evaluation_interval): .*/\\1\\2: 10s/' prometheus.yml",
    "sudo sed -i -E 's/^( +)group_wait: .*/\\1group_wait: 5s/; s/^( +)group_interval: .*/\\1group_interval: 10s/' alertmanager-nosecrets.yml",
    "if ! grep -q 'for: 10s' rules.yml || grep -qE 'for: [0-9]+[mh]' rules.yml; then echo 'rules not sped up' >&2; exit 1; fi",
    "sudo systemctl restart prometheus.service prometheus-alertmanager.service",
    "for i in $(seq 1 60); do curl -sf -o /dev/null http://127.0.0.1:9090/-/ready && curl -sf -o /dev/null http://127.0.0.1:9093/-/ready && exit 0; sleep 2; done; exit 1",
].join("\n");
/** The deployed monitoring files back (after SPEED_UP_MONITORING), as the program wrote them. */
const NORMAL_MONITORING = [
    "set -e",
    "cd /etc/ouvroir/monitoring",
    `for f in ${MONITORING_FILES.join(" ")}; do if sudo test -e "$f.harness-orig"; then sudo mv "$f.harness-orig" "$f"; fi; done`,
    "if grep -q 'for: 10s' rules.yml; then echo 'rules still sped up' >&2; exit 1; fi",
    "sudo systemctl restart prometheus.service prometheus-alertmanager.service",
].join("\n");

/**
 * A notification as the operator reads it: quoted-printable undone, then the HTML part's
 * entities (Alertmanager's mail is HTML: `'` arrives as `&#39;`).
 */
function mailText(m: Mail): string {
    const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
    return m.data
        .replace(/=\r\n/g, "")
        .replace(/=([0-9A-F]{2})/g, (_s, h: string) => String.fromCharCode(parseInt(h, 16)))
        .replace(/&(#\d+|[a-z]+);/g, (e, n: string) =>
            n.startsWith("#") ? String.fromCharCode(Number(n.slice(1))) : (named[n] ?? e),
        );
}

describeRole("web")("web server", () => {
    it("finished cloud-init without errors, data on the volume", async () => {
        const vm = vmOf("web");
        await check(["web"], async () => {
            await expectCloudInitClean(vm);
            await expectPinnedHostKey(vm, vm.spec.name as RoleName);
            await expectDataOnVolume(vm, "/srv/data/www");
        });
    });

    it("serves each static and PHP virtual host from its directory on the volume", async () => {
        const vm = vmOf("web");
        await check(["web"], async () => {
            const token = `vmtest-${Date.now()}`;
            for (const site of TEST_SITES.filter((s) => s.kind === "static")) {
                await sh(
                    vm,
                    `echo ${token}-${site.name} | sudo tee /srv/data/www/${site.name}/vmtest.txt`,
                );
                for (const domain of site.domains) {
                    const r = await request(`https://${domain}/vmtest.txt`);
                    expect(`${domain} ${r.status} ${r.body.toString().trim()}`).toBe(
                        `${domain} 200 ${token}-${site.name}`,
                    );
                }
            }
            for (const site of TEST_SITES.filter((s) => s.kind === "php")) {
                await sh(
                    vm,
                    `echo '<?php echo "php:" . (6 * 7);' | sudo tee /srv/data/www/${site.name}/vmtest.php`,
                );
                const r = await request(`https://${site.domains[0]}/vmtest.php`);
                expect(`${r.status} ${r.body.toString()}`).toBe("200 php:42");
            }
        });
    });

    it("redirects HTTP to HTTPS and sends security headers", async () => {
        await check(["web"], async () => {
            vmOf("web");
            const r = await request(`http://${PUBLIC_HOSTNAME}/some/page?x=1`);
            expect(r.status).toBe(301);
            expect(r.headers.location).toBe(`https://${PUBLIC_HOSTNAME}/some/page?x=1`);
            const s = await request(`https://${PUBLIC_HOSTNAME}/`);
            expect(s.headers["strict-transport-security"]).toMatch(/max-age=\d+/);
            expect(s.headers["x-content-type-options"]).toBe("nosniff");
        });
    });
    it("monitors from its loopback only: Prometheus, Alertmanager and the exporters never listen outside", async () => {
        const vm = vmOf("web");
        await check(["web"], async () => {
            const listening = (await sh(vm, "ss -ltnH | awk '{print $4}' | sort -u")).split("\n");
            for (const port of [9090, 9093, 9115, 9100]) {
                expect([port, listening.filter((l) => l.endsWith(`:${port}`))]).toEqual([
                    port,
                    [`127.0.0.1:${port}`],
                ]);
            }
            // No clustering port: Alertmanager alone.
            expect(listening.filter((l) => l.endsWith(":9094"))).toEqual([]);
            // From this machine (anyone but an SSH tunnel): nothing answers.
            const direct = await execFileP("curl", [
                "-s",
                "-o",
                "/dev/null",
                "--max-time",
                "5",
                `http://${WEB}:9090/`,
            ]).then(
                () => "answered",
                () => "no answer",
            );
            expect(direct).toBe("no answer");
            await waitFor(
                "the web server's own node exporter scraped",
                async () =>
                    (await promQuery('up{job="node",role="web"} == 1')).length === 1
                        ? true
                        : undefined,
                180_000,
            );
            // The sites served from the web server itself, probed through Nginx with their
            // Host header (the others wait for their private role's checks).
            const own = TEST_SITES.filter((t) => t.kind === "static" || t.kind === "php").map(
                (t) => `site-${t.name}`,
            );
            await waitFor(
                `the probes of ${own.join(", ")} succeeding`,
                async () => {
                    const ok = (await promQuery('probe_success{role="web"} == 1')).map(
                        (r) => r.metric.job,
                    );
                    return own.every((j) => ok.includes(`probe-${j}`)) ? true : undefined;
                },
                240_000,
            );
            // `npm run status`'s questions, asked as the tool asks them: its script on the
            // stdin of `sh -s` over SSH (again while Alertmanager, just booted, does not answer).
            const answers = await waitFor(
                "Alertmanager's answer to status's questions",
                async () => {
                    const a = parseAnswers((await vm.sshStdin("sh -s", remoteScript())).stdout);
                    return Array.isArray(a["alerts"]) ? a : undefined;
                },
                180_000,
            );
            const report = formatStatus(
                {
                    stack: "vmtest",
                    bastion: WEB,
                    adminUser: "debian",
                    roles: ["web"],
                    endpoints: {},
                    knownHosts: "",
                },
                answers,
                new Date(),
            );
            expect(report).toMatch(/^web +up +\d+ % of \d+ GB +\d+ % +none set up$/m);
            expect(report).toContain("Alerts firing");
            // What monitoring takes of the web server (the quota report's note says about 200 MB).
            const rss = Number(
                await sh(
                    vm,
                    "ps -C prometheus,prometheus-alertmanager,prometheus-blackbox-exporter,prometheus-node-exporter -o rss= | awk '{s+=$1} END {print s}'",
                ),
            );
            expect(rss).toBeGreaterThan(0);
            expect(rss / 1024).toBeLessThan(600);
            figureLines.push(
                `monitoring on the web server: ${(rss / 1024).toFixed(0)} MB resident (Prometheus, Alertmanager, 2 exporters)`,
            );
        });
    });

    itIsHardened("web");
});

describeRole("xmldb")("XML database", () => {
    beforeAll(() => bootPrivate("xmldb"));

    it("finished cloud-init without errors, databases on the volume", async () => {
        const vm = vmOf("xmldb");
        await check(["xmldb"], async () => {
            await expectCloudInitClean(vm);
            await expectPinnedHostKey(vm, vm.spec.name as RoleName);
            await expectDataOnVolume(vm, "/srv/data/basex/data");
        });
    });

    it("publishes only a restxq site's paths: public REST and DBA answer 404, admin goes through the bastion", async () => {
        const vm = vmOf("xmldb");
        vmOf("web");
        await check(["web", "xmldb"], async () => {
            const password = (await sh(vm, "sudo cat /srv/data/basex/admin-password")).trim();
            const query = encodeURIComponent("string-join((1 to 3) ! string(. * 7), ',')");
            const auth = ["-u", `admin:${password}`];
            const EDITION = `edition.${PUBLIC_HOSTNAME}`;
            // Nothing of BaseX on the main host; on the restxq site, only its paths reach 8080.
            const refused = [
                `https://${PUBLIC_HOSTNAME}/basex/rest?query=${query}`,
                `https://${PUBLIC_HOSTNAME}/basex/dba/`,
                `https://${PUBLIC_HOSTNAME}/rest?query=${query}`,
                `https://${EDITION}/rest?query=${query}`,
                `https://${EDITION}/dba/`,
                `https://${EDITION}/webdav/`,
                `https://${EDITION}/edition/../rest?query=${query}`,
                `https://${EDITION}/edition/%2e%2e/rest?query=${query}`,
            ];
            for (const url of refused) {
                const r = await request(url, auth);
                expect(
                    `${url} ${r.status} ${r.body.toString().includes("basex-rest-gateway")}`,
                ).toBe(`${url} 404 false`);
            }
            // The published path reaches BaseX's HTTP port (here the test gateway's marker: BaseX
            // 9.7 has no RESTXQ; the cloud's BaseX answers with the application).
            const app = await request(`https://${EDITION}/edition/hello`);
            expect(`${app.status} ${app.body.toString().trim()}`).toBe(
                "404 basex-rest-gateway: no RESTXQ in BaseX 9.7",
            );
            // The operator's way in: an SSH tunnel through the bastion (sshConfig's -tunnel host).
            const port = 18984;
            const tunnel = execFile("ssh", [
                ...SSH_OPTS,
                "-N",
                "-L",
                `127.0.0.1:${port}:${PRIVATE_IPS.xmldb}:8080`,
                `debian@${WEB}`,
            ]);
            try {
                let body = "";
                for (let i = 0; i < 20 && body !== "7,14,21"; i++) {
                    await new Promise((res) => setTimeout(res, 1000));
                    const r = await execFileP(
                        "curl",
                        [
                            "-s",
                            "--max-time",
                            "30",
                            "-u",
                            `admin:${password}`,
                            `http://127.0.0.1:${port}/rest?query=${query}`,
                        ],
                        { encoding: "utf8" },
                    ).catch(() => ({ stdout: "" }));
                    body = r.stdout.trim();
                }
                expect(body).toBe("7,14,21");
            } finally {
                tunnel.kill();
            }
        });
    });

    it("accepts BaseX's client port from the app server's address only, never the sandbox's", async () => {
        const vm = vmOf("xmldb");
        vmOf("web");
        await check(["web", "xmldb"], async () => {
            expect(await connectsFrom("web", PRIVATE_IPS.web, PRIVATE_IPS.xmldb, 1984)).toBe(false);
            expect(await connectsFrom("web", PRIVATE_IPS.sandbox, PRIVATE_IPS.xmldb, 1984)).toBe(
                false,
            );
            if (!vms.app?.running) {
                expect(await connectsFrom("web", PRIVATE_IPS.app, PRIVATE_IPS.xmldb, 1984)).toBe(
                    true,
                );
            }
            expect(await sh(vm, "sudo ss -Htln 'sport = :1984' | wc -l")).not.toBe("0\n");
        });
    });

    it("a restart returns only once BaseX accepts clients (day-2 and restores rely on it)", async () => {
        const vm = vmOf("xmldb");
        await check(["xmldb"], async () => {
            // The client connects the moment `systemctl restart` returns, as the backup's dump
            // does after a day-2 push; before basex.service waited for its port, it was refused.
            const out = await sh(
                vm,
                "sudo systemctl restart basex.service && sudo bash -c '. /etc/ouvroir/basex.env && " +
                    "cat /srv/data/basex/admin-password | " +
                    'java -XX:TieredStopAtLevel=1 -cp "$BASEX_CP" org.basex.BaseXClient -p1984 -Uadmin -c "XQUERY 6*7"\'',
            );
            expect(out).toMatch(/\b42\b/);
        });
    });

    itIsWatched("xmldb");
    itIsHardened("xmldb");
    itBacksUp("xmldb");

    afterAll(() => stopAndRestore("xmldb"));
});

describeRole("iiif")("IIIF server", () => {
    beforeAll(() => bootPrivate("iiif"));

    it("finished cloud-init without errors, images on the volume", async () => {
        const vm = vmOf("iiif");
        await check(["iiif"], async () => {
            await expectCloudInitClean(vm);
            await expectPinnedHostKey(vm, vm.spec.name as RoleName);
            await expectDataOnVolume(vm, "/srv/data/iiif/images");
        });
    });

    it("serves info.json with public ids and a tile through the web server", async () => {
        const vm = vmOf("iiif");
        vmOf("web");
        await check(["web", "iiif"], async () => {
            const tif = path.join(RUN_DIR, "vmtest.tif");
            await execFileP("bash", [path.join(REPO_ROOT, "tests/harness/vm/test-image.sh"), tif]);
            await vm.copyIn(tif, "/tmp/vmtest.tif");
            await sh(vm, "sudo install -m 0644 /tmp/vmtest.tif /srv/data/iiif/images/vmtest.tif");

            const info = await request(`https://${PUBLIC_HOSTNAME}/iiif/3/vmtest.tif/info.json`);
            expect(info.status).toBe(200);
            const doc = JSON.parse(info.body.toString()) as Record<string, unknown>;
            // Image API 3 says `id`; Debian's IIPImage 1.1 answers API 2 (`@id`) on both paths.
            const id = String(doc.id ?? doc["@id"]);
            expect(id).toMatch(
                new RegExp(
                    `^https://${PUBLIC_HOSTNAME.replace(".", "\\.")}/iiif/[23]/vmtest\\.tif$`,
                ),
            );
            expect(doc.width).toBe(640);

            const tile = await request(
                `https://${PUBLIC_HOSTNAME}/iiif/3/vmtest.tif/full/256,/0/default.jpg`,
            );
            expect(tile.status).toBe(200);
            expect(tile.headers["content-type"]).toMatch(/image\/jpeg/);
            expect(tile.body.subarray(0, 2).toString("hex")).toBe("ffd8");
        });
    });

    it("publishes a manifest per document that eScriptorium imports: every canvas's image within its 30 s timeout", async () => {
        const vm = vmOf("iiif");
        vmOf("web");
        await check(["web", "iiif"], async () => {
            // A document: a folder of pages on the volume (name order), then the timer's run.
            const tif = path.join(RUN_DIR, "vmtest-page.tif");
            await execFileP("bash", [path.join(REPO_ROOT, "tests/harness/vm/test-image.sh"), tif]);
            await vm.copyIn(tif, "/tmp/vmtest-page.tif");
            await sh(
                vm,
                "set -e; d='/srv/data/iiif/images/registre vmtest'; sudo install -d \"$d\"; " +
                    'for p in f02 f01; do sudo install -m 0644 /tmp/vmtest-page.tif "$d/$p.tif"; done; ' +
                    "sudo systemctl start ouvroir-iiif-manifests.service",
            );
            const t0 = Date.now();
            const collection = await request(
                `https://${PUBLIC_HOSTNAME}/iiif/manifests/collection.json`,
            );
            expect([collection.status, collection.headers["access-control-allow-origin"]]).toEqual([
                200,
                "*",
            ]);
            const entry = (
                JSON.parse(collection.body.toString()) as {
                    manifests: { "@id": string; label: string }[];
                }
            ).manifests.find((m) => m.label === "registre vmtest");
            expect(entry?.["@id"]).toBe(
                `https://${PUBLIC_HOSTNAME}/iiif/manifests/registre%20vmtest/manifest.json`,
            );
            // eScriptorium's importer: the manifest, then each canvas's service at full size.
            const manifest = await request(entry!["@id"], ["--max-time", "30"]);
            expect([manifest.status, manifest.headers["access-control-allow-origin"]]).toEqual([
                200,
                "*",
            ]);
            const file = path.join(RUN_DIR, "vmtest-manifest.json");
            fs.writeFileSync(file, manifest.body);
            const py = (
                await execFileP("bash", [path.join(REPO_ROOT, "tests/harness/python-tools.sh")])
            ).stdout.trim();
            const validated = await execFileP(py, [
                path.join(REPO_ROOT, "tests/harness/iiif/validate.py"),
                file,
            ]);
            expect(JSON.parse(validated.stdout.trim())).toEqual({
                file,
                type: "sc:Manifest",
                canvases: 2,
                warnings: [],
            });
            const canvases = (
                JSON.parse(manifest.body.toString()) as {
                    sequences: {
                        canvases: {
                            label: string;
                            width: number;
                            images: { resource: { service: { "@id": string } } }[];
                        }[];
                    }[];
                }
            ).sequences[0]!.canvases;
            expect(canvases.map((c) => [c.label, c.width])).toEqual([
                ["f01", 640],
                ["f02", 640],
            ]);
            const times: number[] = [];
            for (const c of canvases) {
                const url = `${c.images[0]!.resource.service["@id"]}/full/full/0/default.jpg`;
                const t = Date.now();
                const img = await request(url, ["--max-time", "30"]);
                times.push((Date.now() - t) / 1000);
                expect([url, img.status, img.body.subarray(0, 2).toString("hex")]).toEqual([
                    url,
                    200,
                    "ffd8",
                ]);
            }
            figureLines.push(
                `eScriptorium's import of a 2-page document: manifest and images in ${((Date.now() - t0) / 1000).toFixed(1)} s (slowest image ${Math.max(...times).toFixed(1)} s of its 30 s)`,
            );
            // The monitoring host sees the IIIF VM and probes its services.
            await waitFor(
                "the IIIF server scraped and its manifests probed",
                async () =>
                    (await promQuery('up{job="node",role="iiif"} == 1')).length === 1 &&
                    (await promQuery('probe_success{probe="iiif manifests"} == 1')).length === 1
                        ? true
                        : undefined,
                300_000,
            );
        });
    });

    itIsWatched("iiif");
    itIsHardened("iiif");

    afterAll(() => stop("iiif"));
});

describeRole("app")("app server", () => {
    beforeAll(() => bootPrivate("app"));

    it("finished cloud-init without errors, SQL data on the volume", async () => {
        const vm = vmOf("app");
        await check(["app"], async () => {
            await expectCloudInitClean(vm);
            await expectPinnedHostKey(vm, vm.spec.name as RoleName);
            await expectDataOnVolume(vm, "/srv/data/mysql");
        });
    });

    it("answers a SQL query, with its data directory on the volume", async () => {
        const vm = vmOf("app");
        await check(["app"], async () => {
            const out = await sh(vm, `sudo mariadb -N -B -e "SELECT 6 * 7, @@datadir"`);
            expect(out.trim()).toMatch(/^42\s+\/srv\/data\/mysql\/?$/);
        });
    });

    it("accepts SQL from the web server's address only: the sandbox host cannot connect", async () => {
        vmOf("app");
        vmOf("web");
        await check(["web", "app"], async () => {
            const sql = 3306;
            expect(await connectsFrom("web", PRIVATE_IPS.web, PRIVATE_IPS.app, sql)).toBe(true);
            const sandbox = vms.sandbox;
            if (sandbox?.running) {
                // The sandbox host is booting beside this check: try from it, as a researcher would.
                await sandbox.ssh("true", 900_000);
                expect(
                    await connectsFrom(
                        "sandbox",
                        PRIVATE_IPS.sandbox,
                        PRIVATE_IPS.app,
                        sql,
                        sandbox,
                    ),
                ).toBe(false);
            } else {
                expect(await connectsFrom("web", PRIVATE_IPS.sandbox, PRIVATE_IPS.app, sql)).toBe(
                    false,
                );
            }
        });
    });

    it("serves a Python and a Node.js app through the web server", async () => {
        vmOf("app");
        vmOf("web");
        await check(["web", "app"], async () => {
            const py = await request(`https://py.${PUBLIC_HOSTNAME}/hello`);
            expect(py.status).toBe(200);
            expect(JSON.parse(py.body.toString())).toMatchObject({
                app: "hello-python",
                venv: true,
            });
            const node = await request(`https://node.${PUBLIC_HOSTNAME}/hello`);
            expect(node.status).toBe(200);
            expect(JSON.parse(node.body.toString())).toMatchObject({ app: "hello-node" });
        });
    });

    it("gives each declared app its own database and user, in its env file, and no other's", async () => {
        const vm = vmOf("app");
        await check(["app"], async () => {
            figureLines.push(...(await expectOwnDatabasesOnly(vm, ["notes", "ledger"])));
        });
    });

    itIsWatched("app");
    itIsHardened("app");
    itBacksUp("app");

    it("tells the operator: a full volume, a stopped app and a failed backup fire in Alertmanager, mail leaves through the relay, all resolve after the fix", async () => {
        const vm = vmOf("app");
        const web = vmOf("web");
        await check(["web", "app"], async () => {
            const sink = smtpSink;
            const hooks = webhookSink;
            if (!sink || !hooks || !relayCa) throw new Error("the relay or webhook did not start");
            // HARNESS STAND-IN: the guest trusts the relay's test CA, as it trusts a lab relay's
            // public CA. Then the receivers' secrets, pushed by the program's own day-2 fragment.
            const trusted = await web.sshStdin(
                "sudo tee /usr/local/share/ca-certificates/ouvroir-vmtest-relay.crt >/dev/null && sudo update-ca-certificates",
                relayCa,
            );
            expect([trusted.code, /^1 added, 0 removed/m.test(trusted.stdout)]).toEqual([0, true]);
            const pushed = await web.sshStdin(
                "sudo bash -s",
                renderAlertSecretsSetup({
                    smtpPassword: HARNESS_ALERT_SECRETS.smtpPassword,
                    webhookUrl: `http://${HOST_PRIVATE_IP}:${WEBHOOK_SINK_PORT}${HARNESS_ALERT_SECRETS.webhookPath}`,
                }),
            );
            expect([pushed.code, pushed.stderr]).toEqual([0, ""]);
            // The secrets: root's alone, and in Alertmanager's file, readable by its group only.
            expect(
                await sh(
                    web,
                    "sudo stat -c '%a %U %G %n' /etc/ouvroir/monitoring/secrets/smtp-password /etc/ouvroir/monitoring/secrets/webhook-url /etc/ouvroir/monitoring/alertmanager.yml",
                ).then((out) => out.trim()),
            ).toBe(
                [
                    "600 root root /etc/ouvroir/monitoring/secrets/smtp-password",
                    "600 root root /etc/ouvroir/monitoring/secrets/webhook-url",
                    "640 root prometheus /etc/ouvroir/monitoring/alertmanager.yml",
                ].join("\n"),
            );
            await sh(web, SPEED_UP_MONITORING);
            try {
                await waitFor(
                    "the app server scraped",
                    async () =>
                        (await promQuery('up{job="node",role="app"} == 1')).length === 1
                            ? true
                            : undefined,
                    300_000,
                );
                // The backup's half runs when this run backs the app server up (CI does).
                const backup =
                    (
                        await vm.ssh(
                            "test -x /usr/local/sbin/ouvroir-backup && sudo test -s /etc/ouvroir/backup.env",
                        )
                    ).code === 0;
                const t0 = Date.now();
                await sh(
                    vm,
                    'set -e; read -r size used <<<"$(df -B1 --output=size,used /srv/data | tail -n 1)"; ' +
                        "sudo fallocate -l $(( size * 90 / 100 - used )) /srv/data/vmtest-fill",
                );
                await sh(vm, "sudo systemctl stop ouvroir-app@hello-python.service");
                if (backup) {
                    // The keys gone (an operator's mistake): the night's run fails and says so.
                    await sh(vm, "sudo mv /etc/ouvroir/backup.env /etc/ouvroir/backup.env.vmtest");
                    const run = await vm.ssh(
                        "sudo systemctl start ouvroir-backup.service",
                        600_000,
                    );
                    expect(run.code).not.toBe(0);
                    expect(
                        await sh(vm, "cat /var/lib/prometheus/node-exporter/ouvroir-backup.prom"),
                    ).toMatch(/^ouvroir_backup_last_run_success 0$/m);
                }
                const expected: [string, string | undefined][] = [
                    ["DataVolumeAlmostFull", undefined],
                    ["ServiceDown", "ouvroir-app@hello-python.service"],
                    ...(backup ? [["BackupFailed", undefined] as [string, undefined]] : []),
                ];
                const holds = (
                    alerts: Record<string, string>[],
                    [name, service]: [string, string | undefined],
                ): boolean =>
                    alerts.some(
                        (a) =>
                            a.alertname === name &&
                            a.role === "app" &&
                            (service === undefined || a.service === service),
                    );
                await waitFor(
                    `${expected.map((e) => e[0]).join(", ")} firing in Alertmanager`,
                    async () => {
                        const alerts = await activeAlerts();
                        return expected.every((e) => holds(alerts, e)) ? alerts : undefined;
                    },
                    600_000,
                );
                const firedS = (Date.now() - t0) / 1000;
                const mailed = (status: string, name: string): Mail | undefined =>
                    sink.mails.find(
                        (m) =>
                            mailText(m).includes(`[${status}`) &&
                            mailText(m).includes(name) &&
                            mailText(m).includes("app"),
                    );
                await waitFor(
                    "the notifications through the relay",
                    async () => (expected.every(([n]) => mailed("FIRING", n)) ? true : undefined),
                    300_000,
                );
                const full = mailed("FIRING", "DataVolumeAlmostFull") as Mail;
                expect(full.to).toEqual(["operateur@ouvroir.test"]);
                // Through the relay as it wants: STARTTLS (its certificate verified), then login.
                expect([full.tls, full.user]).toEqual([true, HARNESS_ALERT_SECRETS.username]);
                expect(mailText(full)).toContain(
                    "pulumi config set --path 'ouvroir:roles.app.dataVolumeGb'",
                );

                // The fix: space freed, the app started, the keys back and a backup that succeeds.
                const t1 = Date.now();
                await sh(
                    vm,
                    "sudo rm -f /srv/data/vmtest-fill && sudo systemctl start ouvroir-app@hello-python.service",
                );
                if (backup) {
                    await sh(
                        vm,
                        "sudo mv /etc/ouvroir/backup.env.vmtest /etc/ouvroir/backup.env && sudo systemctl start ouvroir-backup.service",
                    );
                    expect(
                        await sh(vm, "cat /var/lib/prometheus/node-exporter/ouvroir-backup.prom"),
                    ).toMatch(/^ouvroir_backup_last_run_success 1$/m);
                    // The restore on a new VM takes this latest snapshot.
                    if (backedUp.app) backedUp.app = await afterAnotherBackup(vm, backedUp.app);
                }
                await waitFor(
                    "every alert resolved in Alertmanager",
                    async () => {
                        const alerts = await activeAlerts();
                        return expected.every((e) => !holds(alerts, e)) ? true : undefined;
                    },
                    600_000,
                );
                const resolvedS = (Date.now() - t1) / 1000;
                await waitFor(
                    "the resolved notifications",
                    async () => (expected.every(([n]) => mailed("RESOLVED", n)) ? true : undefined),
                    300_000,
                );
                // The webhook had both, each alert with its role, at its URL's path (the token).
                const hooked = (status: string, name: string): boolean =>
                    hooks.hooks.some(
                        (h) =>
                            h.path === HARNESS_ALERT_SECRETS.webhookPath &&
                            h.body.alerts.some(
                                (a) =>
                                    a.status === status &&
                                    a.labels.alertname === name &&
                                    a.labels.role === "app",
                            ),
                    );
                await waitFor(
                    "the webhook's firing and resolved notifications",
                    async () =>
                        expected.every(([n]) => hooked("firing", n) && hooked("resolved", n))
                            ? true
                            : undefined,
                    300_000,
                );
                figureLines.push(
                    `alerts (rules' 'for' at 10 s, test only): ${expected.map((e) => e[0]).join(", ")} active in Alertmanager ${firedS.toFixed(0)} s after the faults, resolved ${resolvedS.toFixed(0)} s after the fix; ${sink.mails.length} mails through the relay (TLS, login), ${hooks.hooks.length} webhook posts`,
                );
            } finally {
                await sh(web, NORMAL_MONITORING);
            }
        });
    });

    afterAll(() => stopAndRestore("app"));
});

describeRole("sandbox")("sandbox host", () => {
    beforeAll(() => bootPrivate("sandbox"));

    /** The busybox image, built on the host and imported by alice once for both checks. */
    let imported: Promise<void> | undefined;
    const importBusybox = (vm: Vm): Promise<void> =>
        (imported ??= (async () => {
            const tar = path.join(RUN_DIR, "busybox.tar");
            await execFileP("bash", [
                path.join(REPO_ROOT, "tests/harness/vm/busybox-image.sh"),
                tar,
            ]);
            await vm.copyIn(tar, "/tmp/busybox.tar", "alice");
            await sh(vm, "docker import /tmp/busybox.tar vmtest/busybox", "alice");
        })());

    it("finished cloud-init without errors, researchers' data on the volume", async () => {
        const vm = vmOf("sandbox");
        await check(["sandbox"], async () => {
            await expectCloudInitClean(vm);
            await expectPinnedHostKey(vm, vm.spec.name as RoleName);
            await expectDataOnVolume(vm, "/srv/data/home/alice");
        });
    });

    it("lets a researcher run a container without sudo, its images on the volume", async () => {
        const vm = vmOf("sandbox");
        await check(["sandbox"], async () => {
            const groups = await sh(vm, "id -nG", "alice");
            expect(groups.split(/\s+/)).not.toEqual(expect.arrayContaining(["sudo"]));
            expect(groups.split(/\s+/)).not.toEqual(expect.arrayContaining(["docker"]));
            expect((await vm.ssh("sudo -n true", 60_000, "alice")).code).not.toBe(0);
            await importBusybox(vm);
            const out = await sh(
                vm,
                "docker run --rm vmtest/busybox echo hello-from-container",
                "alice",
            );
            expect(out.trim()).toBe("hello-from-container");
            const root = await sh(vm, "docker info -f '{{.DockerRootDir}}'", "alice");
            expect(root.trim()).toMatch(/^\/srv\/data\/home\/alice\//);
        });
    });

    it("publishes a researcher's web app through the web server, within alice's limits", async () => {
        const vm = vmOf("sandbox");
        vmOf("web");
        const site = TEST_SITES.find((s) => s.kind === "proxy" && s.upstreamRole === "sandbox");
        if (!site?.upstreamPort) throw new Error("TEST_SITES has no proxy site to the sandbox");
        await check(["web", "sandbox"], async () => {
            await importBusybox(vm);
            const token = `sandbox-app-${Date.now()}`;
            // busybox httpd serves /tmp/index.html; 8080 inside, the site's port on the host.
            await sh(
                vm,
                `docker run -d --name vmtest-web -p ${site.upstreamPort}:8080 vmtest/busybox ` +
                    `sh -c 'echo ${token} >/tmp/index.html && exec httpd -f -p 8080 -h /tmp'`,
                "alice",
            );
            // The daemon's port forwarder and httpd start asynchronously: a bounded wait.
            const url = `https://${site.domains[0]}/`;
            let last = "";
            for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
                const r = await request(url);
                last = `${r.status} ${r.body.toString().trim()}`;
                if (last === `200 ${token}`) break;
                await new Promise((res) => setTimeout(res, 3000));
            }
            expect(last).toBe(`200 ${token}`);

            // The container's processes run in alice's user slice, under its CPU and memory caps.
            const uid = (await sh(vm, "id -u", "alice")).trim();
            const pid = (
                await sh(vm, "docker inspect -f '{{.State.Pid}}' vmtest-web", "alice")
            ).trim();
            // The kernel's own figures: cpu.max is "<quota> <period>" in µs, memory.max bytes.
            const slice = `/sys/fs/cgroup/user.slice/user-${uid}.slice`;
            const limits = await sh(
                vm,
                `cat ${slice}/cpu.max ${slice}/memory.max; sudo cat /proc/${pid}/cgroup`,
            );
            const [cpuMax, memoryMax, cgroup] = limits.trim().split("\n");
            const alice = researcherFor("");
            const [quota, period] = (cpuMax ?? "").split(" ").map(Number);
            expect(Math.round(((quota ?? 0) / (period ?? 1)) * 100)).toBe(alice.cpuPercent);
            expect(memoryMax).toBe(String(alice.memoryMiB * 1024 * 1024));
            expect(cgroup).toContain(`/user.slice/user-${uid}.slice/`);
        });
    });

    it("lets a researcher in through the bastion with her own key, to her sandbox account only", async () => {
        const vm = vmOf("sandbox");
        const web = vmOf("web");
        await check(["web", "sandbox"], async () => {
            await importBusybox(vm); // also builds the image's tar on this machine
            const tar = path.join(RUN_DIR, "busybox.tar");
            const bruno = selfServeResearcher("").name;
            const bastion = web.spec.privateIp;
            // Her ssh config is the program's output for her, plus her key and this test's
            // throwaway known_hosts.
            const cfg = path.join(RUN_DIR, `${bruno}.ssh_config`);
            fs.writeFileSync(
                cfg,
                (researcherSshConfig([bruno], bastion, [
                    { name: "vmtest-sandbox-1", ip: vm.spec.privateIp },
                ])[bruno] ?? "") +
                    [
                        "Host *",
                        `    IdentityFile ${researcherKeyPair().privateKey}`,
                        "    IdentitiesOnly yes",
                        "    BatchMode yes",
                        "    StrictHostKeyChecking no",
                        "    UserKnownHostsFile /dev/null",
                        "    LogLevel ERROR",
                        "    ConnectTimeout 20",
                    ].join("\n") +
                    "\n",
            );
            const ssh = async (args: string, stdin = "/dev/null"): Promise<string> => {
                try {
                    const r = await execFileP("bash", ["-c", `ssh -F ${cfg} ${args} <${stdin}`], {
                        timeout: 300_000,
                    });
                    return `0 ${r.stdout}${r.stderr}`;
                } catch (e) {
                    const x = e as { code?: number; stdout?: string; stderr?: string };
                    return `${x.code ?? "?"} ${x.stdout ?? ""}${x.stderr ?? ""}`;
                }
            };
            // In, through her jump account, with her key alone: her account; a container runs.
            expect(await ssh("vmtest-sandbox-1 id -un")).toBe(`0 ${bruno}\n`);
            expect(await ssh("vmtest-sandbox-1 docker import - vmtest/busybox", tar)).toMatch(
                /^0 sha256:/,
            );
            expect(
                await ssh("vmtest-sandbox-1 docker run --rm vmtest/busybox echo hello-from-bruno"),
            ).toBe("0 hello-from-bruno\n");
            // No command and no shell on the bastion, with or without a terminal.
            const notAvailable = /^1 .*This account is currently not available\./s;
            expect(await ssh(`${bruno}@${bastion} id -un`)).toMatch(notAvailable);
            // With a terminal forced, sshd refuses it (PermitTTY no) and the session ends.
            expect(await ssh(`-tt ${bruno}@${bastion}`)).toMatch(
                /^(1|255) .*(PTY allocation request failed|This account is currently not available\.)/s,
            );
            // No forward but to the sandbox host's SSH: not another VM, not another of its
            // ports, not the bastion itself.
            for (const target of [
                `${PRIVATE_IPS.app}:22`,
                `${PRIVATE_IPS.xmldb}:22`,
                `${vm.spec.privateIp}:8123`,
                "127.0.0.1:22",
            ]) {
                // sshd's refusal is logged at INFO (the config says ERROR): not a target down.
                expect(await ssh(`-o LogLevel=INFO -W ${target} ${bruno}@${bastion}`)).toMatch(
                    /administratively prohibited/,
                );
            }
            // Her key is hers alone: the operators' account on the bastion refuses it.
            expect(await ssh(`debian@${bastion} true`)).toMatch(/^255 .*Permission denied/s);
            figureLines.push(
                `${bruno}: through the bastion with her own key to her sandbox account, a container run; ` +
                    "no command, shell or terminal on the bastion; forwards to 4 other targets refused",
            );
        });
    });

    itIsWatched("sandbox", async () => {
        // The researchers' Docker, as the 10-minute timer would report it by now.
        await sh(vmOf("sandbox"), "sudo systemctl start ouvroir-node-metrics.service");
    });
    itIsHardened("sandbox");

    afterAll(() => stop("sandbox"));
});

describeRole("web")("web server, audited while the private roles booted", () => {
    (AUDITED.includes("web") && LYNIS.includes("web") ? it : it.skip)(
        "is hardened: Lynis index, declared ports only, sshd, upgrades, fail2ban",
        async () => {
            vmOf("web");
            await expectHardened("web", async () => {
                const a = await webAudit;
                if (a === undefined) throw new Error("web: the audit was not started");
                if (a instanceof Error) throw a;
                return a;
            });
        },
    );
});

describe("backups restored on new VMs with empty volumes, beside the other checks", () => {
    for (const role of BACKUP_ROLES) {
        (BACKED_UP.includes(role) && SELECTED.includes(role) ? it : it.skip)(
            `${role}: byte-identical files and the same query answers after the restore`,
            async () => {
                const r = await restores[role];
                if (r === undefined) throw new Error(`${role}: not backed up, nothing restored`);
                if (r instanceof Error) throw r;
                backupFigures.push(`restore ${role} on an empty volume: ${r}`);
            },
        );
    }
});
