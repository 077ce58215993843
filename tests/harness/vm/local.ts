/**
 * `npm run local`: a stack's roles as local qemu VMs, without a cloud. The same renderer and
 * user data as the cloud (from Pulumi.<stack>.yaml), Debian's packages where the cloud would
 * download (unless --upstream), data disks kept under /var/cache/ouvroir/local/<stack>/ across
 * runs. Prints the URLs (site, BaseX, IIIF with a sample image) and runs until Ctrl-C.
 *
 *   npm run local [-- --stack dev] [--with app,sandbox | --all] [--fresh] [--upstream]
 *   npm run local -- --check     # boot, request every printed URL, "N passed, N failed", stop
 *   npm run local -- --down [--stack dev]
 *
 * Bootstraps a fresh Debian 12 machine (host packages, base image) on first use.
 *
 * VM slots: the harness runs at most OUVROIR_VM_SLOTS (default 2) guests on the machine, but
 * these VMs stay up together until stopped, so a third one waiting for a slot would wait
 * forever. `local` therefore raises the slot count for its own process to the number of its
 * VMs (3 by default), with a warning, and first-boots at most two at a time: a provisioned
 * guest idles, so on a 2-core machine the third starts once one of the first two is ready.
 * An OUVROIR_VM_SLOTS set below the number of VMs is refused rather than left to hang.
 */
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { parseStackConfig, readStackFile, StackConfig } from "../../../config";
import { RoleName, ROLE_NAMES, ROLES } from "../../../components/roles";
import { renderUserData, UserDataInput } from "../../../components/userData";
import { harnessUserData } from "./inputs";
import {
    ensureBaseImage,
    ensureSshKey,
    fakeVolumeSerial,
    harnessSshOptions,
    makeVm,
    onShutdown,
    PRIVATE_IPS,
    REPO_ROOT,
    Vm,
} from "./qemu";
import { MEMORY_MIB, waitHealthy } from "./roleVm";

const execFileP = promisify(execFile);
const LOCAL_ROOT = process.env.OUVROIR_LOCAL_DIR ?? "/var/cache/ouvroir/local";
const DEFAULT_ROLES: readonly RoleName[] = ["web", "xmldb", "iiif"];
/** First boots at once: the machine's two cores (a provisioned guest then idles). */
const PROVISION_AT_ONCE = 2;
/** Longest first boots first, so the short one fills the gap (figures in tests/vm/README.md). */
const BOOT_ORDER: readonly RoleName[] = ["web", "xmldb", "app", "sandbox", "iiif"];
const BOOT_TIMEOUT_MS = Number(process.env.OUVROIR_VM_BOOT_TIMEOUT_S ?? "3600") * 1000;
const SAMPLE_IMAGE = "sample.tif";

interface Options {
    stack: string;
    roles: RoleName[];
    down: boolean;
    check: boolean;
    fresh: boolean;
    upstream: boolean;
    dryRun: boolean;
    httpPort: number;
    httpsPort: number;
}

/** What `--help` prints, and the line a bad argument gets. */
export const LOCAL_USAGE = `usage: npm run local [-- options]
Boots a stack's roles as local qemu VMs (root on a Debian 12 host; Debian 13 guests, 12 with OUVROIR_VM_DEBIAN=12), prints their URLs, runs until Ctrl-C.
  --stack NAME         the stack file to read (default dev)
  --with ROLES         add roles to web,xmldb,iiif (comma-separated); --all for every role
  --roles ROLES        exactly these roles (web is always needed)
  --check              boot, request every printed URL, print "N passed, N failed", stop
  --down               stop a running one cleanly (~20 s)
  --fresh              new data disks (the kept ones are deleted)
  --upstream           upstream downloads instead of Debian's packages (needs the Internet)
  --dry-run            print what would boot, boot nothing
  --http-port N, --https-port N   host ports forwarded to the web VM (default 8080, 8443)
  --help               this text`;

