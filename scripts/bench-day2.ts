/**
 * `npm run bench:day2`: on one running web server VM, the time to add a site by the day-2 push
 * (the script the program pushes, `sudo bash -s` over SSH, Nginx reloaded) until the new vhost
 * answers, against rebuilding that VM (a new instance on the same data volume, the new site in
 * its user data) until the new vhost answers; prints both and the ratio.
 *
 * Also the helpers of the data trials and hardening tests (tests/vm/trials.test.ts,
 * hardening.test.ts): booting a role on its own private IP, SSH with a script on stdin, HTTPS
 * requests to a guest. `main()` runs only when this file is the entry point.
 */
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { promisify } from "util";
import { renderDay2Script } from "../components/day2";
import { RoleName } from "../components/roles";
import { renderUserData, Site, UserDataInput } from "../components/userData";
import { harnessInput, PUBLIC_HOSTNAME, TEST_SITES } from "./vm/inputs";
import {
    BaseImage,
    DataDisk,
    ensureBaseImage,
    ensureSshKey,
    fakeVolumeSerial,
    makeVm,
    Vm,
    VM_CACHE,
} from "./vm/qemu";
import { defaultKeyDir, MEMORY_MIB, waitHealthy } from "./vm/roleVm";

const execFileP = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Private IPs of these trials, apart from the harness's per-role ones (scripts/vm/qemu.ts) and
 * from one run to another (by pid): another run's web server may be on the bridge at the same time.
 */
const lane = process.pid % 20;
export const TRIAL_IPS = {
    trials: `10.209.0.${100 + lane}`,
    hardening: `10.209.0.${130 + lane}`,
    bench: `10.209.0.${160 + lane}`,
};

export const BOOT_TIMEOUT_MS = Number(process.env.OUVROIR_VM_BOOT_TIMEOUT_S ?? "2400") * 1000;

/**
 * The web server's sites in these trials: the harness's, without the PHP site (php-gd pulls a
 * hundred image libraries: minutes of a TCG boot that no trial here needs).
 */
export const TRIAL_SITES: readonly Site[] = TEST_SITES.filter((s) => s.kind !== "php");

/** The sites after a day-2 change: one static site added, one proxy site removed. */
export const NEW_SITE: Site = {
    name: "newsite",
    domains: [`new.${PUBLIC_HOSTNAME}`],
    kind: "static",
};
export const REMOVED_SITE = "nodeapp";
export const CHANGED_SITES: readonly Site[] = [
    ...TRIAL_SITES.filter((s) => s.name !== REMOVED_SITE),
    NEW_SITE,
];

export interface TrialVmOptions {
    readonly role: RoleName;
    /** qemu -name and log prefix. */
    readonly name: string;
    readonly privateIp: string;
    readonly workDir: string;
    readonly dataDisk?: DataDisk;
    readonly sites?: readonly Site[];
    /** Keep the root disk and instance id: the same instance powered on again (a reboot). */
    readonly keepRoot?: boolean;
}

/** The Vm and the user-data input of a role on a trial IP (not started). */
export function trialVm(o: TrialVmOptions): { vm: Vm; input: UserDataInput } {
    const { publicKey } = ensureSshKey(defaultKeyDir());
    const dataDisk = o.dataDisk ?? {
        path: path.join(o.workDir, "data.qcow2"),
        serial: fakeVolumeSerial(),
        sizeGb: 8,
    };
    const input = harnessInput(o.role, {
        sshPublicKey: publicKey,
        dataVolumeSerial: dataDisk.serial,
        sites: o.sites ?? (o.role === "web" ? TRIAL_SITES : TEST_SITES),
    });
    const vm = makeVm(
        {
            name: o.name,
            hostname: input.hostname,
            userData: renderUserData(input),
            privateIp: o.privateIp,
            workDir: o.workDir,
            adminUser: input.adminUser,
            dataDisk,
            memoryMiB: MEMORY_MIB[o.role],
            keepRoot: o.keepRoot,
        },
        defaultKeyDir(),
    );
    return { vm, input };
}

