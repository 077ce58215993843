/**
 * `npm run bench:boot [-- web xmldb …]`: per role, seconds from qemu start to all services
 * healthy with the role's cloud-init, beside the floor: the same packages (the rendered
 * `packages:` list) installed by one plain `apt-get update && apt-get install` in a guest of
 * the same base image with a bare cloud-config. Each role boots at the same time as its floor
 * (the machine's two VMs), so both meet the same load; roles take turns. What the role does
 * beyond those packages (its scripts, in-guest downloads such as BaseX's .deb, service setup,
 * the data volume) is what the ratio measures. Results and each role's `cloud-init analyze
 * blame` go to /var/cache/ouvroir/vm/bench-<time>/.
 */
import * as fs from "fs";
import * as path from "path";
import { RoleName, ROLE_NAMES } from "../../../components/roles";
import { roleManifest } from "../../../components/userData";
import { harnessInput } from "../vm/inputs";
import { ensureBaseImage, ensureSshKey, BaseImage, makeVm, Vm, VM_CACHE } from "../vm/qemu";
import { defaultKeyDir, MEMORY_MIB, roleVm, waitHealthy } from "../vm/roleVm";

const TIMEOUT_MS = Number(process.env.OUVROIR_VM_BOOT_TIMEOUT_S ?? "2400") * 1000;
/** The floor guests' private IPs: beside the roles' .10–.14 on the harness bridge. */
const FLOOR_IPS: Record<RoleName, string> = {
    web: "10.209.0.20",
    xmldb: "10.209.0.21",
    iiif: "10.209.0.22",
    app: "10.209.0.23",
    sandbox: "10.209.0.24",
};

interface Row {
    role: RoleName;
    floor?: number;
    cloudInit?: number;
    healthy?: number;
    packages?: number;
    error?: string;
}

/** The floor guest: the admin user with the key, nothing else (no packages, no apt update). */
function floorUserData(publicKey: string): string {
    return [
        "#cloud-config",
        "manage_etc_hosts: true",
        "users:",
        "  - name: debian",
        "    sudo: ALL=(ALL) NOPASSWD:ALL",
        "    shell: /bin/bash",
        "    ssh_authorized_keys:",
        `      - ${publicKey}`,
        "",
    ].join("\n");
}

/**
 * What the role's first boot installs: the packages of its merged document, which the applier
 * installs (since session 9 the user data's own `packages:` is empty: cloud-init runs the
 * applier, and a floor read from it installed nothing).
 */
function rolePackages(role: RoleName, publicKey: string): string[] {
    return roleManifest(harnessInput(role, { sshPublicKey: publicKey })).packages;
}

async function save(vm: Vm, dir: string, name: string): Promise<void> {
    const r = await vm.ssh(
        "sudo cloud-init analyze blame 2>&1 | head -n 25; echo; " +
            "sudo systemd-analyze blame 2>&1 | head -n 15; echo; " +
            "sudo grep -E '^(Start-Date|Commandline|End-Date)' /var/log/apt/history.log",
        60_000,
    );
    fs.writeFileSync(path.join(dir, `${name}.analyze.txt`), r.stdout + r.stderr);
    fs.copyFileSync(vm.serialLog, path.join(dir, `${name}.serial.log`));
}

async function runRole(role: RoleName, vm: Vm, base: BaseImage, row: Row, out: string) {
    try {
        await vm.start(base);
        row.cloudInit = await vm.waitCloudInit(TIMEOUT_MS);
        row.healthy = await waitHealthy(vm, role, 10 * 60_000);
        await save(vm, out, role);
    } catch (e) {
        row.error = `role: ${(e as Error).message.split("\n")[0]}`;
    } finally {
        await vm.stop();
    }
}

