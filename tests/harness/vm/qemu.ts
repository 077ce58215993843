/**
 * Boots Debian guests (13 by default, 12 with OUVROIR_VM_DEBIAN=12: build-image.sh) under qemu for the VM tests, `npm run local` and the boot benchmark:
 * one copy-on-write overlay of the cached base image per VM, a NoCloud seed with the rendered
 * user data, a data disk whose serial mimics a Cinder volume id, a first NIC on qemu user
 * networking (Debian mirror, host port forwards on 127.0.0.1) and a second NIC on a host bridge
 * with a static private IP (the stack's private network: the web server proxies to the others).
 *
 * Every VM is torn down: qemu runs in its own process group under `setpriv --pdeathsig`, so it
 * dies with this process even on SIGKILL, and `stop()` kills the group. A machine-wide slot lock
 * (`flock`) keeps at most OUVROIR_VM_SLOTS (default 2) guests running at once.
 */
import { ChildProcess, execFile, execFileSync, spawn } from "child_process";
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";

const execFileP = promisify(execFile);

export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
export const VM_CACHE = process.env.OUVROIR_VM_CACHE ?? "/var/cache/ouvroir/vm";
const SLOT_DIR = "/run/ouvroir-vm";
/** Read at each start: `npm run local` may raise it for its own process. */
const slots = (): number => Number(process.env.OUVROIR_VM_SLOTS ?? "2");
/**
 * The first slot this process may take (default 0). A run beside another one's slots sets it to
 * their count (CI: the role checks take slots 0-2, the trials slot 3 only), so it never takes a slot
 * the other frees for a moment between two of its VMs.
 */
const slotFrom = (): number => Number(process.env.OUVROIR_VM_SLOT_FROM ?? "0");

/** The slots a VM may take, [from, to): its fixed slot, or the process's range. */
export function slotRange(fixed?: number): [number, number] {
    if (fixed !== undefined) return [fixed, fixed + 1];
    const [from, to] = [slotFrom(), slots()];
    if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to)) {
        throw new Error(
            `OUVROIR_VM_SLOT_FROM=${from}, OUVROIR_VM_SLOTS=${to}: need 0 ≤ SLOT_FROM < SLOTS`,
        );
    }
    return [from, to];
}

/**
 * A detached qemu leads a session of its own, and with the kernel's autogroups (Debian's
 * default) each session gets an equal share of the CPU whatever its processes' nice values:
 * `nice -n 19` on a test run would mean nothing for its guests. The session's autogroup gets
 * this process's nice value (root may set it; no-op without autogroups).
 */
function keepNice(pid: number | undefined): void {
    const nice = os.getPriority();
    if (pid === undefined || nice === 0) return;
    try {
        fs.writeFileSync(`/proc/${pid}/autogroup`, String(nice));
    } catch {
        // No autogroups (or not root): the process nice value alone applies.
    }
}

/**
 * ssh failed before the command could start (no connection, or no banner from a guest starved
 * of CPU by other guests): safe to try again. A failure after that is the command's own.
 */
export function sshNeverStarted(r: SshResult): boolean {
    return (
        r.code === 255 &&
        /Connection timed out during banner exchange|kex_exchange_identification|connect to host .* port \d+: (Connection (timed out|refused)|No route to host)/.test(
            r.stderr,
        )
    );
}

/**
 * Runs `attempt` (given the milliseconds left) until ssh gets as far as the command, or until
 * `timeoutMs` is spent; every ssh call of the harness goes through it.
 */
export async function retryUnstarted(
    timeoutMs: number,
    attempt: (leftMs: number) => Promise<SshResult>,
    pauseMs = 5000,
): Promise<SshResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const r = await attempt(Math.max(deadline - Date.now(), 1000));
        if (!sshNeverStarted(r) || Date.now() + pauseMs > deadline) return r;
        await sleep(pauseMs);
    }
}

/**
 * The harness's ssh options for its own key: test guests get new host keys on every boot, so no
 * known_hosts (the product pins its keys: components/hostKey.ts).
 */