/** Thrown for a bad command line: main prints it with the usage, exit 2. */
class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
    const o: Options = {
        stack: "dev",
        roles: [...DEFAULT_ROLES],
        down: false,
        check: false,
        fresh: false,
        upstream: false,
        dryRun: false,
        httpPort: 8080,
        httpsPort: 8443,
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const next = (): string => argv[++i] ?? "";
        if (a === "--help" || a === "-h") {
            console.log(LOCAL_USAGE);
            process.exit(0);
        } else if (a === "--stack") o.stack = next();
        else if (a === "--down") o.down = true;
        else if (a === "--check") o.check = true;
        else if (a === "--fresh") o.fresh = true;
        else if (a === "--upstream") o.upstream = true;
        else if (a === "--dry-run") o.dryRun = true;
        else if (a === "--all") o.roles = [...ROLE_NAMES];
        else if (a === "--with" || a === "--roles") {
            const list = next().split(",").filter(Boolean);
            for (const r of list) {
                if (!(ROLE_NAMES as readonly string[]).includes(r))
                    throw new UsageError(`unknown role "${r}"; roles are ${ROLE_NAMES.join(", ")}`);
            }
            o.roles =
                a === "--with"
                    ? [...new Set([...o.roles, ...(list as RoleName[])])]
                    : (list as RoleName[]);
        } else if (a === "--http-port") o.httpPort = Number(next());
        else if (a === "--https-port") o.httpsPort = Number(next());
        else throw new UsageError(`unknown argument "${a}"`);
    }
    o.roles = ROLE_NAMES.filter((r) => o.roles.includes(r));
    if (!o.roles.includes("web")) throw new UsageError("the web role is the way in; keep it");
    return o;
}

/** `--down`: the running `npm run local` of this stack stops its VMs cleanly on SIGTERM. */
async function down(dir: string): Promise<void> {
    const pidFile = path.join(dir, "local.pid");
    if (!fs.existsSync(pidFile)) {
        console.log("local: nothing running for this stack");
        return;
    }
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    try {
        process.kill(pid, "SIGTERM");
    } catch {
        fs.rmSync(pidFile, { force: true });
        console.log("local: nothing running (stale pid file removed)");
        return;
    }
    for (let i = 0; i < 240; i++) {
        try {
            process.kill(pid, 0);
        } catch {
            console.log("local: stopped");
            return;
        }
        await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`local: process ${pid} still running after 120 s`);
}

/** The stack's user-data input for one role, on the harness's bridge. */
function localInput(
    cfg: StackConfig,
    o: Options,
    role: RoleName,
    serial: string,
    localKey: string,
): UserDataInput {
    return {
        role,
        hostname: `${o.stack}-${ROLES[role].short}-1`,
        adminUser: cfg.adminUser,
        sshAuthorizedKeys: [...cfg.sshPublicKeys, localKey],
        dataVolumeSerial: serial,
        // The harness's bridge, not the stack's CIDR: that one may be routed on this host.
        publicHostname: cfg.publicHostname,
        // No ACME here: the self-signed fallback.
        letsencryptEmail: undefined,
        sites: cfg.sites,
        upstreams: { ...PRIVATE_IPS },
        researchers: cfg.researchers.map((r) => ({
            ...r,
            sshPublicKeys: [...r.sshPublicKeys, localKey],
        })),
        apps: cfg.apps,
        dropAppDatabases: cfg.dropAppDatabases,
        sqlEngine: cfg.sqlEngine,
        packageSource: o.upstream ? cfg.packageSource : "debian",
        downloads: cfg.downloads,
    };
}

/** A data disk's fake Cinder id, kept with the disk so the guest finds the same volume. */
function stableSerial(dir: string): string {
    const f = path.join(dir, "volume-serial");
    if (!fs.existsSync(f)) fs.writeFileSync(f, fakeVolumeSerial());
    return fs.readFileSync(f, "utf8").trim();
}