/** qemu processes on the machine, as `pgrep -c qemu-system` counts them (no procps needed). */
function qemuCount(): number {
    let n = 0;
    for (const pid of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(pid)) continue;
        try {
            if (fs.readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("qemu-system")) n++;
        } catch {
            // The process ended while we looked.
        }
    }
    return n;
}

/**
 * Waits until fewer than `max` qemu processes run on the machine (other sessions boot VMs
 * outside the harness's slot lock too), then a little more so two waiters do not both start.
 */
export async function waitForQemuRoom(max = 2, timeoutMs = 60 * 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let said = false; ; said = true) {
        if (qemuCount() < max) return;
        if (Date.now() > deadline)
            throw new Error(`still ${max} qemu VMs after ${timeoutMs / 1000} s`);
        if (!said) process.stderr.write(`waiting: ${max} qemu VMs already run on this machine\n`);
        await sleep(15_000 + Math.random() * 5000);
    }
}

/** Starts a VM and waits for cloud-init and the role's health check; seconds to healthy. */
export async function bootHealthy(vm: Vm, base: BaseImage, role: RoleName): Promise<number> {
    await waitForQemuRoom();
    await vm.start(base);
    await vm.waitCloudInit(BOOT_TIMEOUT_MS);
    return waitHealthy(vm, role, 10 * 60_000);
}

export interface RunResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** SSH into the guest with `stdin` fed to the command (how the program pushes day-2 scripts). */
export function sshStdin(
    vm: Vm,
    command: string,
    stdin: string,
    timeoutMs = 600_000,
): Promise<RunResult> {
    const args = [
        "-i",
        vm.sshKey,
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=15",
        `${vm.adminUser}@${vm.spec.privateIp}`,
        command,
    ];
    return new Promise((resolve) => {
        const p = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
        p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        p.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code: code ?? 255, stdout, stderr });
        });
        p.stdin.end(stdin);
    });
}

/** Runs a command in the guest; throws with its output on a non-zero exit. */
export async function guest(vm: Vm, command: string, timeoutMs = 300_000): Promise<string> {
    const r = await vm.ssh(command, timeoutMs);
    if (r.code !== 0) {
        throw new Error(`${vm.spec.name}: \`${command}\` exited ${r.code}: ${r.stderr}${r.stdout}`);
    }
    return r.stdout;
}

/** Pushes the role's day-2 script rendered for `input`, exactly as components/day2.ts does. */
export async function pushDay2(vm: Vm, input: UserDataInput): Promise<string> {
    const r = await sshStdin(vm, "sudo bash -s", renderDay2Script(input));
    if (r.code !== 0) throw new Error(`day-2 push exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
}

/** An HTTPS GET to the guest with the host name resolved to its private IP. */
export async function httpsGet(ip: string, url: string): Promise<{ status: number; body: string }> {
    const u = new URL(url);
    const port = u.port || (u.protocol === "https:" ? "443" : "80");
    try {
        const { stdout } = await execFileP("curl", [
            "-sk",
            "--max-time",
            "30",
            "--resolve",
            `${u.hostname}:${port}:${ip}`,
            "-w",
            "\n%{http_code}",
            url,
        ]);
        const i = stdout.lastIndexOf("\n");
        return { status: Number(stdout.slice(i + 1)), body: stdout.slice(0, i) };
    } catch {
        return { status: 0, body: "" };
    }
}

/** Polls until the vhost of `domain` answers 200 with `expect` in its body; throws after the timeout. */
export async function waitForVhost(
    ip: string,
    domain: string,
    expect: string,
    timeoutMs: number,
): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const r = await httpsGet(ip, `https://${domain}/`);
        if (r.status === 200 && r.body.includes(expect)) return;
        if (Date.now() > deadline)
            throw new Error(`${domain}: got ${r.status} ${r.body.slice(0, 200)}`);
        await sleep(250);
    }
}