export function harnessSshOptions(privateKey: string): string[] {
    return [
        "-i",
        privateKey,
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
    ];
}

/** The host bridge standing for the stack's private network. */
export const BRIDGE = "ouvbr0";
/** Not the stacks' default 10.20.0.0/24: a local OpenStack on this machine may route that one. */
export const PRIVATE_CIDR = "10.209.0.0/24";
export const HOST_PRIVATE_IP = "10.209.0.1";
/**
 * Fixed private IPs per role, so the web server's upstreams are known before any VM boots.
 * `OUVROIR_VM_IP_OFFSET=40` moves them all (.50–.54): a test run beside `npm run local`,
 * which holds the default ones on this shared machine.
 */
const ipOffset = Number(process.env.OUVROIR_VM_IP_OFFSET ?? "0");
const privateIp = (last: number): string => `10.209.0.${(last + ipOffset).toString()}`;
export const PRIVATE_IPS = {
    web: privateIp(10),
    xmldb: privateIp(11),
    iiif: privateIp(12),
    app: privateIp(13),
    sandbox: privateIp(14),
} as const;

export interface DataDisk {
    /** qcow2 file; created with `sizeGb` when missing, kept otherwise (a persistent volume). */
    readonly path: string;
    /** What the guest sees as /dev/disk/by-id/virtio-<serial>: 20 chars of a Cinder id. */
    readonly serial: string;
    readonly sizeGb: number;
}

export interface VmSpec {
    /** Short name: log prefix, qemu -name, file names in workDir. */
    readonly name: string;
    /** Rendered `#cloud-config` document. */
    readonly userData: string;
    readonly hostname: string;
    readonly privateIp: string;
    /** Where overlay, seed, serial log and keys go (created). */
    readonly workDir: string;
    readonly adminUser?: string;
    readonly dataDisk?: DataDisk;
    /** Host port on 127.0.0.1 -> guest port, over the user-network NIC. */
    readonly hostForwards?: readonly { host: number; guest: number }[];
    readonly memoryMiB?: number;
    readonly cpus?: number;
    /** Virtual size of the root overlay (the cloud's boot volume is 20 GB). */
    readonly rootSizeGb?: number;
    /** Keep an existing root overlay and instance id: a reboot of the same instance (local). */
    readonly keepRoot?: boolean;
    /**
     * Honour the guest's flushes (qemu `cache=writeback`) for disks that must survive a host
     * crash (`npm run local`). Default false: disposable disks ignore them (`cache=unsafe`),
     * which spares dpkg's fsyncs most of their cost under emulation.
     */
    readonly durable?: boolean;
    /** Extra lines on the console log of this process. */
    readonly log?: (line: string) => void;
    /**
     * Always this slot, outside the process's own range (OUVROIR_VM_SLOT_FROM..SLOTS): a VM
     * that runs in the background beside the process's foreground VMs (roles.test.ts's restores).
     */
    readonly slot?: number;
}

export interface BaseImage {
    readonly dir: string;
    readonly qcow2: string;
    readonly kernel: string;
    readonly initrd: string;
}

const live = new Set<Vm>();
let handlersInstalled = false;
let shutdownHook: ((vms: Vm[]) => Promise<unknown>) | undefined;

/** How a signal stops the VMs (default: `stop()` each); `npm run local` powers them off. */
export function onShutdown(hook: (vms: Vm[]) => Promise<unknown>): void {
    shutdownHook = hook;
}

function installExitHandlers(): void {
    if (handlersInstalled) return;
    handlersInstalled = true;
    const killAll = (): void => {
        for (const vm of live) vm.killNow();
    };
    process.on("exit", killAll);
    // Ctrl-C: qemu (own process group) does not get the terminal's SIGINT; stop each VM with
    // SIGTERM so qemu flushes its qcow2 files, then exit. A second signal kills at once.
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(sig, () => {
            process.once(sig, () => process.exit(130));
            process.stderr.write(`\n${sig}: stopping ${live.size} VM(s)\n`);
            const vms = [...live];
            const hook = shutdownHook ?? ((v: Vm[]) => Promise.all(v.map((vm) => vm.stop())));
            void hook(vms).finally(() => process.exit(130));
        });
    }
}