async function runFloor(vm: Vm, packages: string[], base: BaseImage, row: Row, out: string) {
    try {
        await vm.start(base);
        await vm.waitCloudInit(TIMEOUT_MS);
        const r = await vm.ssh(
            "sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y " +
                `-qq --no-install-recommends ${packages.join(" ")} >/dev/null`,
            TIMEOUT_MS,
        );
        if (r.code !== 0) throw new Error(`apt-get install: ${r.stderr.slice(-500)}`);
        row.floor = (Date.now() - vm.startedAt) / 1000;
        await save(vm, out, `${row.role}-floor`);
    } catch (e) {
        row.error = `floor: ${(e as Error).message.split("\n")[0]}`;
    } finally {
        await vm.stop();
    }
}

async function bench(
    role: RoleName,
    base: BaseImage,
    publicKey: string,
    runDir: string,
    out: string,
): Promise<Row> {
    const keyDir = defaultKeyDir();
    const packages = rolePackages(role, publicKey);
    const row: Row = { role, packages: packages.length };
    const { vm } = roleVm({ role, workDir: path.join(runDir, role), keyDir }, publicKey);
    const floor = makeVm(
        {
            name: `${role}-floor`,
            hostname: `floor-${role}-1`,
            userData: floorUserData(publicKey),
            privateIp: FLOOR_IPS[role],
            workDir: path.join(runDir, `${role}-floor`),
            memoryMiB: MEMORY_MIB[role],
        },
        keyDir,
    );
    await Promise.all([
        runRole(role, vm, base, row, out),
        runFloor(floor, packages, base, row, out),
    ]);
    // Under other jobs' VMs the two may not get slots at once: say how far apart they started.
    const gap = Math.abs(vm.startedAt - floor.startedAt) / 1000;
    console.log(
        `bench: ${role}: healthy ${row.healthy?.toFixed(0) ?? "-"} s, floor ${row.floor?.toFixed(0) ?? "-"} s, ` +
            `started ${gap.toFixed(0)} s apart` +
            (row.error ? ` (${row.error})` : ""),
    );
    return row;
}

function table(rows: Row[]): string {
    const f = (n?: number): string => (n === undefined ? "-" : n.toFixed(0));
    const lines = [
        "| role | floor (apt-get) s | cloud-init done s | healthy s | ratio healthy/floor | packages |",
        "|---|---|---|---|---|---|",
    ];
    for (const r of rows) {
        const ratio = r.floor && r.healthy ? (r.healthy / r.floor).toFixed(2) + "×" : "-";
        lines.push(
            `| ${r.role} | ${f(r.floor)} | ${f(r.cloudInit)} | ${f(r.healthy)} | ${ratio} | ${r.packages ?? "-"} |` +
                (r.error ? ` ${r.error}` : ""),
        );
    }
    return lines.join("\n");
}

async function main(): Promise<void> {
    const asked = process.argv
        .slice(2)
        .filter((a) => (ROLE_NAMES as readonly string[]).includes(a));
    const roles = (asked.length ? asked : [...ROLE_NAMES]) as RoleName[];
    const base = ensureBaseImage();
    const { publicKey } = ensureSshKey(defaultKeyDir());
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const runDir = path.join(VM_CACHE, "runs", `bench-${process.pid}`);
    const out = path.join(VM_CACHE, `bench-${stamp}`);
    fs.mkdirSync(out, { recursive: true });
    const started = Date.now();
    const rows: Row[] = [];
    try {
        for (const role of roles) rows.push(await bench(role, base, publicKey, runDir, out));
    } finally {
        // A failed boot keeps its run directory (serial log, disks) for its diagnosis.
        if (rows.some((r) => r.error)) console.log(`(failed boot kept in ${runDir})`);
        else fs.rmSync(runDir, { recursive: true, force: true });
    }
    const text = table(rows);
    const mins = ((Date.now() - started) / 60_000).toFixed(0);
    console.log(`\nBoot benchmark (${mins} min, TCG, each role beside its floor):\n${text}`);
    fs.writeFileSync(path.join(out, "table.md"), text + "\n");
    console.log(`(saved to ${out})`);
    if (rows.some((r) => r.error)) process.exit(1);
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