/** A command to qemu's human monitor (e.g. `block_resize data 12G`); returns its answer. */
export function monitor(vm: Vm, command: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const sock = net.createConnection(path.join(vm.spec.workDir, "monitor.sock"));
        let out = "";
        sock.on("data", (d) => (out += d.toString()));
        sock.on("connect", () => {
            sock.write(command + "\n");
            // The monitor answers then waits for more; give it a moment and hang up.
            setTimeout(() => sock.end(), 1500);
        });
        sock.on("close", () => resolve(out));
        sock.on("error", reject);
    });
}

/** The page web-setup.sh writes for a new site (index.html with its first domain). */
export const defaultPage = (domain: string): string => `${domain} is served by Ouvroir.`;

interface BenchResult {
    push: number;
    rebuild: number;
}

async function bench(base: BaseImage, runDir: string): Promise<BenchResult> {
    const ip = TRIAL_IPS.bench;
    const dataDisk: DataDisk = {
        path: path.join(runDir, "data.qcow2"),
        serial: fakeVolumeSerial(),
        sizeGb: 8,
    };
    const domain = NEW_SITE.domains[0]!;

    // (a) day-2 push on the running VM.
    const first = trialVm({
        role: "web",
        name: "bench-web",
        privateIp: ip,
        workDir: path.join(runDir, "a"),
        dataDisk,
    });
    let push: number;
    try {
        const healthy = await bootHealthy(first.vm, base, "web");
        console.log(`web VM healthy after ${healthy.toFixed(0)} s; pushing a new site`);
        const changed = { ...first.input, sites: CHANGED_SITES };
        const t0 = Date.now();
        await pushDay2(first.vm, changed);
        await waitForVhost(ip, domain, defaultPage(domain), 5 * 60_000);
        push = (Date.now() - t0) / 1000;
        console.log(`(a) day-2 push + reload until ${domain} answers: ${push.toFixed(1)} s`);
    } finally {
        await first.vm.powerOff();
    }

    // (b) rebuild: a new instance on the same volume with the site in its user data. The clock
    // starts once the old VM is gone (a real replacement also waits for the delete): the ratio
    // is a floor.
    const second = trialVm({
        role: "web",
        name: "bench-web-rebuilt",
        privateIp: ip,
        workDir: path.join(runDir, "b"),
        dataDisk,
        sites: CHANGED_SITES,
    });
    try {
        await waitForQemuRoom();
        const t0 = Date.now();
        await second.vm.start(base);
        await waitForVhost(ip, domain, defaultPage(domain), BOOT_TIMEOUT_MS);
        const rebuild = (Date.now() - t0) / 1000;
        console.log(`(b) rebuild until ${domain} answers: ${rebuild.toFixed(1)} s`);
        return { push, rebuild };
    } finally {
        await second.vm.stop();
    }
}

async function main(): Promise<void> {
    const base = ensureBaseImage();
    const runDir = path.join(VM_CACHE, "runs", `bench-day2-${process.pid}`);
    fs.mkdirSync(runDir, { recursive: true });
    try {
        const r = await bench(base, runDir);
        const line =
            `day-2 benchmark (web, TCG): push+reload ${r.push.toFixed(1)} s, ` +
            `rebuild ${r.rebuild.toFixed(1)} s, rebuild/push ${(r.rebuild / r.push).toFixed(0)}×`;
        console.log(line);
        const file = path.join(
            VM_CACHE,
            `bench-day2-${new Date().toISOString().replace(/[:.]/g, "-")}.txt`,
        );
        fs.writeFileSync(file, line + "\n");
        console.log(`(saved to ${file})`);
    } finally {
        fs.rmSync(runDir, { recursive: true, force: true });
    }
}

if (require.main === module) {
    main().catch((e: unknown) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    });
}