/** Builds (or reuses) the cached base image; installs host packages on a fresh machine. */
export function ensureBaseImage(): BaseImage {
    const script = path.join(REPO_ROOT, "tests", "harness", "vm", "build-image.sh");
    const dir = execFileSync("bash", [script], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
    })
        .trim()
        .split("\n")
        .pop()!;
    return {
        dir,
        qcow2: path.join(dir, "base.qcow2"),
        kernel: path.join(dir, "vmlinuz"),
        initrd: path.join(dir, "initrd.img"),
    };
}

/**
 * The paravirtual KVM of these machines (kvm_pvm) cannot boot a stock Debian kernel, and a host
 * without vmx/svm has no usable KVM at all: both get software emulation.
 */
export function accelArgs(): string[] {
    const forced = process.env.OUVROIR_VM_ACCEL;
    let kvm = false;
    if (forced === "kvm") kvm = true;
    else if (forced !== "tcg") {
        const flags = fs.readFileSync("/proc/cpuinfo", "utf8");
        kvm =
            fs.existsSync("/dev/kvm") &&
            !fs.existsSync("/sys/module/kvm_pvm") &&
            /\b(vmx|svm)\b/.test(flags);
    }
    if (kvm) return ["-accel", "kvm", "-cpu", "host"];
    return ["-accel", "tcg,thread=multi", "-cpu", process.env.OUVROIR_VM_CPU ?? "max"];
}

/**
 * The guest kernel's command line. Two harness settings, like TCG itself: the user data is
 * unchanged, and the cloud's guests keep Debian's defaults.
 * - ASLR: under TCG a fork+exec costs about 20 ms with address-space randomisation and 7 ms
 *   without (measured in a guest: /bin/true, grep, awk): QEMU translates code per virtual
 *   address, so a library mapped at a new address each exec is translated anew. Test guests
 *   boot with `norandmaps` unless `OUVROIR_VM_ASLR=on` (the cloud keeps
 *   `kernel.randomize_va_space = 2`).
 * - JIT: tiered JVMs crashed under multi-threaded TCG (SIGSEGV at offset 0 of a C1-compiled
 *   method; our reading: the JIT patches a method's entry when it recompiles it, and a vCPU ran
 *   stale code, while C1 alone recompiles nothing). It killed a Java client 3 times in 37 runs
 *   on one guest, and `ca-certificates-java` in the middle of a first boot's apt-get; C1 alone
 *   never crashed in 50. Every service PID 1 starts (cloud-init's apt, BaseX) therefore gets
 *   `JAVA_TOOL_OPTIONS=-XX:TieredStopAtLevel=1` (`systemd.setenv`) unless
 *   `OUVROIR_VM_JIT=tiered`. SSH sessions do not inherit it: the scripts' own short-lived JVMs
 *   run C1 already. The cloud's BaseX keeps the tiered JIT.
 */
export function kernelCmdline(
    aslr = process.env.OUVROIR_VM_ASLR ?? "off",
    jit = process.env.OUVROIR_VM_JIT ?? "c1",
): string {
    if (aslr !== "on" && aslr !== "off") {
        throw new Error(`OUVROIR_VM_ASLR=${aslr}: use on or off`);
    }
    if (jit !== "c1" && jit !== "tiered") {
        throw new Error(`OUVROIR_VM_JIT=${jit}: use c1 or tiered`);
    }
    return [
        "root=LABEL=rootfs ro console=ttyS0 panic=-1",
        ...(aslr === "off" ? ["norandmaps"] : []),
        ...(jit === "c1" ? ["systemd.setenv=JAVA_TOOL_OPTIONS=-XX:TieredStopAtLevel=1"] : []),
    ].join(" ");
}

