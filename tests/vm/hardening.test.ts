// Does not prove the cloud's security groups (the first wall) nor an attacker's view from outside: it audits each guest from inside (Lynis, listening sockets, sshd's effective settings, update and ban services).
/**
 * Hardening of each role's guest with figures: Lynis's hardening index (goal ≥ 75, printed as
 * `lynis web=78`) with its top suggestions, only the role's declared ports (components/roles.ts)
 * listening on non-loopback addresses, SSH with keys only and no root, unattended upgrades on,
 * fail2ban active. One guest at a time. OUVROIR_HARDENING_ROLES=web,xmldb narrows the roles.
 */
import * as fs from "fs";
import * as path from "path";
import { RoleName, ROLE_NAMES, ROLES } from "../../components/roles";
import { TEST_SITES } from "../../scripts/vm/inputs";
import { BaseImage, ensureBaseImage, Vm, VM_CACHE } from "../../scripts/vm/qemu";
import { BOOT_TIMEOUT_MS, bootHealthy, guest, TRIAL_IPS, trialVm } from "../../scripts/bench-day2";

/** Lynis installs and runs in minutes under TCG; the boot is the long part. */
jest.setTimeout(BOOT_TIMEOUT_MS + 20 * 60_000);

const RUN_DIR = path.join(VM_CACHE, "runs", `hardening-${process.pid}`);
const LYNIS_GOAL = Number(process.env.OUVROIR_LYNIS_GOAL ?? "75");
const ROLES_UNDER_TEST = (
    process.env.OUVROIR_HARDENING_ROLES?.split(",") ?? [...ROLE_NAMES]
).filter((r): r is RoleName => (ROLE_NAMES as readonly string[]).includes(r));

const figures: string[] = [];
let base: BaseImage;

/** Declared TCP ports of a role, as numbers (ranges expanded); the harness runs MariaDB (3306). */
function declaredPorts(role: RoleName): Set<number> {
    const ports = new Set<number>();
    for (const rule of ROLES[role].ports) {
        for (let p = rule.port; p <= (rule.portMax ?? rule.port); p++) ports.add(p);
    }
    return ports;
}

/** `ss -ltnH` lines listening on a non-loopback address: port and the process holding it. */
function publicListeners(ss: string): { port: number; line: string }[] {
    const out: { port: number; line: string }[] = [];
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

beforeAll(() => {
    base = ensureBaseImage();
    fs.mkdirSync(RUN_DIR, { recursive: true });
});

afterAll(() => {
    console.log(
        [
            "Hardening (Lynis hardening index, goal ≥ " + LYNIS_GOAL + "):",
            ...figures.map((f) => `  ${f}`),
        ].join("\n"),
    );
    if (!process.env.OUVROIR_VM_KEEP) fs.rmSync(RUN_DIR, { recursive: true, force: true });
});

describe.each(ROLES_UNDER_TEST)("%s guest", (role) => {
    let vm: Vm | undefined;
    let bootError: Error | undefined;

    beforeAll(async () => {
        vm = trialVm({
            role,
            name: `harden-${role}`,
            privateIp: TRIAL_IPS.hardening,
            workDir: path.join(RUN_DIR, role),
            // The whole web server, PHP included: Lynis audits what production runs.
            sites: TEST_SITES,
        }).vm;
        try {
            await bootHealthy(vm, base, role);
        } catch (e) {
            bootError = e as Error;
        }
    });

    afterAll(async () => {
        await vm?.stop();
    });

    const booted = (): Vm => {
        if (bootError) throw bootError;
        return vm!;
    };

    it(`Lynis hardening index ≥ ${LYNIS_GOAL}`, async () => {
        const v = booted();
        await guest(
            v,
            "sudo DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends lynis >/dev/null",
            600_000,
        );
        // --quick: no pauses; the report file is the machine-readable result.
        await guest(
            v,
            "sudo lynis audit system --quick --no-colors >/tmp/lynis.out 2>&1 || true",
            1_200_000,
        );
        const report = await guest(v, "sudo cat /var/log/lynis-report.dat");
        const index = Number(/^hardening_index=(\d+)/m.exec(report)?.[1] ?? "NaN");
        const suggestions = [...report.matchAll(/^suggestion\[\]=([^|]+)\|([^|]+)\|/gm)].map(
            (m) => `${m[1]}: ${m[2]}`,
        );
        figures.push(`lynis ${role}=${index}`);
        console.log(
            `lynis ${role}=${index} (goal ${LYNIS_GOAL}); ${suggestions.length} suggestions:\n` +
                suggestions.map((s) => `  - ${s}`).join("\n"),
        );
        expect(index).toBeGreaterThanOrEqual(LYNIS_GOAL);
    });

    it("only the role's declared ports listen on non-loopback addresses", async () => {
        const v = booted();
        const listeners = publicListeners(await guest(v, "sudo ss -ltnpH"));
        const declared = declaredPorts(role);
        const extra = listeners.filter((l) => !declared.has(l.port)).map((l) => l.line);
        figures.push(
            `ports ${role}: ${[...new Set(listeners.map((l) => l.port))].sort((a, b) => a - b).join(",")} ` +
                `listening, ${extra.length} undeclared`,
        );
        expect(extra).toEqual([]);
    });

    it("sshd accepts keys only, no root", async () => {
        const v = booted();
        const conf = await guest(v, "sudo sshd -T");
        const get = (k: string): string | undefined =>
            new RegExp(`^${k} (.*)$`, "m").exec(conf)?.[1];
        expect({
            passwordauthentication: get("passwordauthentication"),
            kbdinteractiveauthentication: get("kbdinteractiveauthentication"),
            permitrootlogin: get("permitrootlogin"),
            pubkeyauthentication: get("pubkeyauthentication"),
            permitemptypasswords: get("permitemptypasswords"),
        }).toEqual({
            passwordauthentication: "no",
            kbdinteractiveauthentication: "no",
            permitrootlogin: "no",
            pubkeyauthentication: "yes",
            permitemptypasswords: "no",
        });
    });

    it("unattended upgrades are enabled", async () => {
        const v = booted();
        const out = await guest(
            v,
            "systemctl is-enabled unattended-upgrades apt-daily-upgrade.timer; " +
                "systemctl is-active apt-daily-upgrade.timer; " +
                "apt-config dump | grep -E '^APT::Periodic::(Unattended-Upgrade|Update-Package-Lists) '",
        );
        expect(out).toMatch(/^enabled\nenabled\nactive\n/);
        expect(out).toMatch(/APT::Periodic::Unattended-Upgrade "1";/);
        expect(out).toMatch(/APT::Periodic::Update-Package-Lists "1";/);
    });

    it("fail2ban is active and jails sshd", async () => {
        const v = booted();
        expect((await guest(v, "systemctl is-active fail2ban")).trim()).toBe("active");
        expect(await guest(v, "sudo fail2ban-client status sshd")).toMatch(/Currently banned/);
    });
});
