/**
 * `npm run local`: a stack's roles as local qemu VMs, without a cloud. The same renderer and
 * user data as the cloud (from Pulumi.<stack>.yaml), Debian's packages where the cloud would
 * download (unless --upstream), data disks kept under /var/cache/ouvroir/local/<stack>/ across
 * runs. Prints the URLs and runs until Ctrl-C.
 *
 *   npm run local [-- --stack dev] [--with app,sandbox | --all] [--fresh] [--upstream]
 *   npm run local -- --down [--stack dev]
 *
 * Bootstraps a fresh Debian 12 machine (host packages, base image) on first use.
 */
import * as fs from "fs";
import * as path from "path";
import { parseStackConfig, readStackFile, StackConfig } from "../../config";
import { RoleName, ROLE_NAMES, ROLES } from "../../components/roles";
import { renderUserData, UserDataInput } from "../../components/userData";
import {
    ensureBaseImage,
    ensureSshKey,
    fakeVolumeSerial,
    makeVm,
    onShutdown,
    PRIVATE_CIDR,
    PRIVATE_IPS,
    REPO_ROOT,
    Vm,
} from "./qemu";
import { HEALTH, MEMORY_MIB } from "./roleVm";

const LOCAL_ROOT = process.env.OUVROIR_LOCAL_DIR ?? "/var/cache/ouvroir/local";
const DEFAULT_ROLES: readonly RoleName[] = ["web", "xmldb", "iiif"];

interface Options {
    stack: string;
    roles: RoleName[];
    down: boolean;
    fresh: boolean;
    upstream: boolean;
    dryRun: boolean;
    httpPort: number;
    httpsPort: number;
}

function parseArgs(argv: string[]): Options {
    const o: Options = {
        stack: "dev",
        roles: [...DEFAULT_ROLES],
        down: false,
        fresh: false,
        upstream: false,
        dryRun: false,
        httpPort: 8080,
        httpsPort: 8443,
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const next = (): string => argv[++i] ?? "";
        if (a === "--stack") o.stack = next();
        else if (a === "--down") o.down = true;
        else if (a === "--fresh") o.fresh = true;
        else if (a === "--upstream") o.upstream = true;
        else if (a === "--dry-run") o.dryRun = true;
        else if (a === "--all") o.roles = [...ROLE_NAMES];
        else if (a === "--with" || a === "--roles") {
            const list = next().split(",").filter(Boolean);
            for (const r of list) {
                if (!(ROLE_NAMES as readonly string[]).includes(r))
                    throw new Error(`unknown role "${r}"`);
            }
            o.roles =
                a === "--with"
                    ? [...new Set([...o.roles, ...(list as RoleName[])])]
                    : (list as RoleName[]);
        } else if (a === "--http-port") o.httpPort = Number(next());
        else if (a === "--https-port") o.httpsPort = Number(next());
        else throw new Error(`unknown argument "${a}" (see the header of scripts/vm/local.ts)`);
    }
    o.roles = ROLE_NAMES.filter((r) => o.roles.includes(r));
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
        privateCidr: PRIVATE_CIDR,
        publicHostname: cfg.publicHostname,
        // No ACME here: the self-signed fallback.
        letsencryptEmail: undefined,
        sites: cfg.sites,
        upstreams: { ...PRIVATE_IPS },
        researchers: cfg.researchers.map((r) => ({
            ...r,
            sshPublicKeys: [...r.sshPublicKeys, localKey],
        })),
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

async function main(): Promise<void> {
    const o = parseArgs(process.argv.slice(2));
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
    // Every VM of this run runs at once; OUVROIR_VM_SLOTS (if set) still caps the machine.
    process.env.OUVROIR_VM_SLOTS ??= String(Math.max(2, o.roles.length));
    const base = ensureBaseImage();
    const keyDir = path.join(dir, "keys");
    const key = ensureSshKey(keyDir);
    fs.writeFileSync(pidFile, String(process.pid));
    process.on("exit", () => fs.rmSync(pidFile, { force: true }));

    const vms: { role: RoleName; vm: Vm }[] = o.roles.map((role) => {
        const roleDir = path.join(dir, role);
        fs.mkdirSync(roleDir, { recursive: true });
        const serial = stableSerial(roleDir);
        const sizeGb = cfg.roles[role]?.dataVolumeGb ?? ROLES[role].defaultDataVolumeGb;
        const hostname = `${o.stack}-${ROLES[role].short}-1`;
        const userData = renderUserData(localInput(cfg, o, role, serial, key.publicKey));
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
        return { role, vm };
    });

    // Until a signal (Ctrl-C, or SIGTERM from --down): a clean guest shutdown keeps the data
    // disks consistent; qemu.ts catches the signal and calls this.
    onShutdown((running) => Promise.all(running.map((vm) => vm.powerOff(60_000))));
    console.log(
        `local: booting ${o.roles.join(", ")} of stack ${o.stack} (first boot: many minutes)`,
    );
    const results = await Promise.allSettled(
        vms.map(async ({ role, vm }) => {
            await vm.start(base);
            const s = await vm.waitCloudInit(60 * 60_000);
            for (let i = 0; i < 60; i++) {
                if ((await vm.ssh(HEALTH[role], 60_000)).code === 0) break;
                await new Promise((r) => setTimeout(r, 5000));
            }
            return s;
        }),
    );
    results.forEach((r, i) => {
        const role = vms[i]!.role;
        if (r.status === "rejected") console.error(`local: ${role} failed:\n${String(r.reason)}`);
        else console.log(`local: ${role} ready after ${r.value.toFixed(0)} s`);
    });

    const host = cfg.publicHostname;
    const resolve = `--resolve ${host}:${o.httpsPort}:127.0.0.1`;
    const lines = [
        "",
        `Site:   https://${host}:${o.httpsPort}/   (self-signed; add "127.0.0.1 ${host}" to /etc/hosts,`,
        `        or: curl -k ${resolve} https://${host}:${o.httpsPort}/)`,
        `        also on the private bridge: https://${PRIVATE_IPS.web}/ (curl -k --resolve ${host}:443:${PRIVATE_IPS.web})`,
    ];
    if (o.roles.includes("xmldb")) {
        lines.push(
            `BaseX:  https://${host}:${o.httpsPort}/basex/rest?query=1%2B1   (user admin; password:`,
            `        ssh -i ${key.privateKey} ${cfg.adminUser}@${PRIVATE_IPS.xmldb} sudo cat /srv/data/basex/admin-password)`,
        );
    }
    if (o.roles.includes("iiif")) {
        lines.push(
            `IIIF:   https://${host}:${o.httpsPort}/iiif/3/<image>/info.json   (images in /srv/data/iiif/images on ${PRIVATE_IPS.iiif})`,
        );
    }
    lines.push(
        `SSH:    ssh -i ${key.privateKey} ${cfg.adminUser}@<ip>   (${o.roles.map((r) => `${r} ${PRIVATE_IPS[r]}`).join(", ")})`,
    );
    lines.push(
        "",
        "Running; Ctrl-C (or `npm run local -- --down`) stops the VMs. Data disks stay in " + dir,
    );
    console.log(lines.join("\n"));
    await new Promise(() => undefined);
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