function sh(cmd: string, args: string[]): void {
    execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
}

function linkExists(name: string): boolean {
    return fs.existsSync(`/sys/class/net/${name}`);
}

/** The private network: a bridge with the host at .1, created once, idempotently. */
export function ensureBridge(): void {
    if (!linkExists(BRIDGE)) {
        sh("ip", ["link", "add", BRIDGE, "type", "bridge"]);
    }
    const addrs = execFileSync("ip", ["-br", "addr", "show", "dev", BRIDGE], { encoding: "utf8" });
    if (!addrs.includes(`${HOST_PRIVATE_IP}/`)) {
        sh("ip", ["addr", "add", `${HOST_PRIVATE_IP}/24`, "dev", BRIDGE]);
    }
    sh("ip", ["link", "set", BRIDGE, "up"]);
}

function ensureTap(tap: string): void {
    if (!linkExists(tap)) sh("ip", ["tuntap", "add", "dev", tap, "mode", "tap"]);
    sh("ip", ["link", "set", tap, "master", BRIDGE, "up"]);
}

/** A fake Cinder volume id; the guest sees its first 20 characters as the disk serial. */
export function fakeVolumeSerial(): string {
    return randomUUID().slice(0, 20);
}

/** Generates the test's SSH key once per directory. */
export function ensureSshKey(dir: string): { privateKey: string; publicKey: string } {
    fs.mkdirSync(dir, { recursive: true });
    const privateKey = path.join(dir, "id_ed25519");
    if (!fs.existsSync(privateKey)) {
        sh("ssh-keygen", [
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "ouvroir-vm-test",
            "-f",
            privateKey,
        ]);
    }
    return { privateKey, publicKey: fs.readFileSync(`${privateKey}.pub`, "utf8").trim() };
}

/** The base image an overlay was made on (a rebuilt base means a new root disk). */
function backingFile(qcow2: string): string | undefined {
    const info = JSON.parse(
        execFileSync("qemu-img", ["info", "--output=json", "-U", qcow2], { encoding: "utf8" }),
    ) as { "backing-filename"?: string };
    return info["backing-filename"];
}

