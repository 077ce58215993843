/**
 * `npm run bench:boot [-- web xmldb …]`: per role, seconds from qemu start to all services
 * healthy with the role's cloud-init, beside the floor: the same packages installed by plain
 * `apt-get install` in a guest of the same base image, in the same run, with no other config.
 * The package list is what the role's guest itself asked apt for (/var/log/apt/history.log),
 * so it includes packages that the role's scripts install. Two lanes run at once (the machine's
 * two-VM limit); each lane boots a role then its floor, so both meet the same neighbour load.
 */
import * as fs from "fs";
import * as path from "path";
import { RoleName, ROLE_NAMES } from "../components/roles";
import { UserDataInput } from "../components/userData";
import { ensureBaseImage, ensureSshKey, BaseImage, Vm, VM_CACHE } from "./vm/qemu";
import { defaultKeyDir, roleVm, waitHealthy } from "./vm/roleVm";

const TIMEOUT_MS = 40 * 60_000;

interface Row {
    role: RoleName;
    floor?: number;
    cloudInit?: number;
    healthy?: number;
    packages?: number;
    error?: string;
}

/** The floor guest: the admin user and the same apt options as base.yaml, nothing else. */
function floorUserData(input: UserDataInput): string {
    return [
        "#cloud-config",
        "manage_etc_hosts: true",
        "ssh_authorized_keys:",
        ...input.sshAuthorizedKeys.map((k) => `  - ${k}`),
        "",
    ].join("\n");
}

/** Packages the guest asked apt for by name, in the order asked (history.log "install" lines). */
async function requestedPackages(vm: Vm): Promise<string[]> {
    const r = await vm.ssh("sudo grep -h '^Commandline:' /var/log/apt/history.log", 60_000);
    const names = new Set<string>();
    for (const line of r.stdout.split("\n")) {
        const words = line.replace(/^Commandline:\s*/, "").split(/\s+/);
        const i = words.indexOf("install");
        if (i < 0) continue;
        for (const w of words.slice(i + 1)) if (w && !w.startsWith("-")) names.add(w);
    }
    return [...names];
}

async function bench(
    role: RoleName,
    base: BaseImage,
    publicKey: string,
    runDir: string,
): Promise<Row> {
    const row: Row = { role };
    const keyDir = defaultKeyDir();
    const { vm } = roleVm({ role, workDir: path.join(runDir, role), keyDir }, publicKey);
    let packages: string[] = [];
    try {
        await vm.start(base);
        row.cloudInit = await vm.waitCloudInit(TIMEOUT_MS);
        row.healthy = await waitHealthy(vm, role, 10 * 60_000);
        packages = await requestedPackages(vm);
        row.packages = packages.length;
    } catch (e) {
        row.error = `role: ${(e as Error).message.split("\n")[0]}`;
        return row;
    } finally {
        await vm.stop();
    }
    const floor = roleVm(
        { role, workDir: path.join(runDir, `${role}-floor`), keyDir, userData: floorUserData },
        publicKey,
    ).vm;
    try {
        await floor.start(base);
        await floor.waitCloudInit(TIMEOUT_MS);
        const r = await floor.ssh(
            "sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq " +
                `--no-install-recommends ${packages.join(" ")} >/dev/null`,
            TIMEOUT_MS,
        );
        if (r.code !== 0) throw new Error(`apt-get install: ${r.stderr.slice(-500)}`);
        row.floor = (Date.now() - floor.startedAt) / 1000;
    } catch (e) {
        row.error = `floor: ${(e as Error).message.split("\n")[0]}`;
    } finally {
        await floor.stop();
    }
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
    const runDir = path.join(VM_CACHE, "runs", `bench-${process.pid}`);
    const started = Date.now();
    // Two lanes, heaviest roles first so the lanes end together.
    const order = (["xmldb", "app", "sandbox", "iiif", "web"] as RoleName[]).filter((r) =>
        roles.includes(r),
    );
    const rows: Row[] = [];
    const lane = async (): Promise<void> => {
        for (let role = order.shift(); role; role = order.shift()) {
            rows.push(await bench(role, base, publicKey, runDir));
        }
    };
    try {
        await Promise.all([lane(), lane()]);
    } finally {
        fs.rmSync(runDir, { recursive: true, force: true });
    }
    rows.sort((a, b) => ROLE_NAMES.indexOf(a.role) - ROLE_NAMES.indexOf(b.role));
    const out = table(rows);
    console.log(
        `\nBoot benchmark (${((Date.now() - started) / 60_000).toFixed(0)} min, TCG, two guests at once):\n${out}`,
    );
    const file = path.join(VM_CACHE, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.md`);
    fs.writeFileSync(file, out + "\n");
    console.log(`(saved to ${file})`);
    if (rows.some((r) => r.error)) process.exit(1);
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