/**
 * Every VM of this run stays up at once, so it needs that many slots (see the header): raised
 * for this process only, refused when the user capped it lower.
 */
function claimSlots(count: number): void {
    const set = process.env.OUVROIR_VM_SLOTS;
    if (set !== undefined && Number(set) < count) {
        throw new Error(
            `local: OUVROIR_VM_SLOTS=${set} but the ${count} VMs run together; ` +
                `unset it, or boot fewer roles (--roles web,xmldb)`,
        );
    }
    if (set === undefined && count > 2) {
        console.warn(
            `local: warning: ${count} VMs at once, above the machine's default of 2 ` +
                `(OUVROIR_VM_SLOTS); at most ${PROVISION_AT_ONCE} first-boot together, the others ` +
                `wait for one to be ready, and idle guests cost little CPU`,
        );
        process.env.OUVROIR_VM_SLOTS = String(count);
    }
}

/** At most `n` tasks at once, in the order given. */
async function limited<T>(
    n: number,
    tasks: (() => Promise<T>)[],
): Promise<PromiseSettledResult<T>[]> {
    const results: PromiseSettledResult<T>[] = new Array(tasks.length);
    let next = 0;
    const worker = async (): Promise<void> => {
        for (let i = next++; i < tasks.length; i = next++) {
            try {
                results[i] = { status: "fulfilled", value: await tasks[i]!() };
            } catch (e) {
                results[i] = { status: "rejected", reason: e };
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
    return results;
}

/** Puts a small tiled TIFF in the IIIF server's images, so the printed URL answers at once. */
async function ensureSampleImage(vm: Vm, dir: string): Promise<void> {
    const target = `/srv/data/iiif/images/${SAMPLE_IMAGE}`;
    if ((await vm.ssh(`sudo test -s ${target}`, 60_000)).code === 0) return;
    const tif = path.join(dir, SAMPLE_IMAGE);
    if (!fs.existsSync(tif)) {
        await execFileP("bash", [path.join(REPO_ROOT, "tests/harness/vm/test-image.sh"), tif]);
    }
    await vm.copyIn(tif, `/tmp/${SAMPLE_IMAGE}`);
    const r = await vm.ssh(`sudo install -m 0644 /tmp/${SAMPLE_IMAGE} ${target}`, 60_000);
    if (r.code !== 0) throw new Error(`iiif: sample image: ${r.stderr}`);
}

interface Probe {
    readonly name: string;
    readonly url: string;
    readonly curlArgs: string[];
    /** Passes when the body (and status) look right. */
    readonly expect: (status: number, body: string) => boolean;
}

/** One request as a client on this host would send it (the printed URL, host name resolved). */
async function probe(p: Probe, resolve: string): Promise<{ ok: boolean; line: string }> {
    try {
        const { stdout } = await execFileP(
            "curl",
            [
                "-sk",
                "--max-time",
                "60",
                "--resolve",
                resolve,
                "-w",
                "\n%{http_code}",
                ...p.curlArgs,
                p.url,
            ],
            { maxBuffer: 16 * 1024 * 1024 },
        );
        const i = stdout.lastIndexOf("\n");
        const status = Number(stdout.slice(i + 1));
        const body = stdout.slice(0, i);
        const ok = p.expect(status, body);
        const snippet = body.replace(/\s+/g, " ").slice(0, 100);
        return { ok, line: `${ok ? "ok  " : "FAIL"} ${p.name}: ${status} ${snippet}` };
    } catch (e) {
        return { ok: false, line: `FAIL ${p.name}: ${(e as Error).message.split("\n")[0]}` };
    }
}

async function main(): Promise<void> {
    let o: Options;
    try {
        o = parseArgs(process.argv.slice(2));
    } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        console.error(`local: ${e.message}\n${LOCAL_USAGE}`);
        process.exit(2);
    }
    const dir = path.join(LOCAL_ROOT, o.stack);
    fs.mkdirSync(dir, { recursive: true });
    if (o.down) return down(dir);

    const pidFile = path.join(dir, "local.pid");
    if (fs.existsSync(pidFile)) {
        const pid = Number(fs.readFileSync(pidFile, "utf8"));
        let alive = false;
        try {
            process.kill(pid, 0);
            alive = true;
        } catch {
            // stale
        }
        if (alive)
            throw new Error(
                `local: already running (pid ${pid}); \`npm run local -- --down\` first`,
            );
    }

    const cfg = parseStackConfig(o.stack, readStackFile(REPO_ROOT, o.stack));
    if (o.dryRun) {
        for (const role of o.roles) {
            const text = renderUserData(
                localInput(cfg, o, role, "dryrun-serial-0000000", "ssh-ed25519 AAAA dry-run"),
            );
            console.log(`${role}: ${text.length} bytes of user data`);
        }
        return;
    }
    claimSlots(o.roles.length);
    const started = Date.now();
    const base = ensureBaseImage();
    const keyDir = path.join(dir, "keys");
    const key = ensureSshKey(keyDir);
    fs.writeFileSync(pidFile, String(process.pid));
    process.on("exit", () => fs.rmSync(pidFile, { force: true }));

    const vms = new Map<RoleName, Vm>();
    for (const role of o.roles) {
        const roleDir = path.join(dir, role);
        fs.mkdirSync(roleDir, { recursive: true });
        const serial = stableSerial(roleDir);
        const sizeGb = cfg.roles[role]?.dataVolumeGb ?? ROLES[role].defaultDataVolumeGb;
        const hostname = `${o.stack}-${ROLES[role].short}-1`;
        const userData = harnessUserData(localInput(cfg, o, role, serial, key.publicKey));
        const vm = makeVm(
            {
                name: role,
                hostname,
                userData,
                privateIp: PRIVATE_IPS[role],
                workDir: roleDir,
                adminUser: cfg.adminUser,
                dataDisk: { path: path.join(roleDir, "data.qcow2"), serial, sizeGb },
                hostForwards:
                    role === "web"
                        ? [
                              { host: o.httpPort, guest: 80 },
                              { host: o.httpsPort, guest: 443 },
                          ]
                        : [],
                memoryMiB: MEMORY_MIB[role],
                keepRoot: !o.fresh,
                durable: true,
            },
            keyDir,
        );
        vms.set(role, vm);
    }
    const stopAll = (): Promise<unknown> =>
        Promise.all([...vms.values()].map((vm) => vm.powerOff(60_000)));

    // Until a signal (Ctrl-C, or SIGTERM from --down): a clean guest shutdown keeps the data
    // disks consistent; qemu.ts catches the signal and calls this.
    onShutdown(() => stopAll());
    console.log(
        `local: booting ${o.roles.join(", ")} of stack ${o.stack} (first boot: many minutes)`,
    );
    const order = BOOT_ORDER.filter((r) => vms.has(r));
    const results = await limited(
        PROVISION_AT_ONCE,
        order.map((role) => async () => {
            const vm = vms.get(role)!;
            await vm.start(base, BOOT_TIMEOUT_MS);
            await vm.waitCloudInit(BOOT_TIMEOUT_MS);
            const s = await waitHealthy(vm, role, 10 * 60_000);
            if (role === "iiif") await ensureSampleImage(vm, dir);
            return s;
        }),
    );
    let failed = 0;
    results.forEach((r, i) => {
        const role = order[i]!;
        if (r.status === "rejected") {
            failed++;
            console.error(`local: ${role} failed:\n${String(r.reason)}`);
        } else console.log(`local: ${role} ready ${r.value.toFixed(0)} s after its start`);
    });

    const host = cfg.publicHostname;
    const site = `https://${host}:${o.httpsPort}`;
    const resolve = `${host}:${o.httpsPort}:127.0.0.1`;
    const passwordCmd = `ssh -i ${key.privateKey} ${cfg.adminUser}@${PRIVATE_IPS.xmldb} sudo cat /srv/data/basex/admin-password`;
    const xquery = encodeURIComponent("string-join((1 to 3) ! string(. * 7), ',')");
    const lines = [
        "",
        `Site:   ${site}/   (self-signed; add "127.0.0.1 ${host}" to /etc/hosts,`,
        `        or: curl -k --resolve ${resolve} ${site}/)`,
    ];
    const probes: Probe[] = [
        {
            name: "site",
            url: `${site}/`,
            curlArgs: [],
            expect: (status, body) => status === 200 && /<html|<!doctype/i.test(body),
        },
    ];
    if (o.roles.includes("xmldb")) {
        // BaseX is never public: its admin goes through the bastion, as on the cloud (the
        // sshConfig output's -tunnel host). The tunnel lives as long as this process.
        const tunnelPort = 8984;
        const tunnel = spawn(
            "ssh",
            [
                ...harnessSshOptions(key.privateKey),
                "-N",
                "-L",
                `127.0.0.1:${tunnelPort}:${PRIVATE_IPS.xmldb}:8080`,
                `${cfg.adminUser}@${PRIVATE_IPS.web}`,
            ],
            { stdio: "ignore" },
        );
        process.on("exit", () => tunnel.kill());
        await new Promise((res) => setTimeout(res, 3000));
        const admin = `http://127.0.0.1:${tunnelPort}`;
        lines.push(
            `BaseX:  ${admin}/rest?query=${xquery}   (admin, through an SSH tunnel via the web VM)`,
            `        (user admin; password: ${passwordCmd}); ${site}/basex/ is not public: 404`,
        );
        const pw = await vms.get("xmldb")!.ssh("sudo cat /srv/data/basex/admin-password", 60_000);
        probes.push(
            {
                name: "basex (admin, tunnel)",
                url: `${admin}/rest?query=${xquery}`,
                curlArgs: ["-u", `admin:${pw.stdout.trim()}`],
                expect: (status, body) => status === 200 && body.trim() === "7,14,21",
            },
            {
                name: "basex (not public)",
                url: `${site}/basex/rest?query=${xquery}`,
                curlArgs: ["-u", `admin:${pw.stdout.trim()}`],
                expect: (status) => status === 404,
            },
        );
    }
    if (o.roles.includes("iiif")) {
        lines.push(
            `IIIF:   ${site}/iiif/3/${SAMPLE_IMAGE}/info.json   (images in /srv/data/iiif/images on ${PRIVATE_IPS.iiif})`,
        );
        probes.push({
            name: "iiif",
            url: `${site}/iiif/3/${SAMPLE_IMAGE}/info.json`,
            curlArgs: [],
            expect: (status, body) => status === 200 && /"width"\s*:\s*640/.test(body),
        });
    }
    lines.push(
        `SSH:    ssh -i ${key.privateKey} ${cfg.adminUser}@<ip>   (${o.roles.map((r) => `${r} ${PRIVATE_IPS[r]}`).join(", ")})`,
    );
    console.log(lines.join("\n"));

    if (o.check) {
        let passed = 0;
        for (const p of probes) {
            const r = await probe(p, resolve);
            console.log(`local check: ${r.line}`);
            if (r.ok) passed++;
        }
        const bad = probes.length - passed + failed;
        console.log(`local check: stopping the VMs`);
        await stopAll();
        const mins = ((Date.now() - started) / 60_000).toFixed(1);
        console.log(`local check (${mins} min): ${passed} passed, ${bad} failed`);
        process.exit(bad === 0 ? 0 : 1);
    }
    console.log(
        "\nRunning; Ctrl-C (or `npm run local -- --down`) stops the VMs. Data disks stay in " + dir,
    );
    await new Promise(() => undefined);
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