function mac(ip: string, nic: number): string {
    const last = Number(ip.split(".").pop());
    return `52:54:00:a${nic}:00:${last.toString(16).padStart(2, "0")}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface SshResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

export class Vm {
    readonly spec: VmSpec;
    readonly serialLog: string;
    readonly sshKey: string;
    readonly adminUser: string;
    /** Milliseconds since epoch when qemu was started. */
    startedAt = 0;
    /** Boots started again because the kernel hung before init (see `hungBeforeInit`). */
    kernelRetries = 0;
    private base?: BaseImage;
    private proc?: ChildProcess;
    private exited = false;
    private exitInfo = "";
    private tap = "";

    constructor(spec: VmSpec, sshKey: string) {
        this.spec = spec;
        this.sshKey = sshKey;
        this.adminUser = spec.adminUser ?? "debian";
        this.serialLog = path.join(spec.workDir, "serial.log");
    }

    private log(line: string): void {
        (this.spec.log ?? ((l: string) => process.stderr.write(l + "\n")))(
            `[${this.spec.name}] ${line}`,
        );
    }

    /** Seed, overlay and data disk, then qemu; waits for a free slot first. */
    async start(base: BaseImage, slotTimeoutMs = 60 * 60_000): Promise<void> {
        const s = this.spec;
        fs.mkdirSync(s.workDir, { recursive: true });
        ensureBridge();
        installExitHandlers();
        this.base = base;

        const root = path.join(s.workDir, "root.qcow2");
        const idFile = path.join(s.workDir, "instance-id");
        if (!s.keepRoot || !fs.existsSync(root) || backingFile(root) !== base.qcow2) {
            fs.rmSync(root, { force: true });
            sh("qemu-img", [
                "create",
                "-q",
                "-f",
                "qcow2",
                "-b",
                base.qcow2,
                "-F",
                "qcow2",
                root,
                `${s.rootSizeGb ?? 20}G`,
            ]);
            fs.writeFileSync(idFile, `i-${randomUUID().slice(0, 8)}`);
        }
        const instanceId = fs.readFileSync(idFile, "utf8").trim();
        const seed = this.writeSeed(instanceId);

        if (s.dataDisk && !fs.existsSync(s.dataDisk.path)) {
            fs.mkdirSync(path.dirname(s.dataDisk.path), { recursive: true });
            sh("qemu-img", [
                "create",
                "-q",
                "-f",
                "qcow2",
                s.dataDisk.path,
                `${s.dataDisk.sizeGb}G`,
            ]);
        }

        fs.mkdirSync(SLOT_DIR, { recursive: true });
        fs.writeFileSync(this.serialLog, "");
        const deadline = Date.now() + slotTimeoutMs;
        for (let waited = false; ; waited = true) {
            const [from, to] = slotRange(s.slot);
            for (let slot = from; slot < to; slot++) {
                if (await this.tryStart(slot, base, root, seed)) return;
            }
            if (Date.now() > deadline)
                throw new Error(`${s.name}: no free VM slot (${from}..${to - 1})`);
            if (!waited) this.log(`waiting for a free VM slot (${from}..${to - 1})`);
            await sleep(10_000);
        }
    }

    private writeSeed(instanceId: string): string {
        const s = this.spec;
        const dir = path.join(s.workDir, "seed");
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, "user-data"), s.userData);
        fs.writeFileSync(
            path.join(dir, "meta-data"),
            `instance-id: ${instanceId}\nlocal-hostname: ${s.hostname}\n`,
        );
        // Version 1 names the NICs by MAC: the first for the mirror, the second private.
        fs.writeFileSync(
            path.join(dir, "network-config"),
            [
                "version: 1",
                "config:",
                "  - type: physical",
                "    name: nat0",
                `    mac_address: "${mac(s.privateIp, 0)}"`,
                "    subnets: [{ type: dhcp }]",
                "  - type: physical",
                "    name: priv0",
                `    mac_address: "${mac(s.privateIp, 1)}"`,
                `    subnets: [{ type: static, address: "${s.privateIp}/24" }]`,
                "",
            ].join("\n"),
        );
        const img = path.join(s.workDir, "seed.img");
        fs.rmSync(img, { force: true });
        sh("mkfs.vfat", ["-n", "CIDATA", "-C", img, "4096"]);
        sh("mcopy", [
            "-i",
            img,
            path.join(dir, "user-data"),
            path.join(dir, "meta-data"),
            path.join(dir, "network-config"),
            "::",
        ]);
        return img;
    }

    /** Starts qemu holding slot `slot`; false when that slot is held by another VM. */
    private async tryStart(
        slot: number,
        base: BaseImage,
        root: string,
        seed: string,
    ): Promise<boolean> {
        const s = this.spec;
        this.tap = `ouvtap${slot}`;
        const fwd = (s.hostForwards ?? []).map(
            (f) => `,hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`,
        );
        const cache = s.durable ? "writeback" : "unsafe";
        const qemu = [
            "qemu-system-x86_64",
            "-name",
            `ouvroir-${s.name}`,
            ...accelArgs(),
            "-smp",
            String(s.cpus ?? 2),
            "-m",
            String(s.memoryMiB ?? 3072),
            "-nodefaults",
            "-display",
            "none",
            "-no-reboot",
            "-kernel",
            base.kernel,
            "-initrd",
            base.initrd,
            "-append",
            kernelCmdline(),
            "-drive",
            `file=${root},if=virtio,format=qcow2,discard=unmap,cache=${cache}`,
            "-drive",
            `file=${seed},if=virtio,format=raw,readonly=on`,
            ...(s.dataDisk
                ? [
                      "-drive",
                      `file=${s.dataDisk.path},if=none,id=data,format=qcow2,discard=unmap,cache=${cache}`,
                      "-device",
                      `virtio-blk-pci,drive=data,serial=${s.dataDisk.serial}`,
                  ]
                : []),
            "-netdev",
            `user,id=n0,ipv6=off${fwd.join("")}`,
            "-device",
            `virtio-net-pci,netdev=n0,mac=${mac(s.privateIp, 0)}`,
            "-netdev",
            `tap,id=n1,ifname=${this.tap},script=no,downscript=no`,
            "-device",
            `virtio-net-pci,netdev=n1,mac=${mac(s.privateIp, 1)}`,
            "-object",
            "rng-random,filename=/dev/urandom,id=rng0",
            "-device",
            "virtio-rng-pci,rng=rng0",
            "-serial",
            `file:${this.serialLog}`,
            "-monitor",
            `unix:${path.join(s.workDir, "monitor.sock")},server=on,wait=off`,
        ];
        // flock holds the slot for qemu's lifetime; exit 75 means the slot is taken. Both
        // setpriv --pdeathsig layers make qemu die with this process, whatever kills it.
        const lock = path.join(SLOT_DIR, `slot-${slot}.lock`);
        const argv = [
            "--pdeathsig",
            "KILL",
            "flock",
            "-n",
            "-E",
            "75",
            lock,
            "setpriv",
            "--pdeathsig",
            "KILL",
            ...qemu,
        ];
        // The tap must exist before qemu opens it; a tap left from a dead VM is reused.
        try {
            ensureTap(this.tap);
        } catch {
            // Held by a running qemu in another process: flock below tells us the slot is busy.
        }
        const stderrPath = path.join(s.workDir, "qemu.stderr");
        const errFd = fs.openSync(stderrPath, "w");
        this.exited = false;
        const proc = spawn("setpriv", argv, { detached: true, stdio: ["ignore", "ignore", errFd] });
        fs.closeSync(errFd);
        keepNice(proc.pid);
        this.startedAt = Date.now();
        this.proc = proc;
        live.add(this);
        const exit = new Promise<number>((resolve) =>
            proc.on("exit", (code, signal) => {
                this.exited = true;
                this.exitInfo = `code ${code} signal ${signal}`;
                live.delete(this);
                resolve(code ?? -1);
            }),
        );
        // flock answers at once; qemu, once running, stays.
        const early = await Promise.race([exit, sleep(1500).then(() => undefined)]);
        if (early === 75) return false;
        if (early !== undefined) {
            throw new Error(
                `${s.name}: qemu exited at start (${this.exitInfo}): ` +
                    fs.readFileSync(stderrPath, "utf8").slice(-2000),
            );
        }
        this.log(`qemu started (slot ${slot}, pid ${proc.pid}, private ${s.privateIp})`);
        return true;
    }

    get running(): boolean {
        return this.proc !== undefined && !this.exited;
    }

    /** SIGKILL the whole process group at once (exit handlers: no time for anything else). */
    killNow(): void {
        if (this.proc?.pid && !this.exited) {
            try {
                process.kill(-this.proc.pid, "SIGKILL");
            } catch {
                // already gone
            }
        }
    }

    /** Power off: SIGTERM (qemu flushes the qcow2 files), then SIGKILL after 10 s. */
    async stop(): Promise<void> {
        if (!this.proc?.pid || this.exited) return;
        const pid = this.proc.pid;
        try {
            process.kill(-pid, "SIGTERM");
        } catch {
            return;
        }
        for (let i = 0; i < 100 && !this.exited; i++) await sleep(100);
        if (!this.exited) this.killNow();
        for (let i = 0; i < 50 && !this.exited; i++) await sleep(100);
        live.delete(this);
        this.log("stopped");
    }

    /** ACPI power button (a clean guest shutdown), then `stop()` after `timeoutMs`. */
    async powerOff(timeoutMs = 90_000): Promise<void> {
        if (!this.running) return;
        await new Promise<void>((resolve) => {
            const sock = net.createConnection(path.join(this.spec.workDir, "monitor.sock"));
            sock.on("connect", () => sock.end("system_powerdown\n"));
            // Consume the monitor's greeting: an unread socket never emits "end" nor "close",
            // and this promise would leave Node with nothing to wait on (a silent exit 0).
            sock.resume();
            sock.on("close", () => resolve());
            sock.on("error", () => resolve());
        });
        const deadline = Date.now() + timeoutMs;
        while (this.running && Date.now() < deadline) await sleep(500);
        await this.stop();
    }

    serial(): string {
        try {
            return fs.readFileSync(this.serialLog, "utf8");
        } catch {
            return "";
        }
    }

    private sshArgs(timeoutS: number, user?: string): string[] {
        return [
            ...harnessSshOptions(this.sshKey),
            "-o",
            `ConnectTimeout=${Math.min(timeoutS, 15)}`,
            "-o",
            "ServerAliveInterval=15",
            `${user ?? this.adminUser}@${this.spec.privateIp}`,
        ];
    }

    /** Runs a shell command as `user` (default the admin user); never throws on exit status. */
    ssh(command: string, timeoutMs = 120_000, user?: string): Promise<SshResult> {
        return retryUnstarted(timeoutMs, async (left) => {
            try {
                const { stdout, stderr } = await execFileP(
                    "ssh",
                    [...this.sshArgs(Math.ceil(left / 1000), user), command],
                    { timeout: left, maxBuffer: 64 * 1024 * 1024, killSignal: "SIGKILL" },
                );
                return { code: 0, stdout, stderr };
            } catch (e) {
                const err = e as { code?: number | string; stdout?: string; stderr?: string };
                return {
                    code: typeof err.code === "number" ? err.code : 255,
                    stdout: err.stdout ?? "",
                    stderr: err.stderr ?? String(e),
                };
            }
        });
    }

    /**
     * Runs a command with `stdin` fed to it (how the program pushes day-2 scripts:
     * `sudo bash -s`); never throws on exit status.
     */
    sshStdin(
        command: string,
        stdin: string,
        timeoutMs = 600_000,
        user?: string,
    ): Promise<SshResult> {
        return retryUnstarted(timeoutMs, (left) => this.sshStdinOnce(command, stdin, left, user));
    }

    private sshStdinOnce(
        command: string,
        stdin: string,
        timeoutMs: number,
        user?: string,
    ): Promise<SshResult> {
        const args = [...this.sshArgs(Math.ceil(timeoutMs / 1000), user), command];
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

    /** A command to qemu's human monitor (e.g. `block_resize data 12G`); returns its answer. */
    monitor(command: string): Promise<string> {
        return new Promise((resolve, reject) => {
            const sock = net.createConnection(path.join(this.spec.workDir, "monitor.sock"));
            let out = "";
            sock.on("data", (d: Buffer) => (out += d.toString()));
            sock.on("connect", () => {
                sock.write(command + "\n");
                // The monitor answers, then waits for more: give it a moment and hang up.
                setTimeout(() => sock.end(), 1500);
            });
            sock.on("close", () => resolve(out));
            sock.on("error", reject);
        });
    }

    /** Copies a host file into the guest (scp over the same key). */
    async copyIn(local: string, remote: string, user?: string, timeoutMs = 300_000): Promise<void> {
        const args = this.sshArgs(15, user);
        const target = args.pop()!;
        await execFileP("scp", ["-q", ...args, local, `${target}:${remote}`], {
            timeout: timeoutMs,
        });
    }

    /**
     * Waits for cloud-init to finish: its final message on the serial console, then
     * `cloud-init status --wait --long` over SSH. Throws with the guest's logs on error/timeout.
     */
    async waitCloudInit(timeoutMs: number): Promise<number> {
        const firstStart = this.startedAt;
        const deadline = firstStart + timeoutMs;
        // cloud-init's default final message, or ours (cloud-init/base.yaml). Any other
        // message without them costs only a slower poll: `cloud-init status` every 30 s.
        const finished =
            /Cloud-init v\. \S+ finished at|cloud-init finished|ouvroir \S+ ready after/i;
        let lastPoll = Date.now();
        for (;;) {
            const serial = this.serial();
            if (finished.test(serial)) break;
            if (hungBeforeInit(serial) && this.kernelRetries < 2 && this.base) {
                this.kernelRetries++;
                fs.writeFileSync(
                    path.join(this.spec.workDir, `serial.hung-${this.kernelRetries}.log`),
                    serial,
                );
                this.log(
                    "kernel hung before init (a rare fault under TCG, before " +
                        "the guest reads its user data): booting again",
                );
                await this.stop();
                await this.start(this.base, Math.max(deadline - Date.now(), 60_000));
                lastPoll = Date.now();
                continue;
            }
            if (this.exited) {
                throw new Error(
                    `${this.spec.name}: qemu exited (${this.exitInfo})\n${this.tail()}`,
                );
            }
            if (Date.now() > deadline) {
                throw new Error(
                    `${this.spec.name}: cloud-init not finished after ${timeoutMs / 1000} s\n` +
                        (await this.diagnostics()),
                );
            }
            if (Date.now() - lastPoll > 30_000) {
                lastPoll = Date.now();
                const st = await this.ssh("cloud-init status", 20_000);
                if (/status: (done|error|degraded)/.test(st.stdout)) break;
            }
            await sleep(2000);
        }
        let r: SshResult = { code: 255, stdout: "", stderr: "" };
        while (Date.now() < deadline) {
            r = await this.ssh(
                "cloud-init status --wait --long",
                Math.max(deadline - Date.now(), 5000),
            );
            if (r.code !== 255) break;
            await sleep(3000);
        }
        if (r.code !== 0 || !/status: done/.test(r.stdout)) {
            throw new Error(
                `${this.spec.name}: cloud-init status (exit ${r.code}):\n${r.stdout}${r.stderr}\n` +
                    (await this.diagnostics()),
            );
        }
        // From the first start: a boot that hung counts its lost time.
        const seconds = (Date.now() - firstStart) / 1000;
        this.log(`cloud-init done after ${seconds.toFixed(0)} s`);
        return seconds;
    }

    private tail(n = 60): string {
        return this.serial().split("\n").slice(-n).join("\n");
    }

    /** The guest's cloud-init output and the failing modules, for a failed check. */
    async diagnostics(): Promise<string> {
        const r = await this.ssh(
            "sudo tail -n 150 /var/log/cloud-init-output.log; echo '--- failures:'; " +
                "sudo grep -E 'WARNING|ERROR|Traceback|failed' /var/log/cloud-init.log | tail -n 40; " +
                "cloud-init status --long",
            60_000,
        );
        if (r.code === 255) return `(no SSH: serial console tail)\n${this.tail(120)}`;
        return `--- ${this.spec.name}: guest cloud-init logs\n${r.stdout}${r.stderr}`;
    }
}

/**
 * True when the guest kernel stalled before running the initramfs's init: a soft lockup or an
 * RCU stall reported before "Run /init". Seen here under TCG with two vCPUs (a CPU spinning in
 * `key_set_index_key` during `integrity_init_keyring`, for minutes): no user data has run, so
 * booting again is safe. A lockup after init (heavy load under emulation) is not this.
 */
export function hungBeforeInit(serial: string): boolean {
    const init = serial.search(/Run \/init as init process/);
    const stall = serial.search(/BUG: soft lockup|rcu: INFO: \w+ self-detected stall/);
    return stall >= 0 && (init < 0 || stall < init);
}

/** Builds the VM object with an SSH key kept in `keyDir`. */
export function makeVm(spec: VmSpec, keyDir: string): Vm {
    return new Vm(spec, ensureSshKey(keyDir).privateKey);
}

/** Runs `fn` and always stops the given VMs afterwards, even when `fn` throws. */
export async function withVms<T>(vms: readonly Vm[], fn: () => Promise<T>): Promise<T> {
    try {
        return await fn();
    } finally {
        await Promise.all(vms.map((vm) => vm.stop()));
    }
}
