/**
 * `npm run bench:day2`: on one running web server VM, the time to add a site by the day-2 push
 * (the script the program pushes, `sudo bash -s` over SSH, Nginx reloaded) until the new vhost
 * answers, against rebuilding that VM (a new instance on the same data volume, the new site in
 * its user data) until the new vhost answers; prints both and the ratio.
 *
 * tests/vm/trials.test.ts measures the same two things on its own boots (its day-2 and rebuild
 * trials) and prints the same line, so CI gets the figure without two more boots.
 *
 * Also the helpers of the data trials and hardening tests (tests/vm/trials.test.ts,
 * hardening.test.ts): booting a role on its own private IP, pushing the day-2 script, HTTPS
 * requests to a guest. `main()` runs only when this file is the entry point.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { renderDay2Script } from "../../../components/day2";
import { RoleName } from "../../../components/roles";
import { Site, UserDataInput } from "../../../components/userData";
import { PUBLIC_HOSTNAME, TEST_SITES, harnessDay2Script, harnessSecrets } from "../vm/inputs";
import {
    BaseImage,
    DataDisk,
    ensureBaseImage,
    ensureSshKey,
    fakeVolumeSerial,
    Vm,
    VM_CACHE,
} from "../vm/qemu";
import { defaultKeyDir, roleVm, waitHealthy } from "../vm/roleVm";

const execFileP = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Private IPs of these trials, apart from the harness's per-role ones (tests/harness/vm/qemu.ts) and
 * from one run to another (by pid): another run's web server may be on the bridge at the same time.
 */
const lane = process.pid % 20;
export const TRIAL_IPS = {
    trials: `10.209.0.${100 + lane}`,
    hardening: `10.209.0.${130 + lane}`,
    bench: `10.209.0.${160 + lane}`,
    appDatabases: `10.209.0.${190 + lane}`,
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
    /** Default: TRIAL_SITES on the web server, the harness's sites elsewhere. */
    readonly sites?: readonly Site[];
    /** Keep the root disk and instance id: the same instance powered on again (a reboot). */
    readonly keepRoot?: boolean;
}

/** The Vm and the user-data input of a role on a trial IP (not started): roleVm's, renamed. */
export function trialVm(o: TrialVmOptions): { vm: Vm; input: UserDataInput } {
    const keyDir = defaultKeyDir();
    return roleVm(
        {
            role: o.role,
            name: o.name,
            privateIp: o.privateIp,
            workDir: o.workDir,
            keyDir,
            dataDisk: o.dataDisk,
            keepRoot: o.keepRoot,
            input: { sites: o.sites ?? (o.role === "web" ? TRIAL_SITES : TEST_SITES) },
        },
        ensureSshKey(keyDir).publicKey,
    );
}

/** Starts a VM and waits for cloud-init and the role's health check; seconds to healthy. */
export async function bootHealthy(vm: Vm, base: BaseImage, role: RoleName): Promise<number> {
    await vm.start(base);
    await vm.waitCloudInit(BOOT_TIMEOUT_MS);
    return waitHealthy(vm, role, 10 * 60_000);
}

/** Runs a command in the guest; throws with its output on a non-zero exit. */
export async function guest(vm: Vm, command: string, timeoutMs = 300_000): Promise<string> {
    const r = await vm.ssh(command, timeoutMs);
    if (r.code !== 0) {
        throw new Error(`${vm.spec.name}: \`${command}\` exited ${r.code}: ${r.stderr}${r.stdout}`);
    }
    return r.stdout;
}

/**
 * Pushes the role's day-2 script rendered for `input`, exactly as components/day2.ts does. The
 * bound covers a push that installs packages on a loaded host: PHP's took 190 s on an idle
 * machine and near 600 s beside the role checks under TCG, where the old 600 s bound killed it.
 */
export async function pushDay2(
    vm: Vm,
    input: UserDataInput,
    timeoutMs = 1_500_000,
    secrets: Record<string, string> = harnessSecrets(input),
): Promise<string> {
    const r = await vm.sshStdin(
        "sudo bash -s",
        harnessDay2Script(renderDay2Script(input, secrets)),
        timeoutMs,
    );
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

/** The page web-setup.sh writes for a new site (index.html with its first domain). */
export const defaultPage = (domain: string): string => `${domain} is served by Ouvroir.`;

/**
 * Starts a (rebuilt) VM and polls until `domain` serves its page; seconds from qemu's start
 * (a real replacement also waits for the old instance's delete: the ratio is a floor).
 */
export async function startUntilVhost(
    vm: Vm,
    base: BaseImage,
    ip: string,
    domain: string,
): Promise<number> {
    await vm.start(base);
    await waitForVhost(ip, domain, defaultPage(domain), BOOT_TIMEOUT_MS);
    return (Date.now() - vm.startedAt) / 1000;
}

/** The benchmark's figure line (also printed by the data trials). */
export const benchLine = (push: number, rebuild: number): string =>
    `day-2 benchmark (web, TCG): push+reload ${push.toFixed(1)} s, ` +
    `rebuild ${rebuild.toFixed(0)} s, rebuild/push ${(rebuild / push).toFixed(0)}×`;

/** Keeps the figure line in the harness cache, dated; returns the file. */
export function saveBenchLine(line: string): string {
    const file = path.join(
        VM_CACHE,
        `bench-day2-${new Date().toISOString().replace(/[:.]/g, "-")}.txt`,
    );
    fs.writeFileSync(file, line + "\n");
    return file;
}

async function bench(base: BaseImage, runDir: string): Promise<{ push: number; rebuild: number }> {
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
        const t0 = Date.now();
        await pushDay2(first.vm, { ...first.input, sites: CHANGED_SITES });
        await waitForVhost(ip, domain, defaultPage(domain), 5 * 60_000);
        push = (Date.now() - t0) / 1000;
        console.log(`(a) day-2 push + reload until ${domain} answers: ${push.toFixed(1)} s`);
    } finally {
        await first.vm.powerOff();
    }

    // (b) rebuild: a new instance on the same volume with the site in its user data.
    const second = trialVm({
        role: "web",
        name: "bench-web-rebuilt",
        privateIp: ip,
        workDir: path.join(runDir, "b"),
        dataDisk,
        sites: CHANGED_SITES,
    });
    try {
        const rebuild = await startUntilVhost(second.vm, base, ip, domain);
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
        const line = benchLine(r.push, r.rebuild);
        console.log(line);
        console.log(`(saved to ${saveBenchLine(line)})`);
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
