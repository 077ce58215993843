// Pure: which ssh failures the VM harness retries, and its labelled SSH stand-in. Does not prove a
// starved guest answers later (tests/vm does).
import { gunzipSync } from "zlib";
import * as YAML from "yaml";
import { renderDay2Script } from "../../components/day2";
import { renderUserData } from "../../components/userData";
import { harnessDay2Script, harnessInput, harnessUserData } from "../harness/vm/inputs";
import {
    HOST_PRIVATE_IP,
    hungBeforeInit,
    kernelCmdline,
    retryUnstarted,
    slotRange,
    sshNeverStarted,
} from "../harness/vm/qemu";

describe("VM harness: ssh retries", () => {
    const fail = (stderr: string, code = 255) => ({ code, stdout: "", stderr });

    it("retries what failed before the command started", () => {
        for (const stderr of [
            "Connection timed out during banner exchange\n",
            "kex_exchange_identification: read: Connection reset by peer\n",
            "ssh: connect to host 10.209.0.53 port 22: Connection timed out\n",
            "ssh: connect to host 10.209.0.53 port 22: Connection refused\n",
            "ssh: connect to host 10.209.0.53 port 22: No route to host\n",
        ]) {
            expect([stderr, sshNeverStarted(fail(stderr))]).toEqual([stderr, true]);
        }
    });

    it("never retries a command that ran: its own exit status, or a connection lost midway", () => {
        expect(sshNeverStarted(fail("mariadb: access denied", 1))).toBe(false);
        expect(sshNeverStarted(fail("Connection to 10.209.0.53 closed by remote host.\n"))).toBe(
            false,
        );
        expect(sshNeverStarted(fail("client_loop: send disconnect: Broken pipe\n"))).toBe(false);
        expect(sshNeverStarted({ code: 0, stdout: "ok", stderr: "" })).toBe(false);
    });

    it("tries again after an unstarted failure, returns the first started answer", async () => {
        const answers = [
            fail("Connection timed out during banner exchange\n"),
            fail("ssh: connect to host 10.209.0.53 port 22: Connection refused\n"),
            { code: 3, stdout: "", stderr: "command failed" },
            { code: 0, stdout: "never reached", stderr: "" },
        ];
        let calls = 0;
        const r = await retryUnstarted(10_000, async () => answers[calls++]!, 1);
        expect([calls, r.code]).toEqual([3, 3]);
    });

    it("gives up with the last unstarted failure when the time is spent", async () => {
        let calls = 0;
        const r = await retryUnstarted(
            50,
            async () => {
                calls++;
                await new Promise((ok) => setTimeout(ok, 20));
                return fail("Connection timed out during banner exchange\n");
            },
            10,
        );
        expect(sshNeverStarted(r)).toBe(true);
        expect(calls).toBeGreaterThanOrEqual(1);
        expect(calls).toBeLessThanOrEqual(3);
    });
});

describe("VM harness: slots", () => {
    const env = process.env;
    afterEach(() => {
        process.env = env;
    });

    it("a VM takes its fixed slot, else one of the process's range", () => {
        process.env = { ...env, OUVROIR_VM_SLOT_FROM: "2", OUVROIR_VM_SLOTS: "3" };
        expect(slotRange()).toEqual([2, 3]);
        expect(slotRange(3)).toEqual([3, 4]);
        process.env = { ...env, OUVROIR_VM_SLOT_FROM: undefined, OUVROIR_VM_SLOTS: undefined };
        expect(slotRange()).toEqual([0, 2]);
    });

    it("refuses an empty or malformed range, naming both variables", () => {
        process.env = { ...env, OUVROIR_VM_SLOT_FROM: "3", OUVROIR_VM_SLOTS: "3" };
        expect(() => slotRange()).toThrow(/OUVROIR_VM_SLOT_FROM=3, OUVROIR_VM_SLOTS=3/);
        process.env = { ...env, OUVROIR_VM_SLOTS: "two" };
        expect(() => slotRange()).toThrow(/need 0 ≤ SLOT_FROM < SLOTS/);
    });
});

describe("VM harness: the guest kernel's command line", () => {
    const BASE = "root=LABEL=rootfs ro console=ttyS0 panic=-1";
    const C1 = "systemd.setenv=JAVA_TOOL_OPTIONS=-XX:TieredStopAtLevel=1";
    it("boots test guests without ASLR (3× cheaper exec under TCG) unless told otherwise", () => {
        expect(kernelCmdline("off", "tiered")).toBe(`${BASE} norandmaps`);
        expect(kernelCmdline("on", "tiered")).toBe(BASE);
        expect(() => kernelCmdline("no")).toThrow("OUVROIR_VM_ASLR=no: use on or off");
    });
    it("gives the services' JVMs C1 only (tiered JVMs crashed under TCG) unless told otherwise", () => {
        expect(kernelCmdline("off", "c1")).toBe(`${BASE} norandmaps ${C1}`);
        expect(kernelCmdline("on", "c1")).toBe(`${BASE} ${C1}`);
        expect(() => kernelCmdline("off", "c2")).toThrow("OUVROIR_VM_JIT=c2: use c1 or tiered");
    });
    it("defaults: no ASLR, C1 only", () => {
        const env = process.env;
        process.env = { ...env };
        delete process.env.OUVROIR_VM_ASLR;
        delete process.env.OUVROIR_VM_JIT;
        try {
            expect(kernelCmdline()).toBe(`${BASE} norandmaps ${C1}`);
        } finally {
            process.env = env;
        }
    });
});

describe("VM harness: a kernel that hangs before init", () => {
    const early = [
        "[    1.496413] integrity: Platform Keyring initialized",
        "[   22.468098] rcu: INFO: rcu_preempt self-detected stall on CPU",
        "[   48.731886] watchdog: BUG: soft lockup - CPU#1 stuck for 45s! [swapper/0:1]",
    ].join("\n");
    const init = "[    5.300431] Run /init as init process";

    it("is told from a guest that reached init and stalled later under load", () => {
        expect(hungBeforeInit(early)).toBe(true);
        expect(
            hungBeforeInit(early.split("\n").slice(0, 1).concat(early.split("\n")[2]!).join("\n")),
        ).toBe(true);
        expect(hungBeforeInit(`${init}\n${early}`)).toBe(false);
        expect(hungBeforeInit(init)).toBe(false);
        expect(hungBeforeInit("[    0.000000] Linux version 6.1.0")).toBe(false);
    });
});

describe("the harness's SSH stand-in (test only)", () => {
    const input = harnessInput("xmldb", {
        sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHarness k",
    });
    const rule = `ip saddr ${HOST_PRIVATE_IP} tcp dport 22 accept comment "harness host (test only)"`;
    it("adds the host's SSH rule to the firewall of the user data and of day-2, and nothing else", () => {
        const b64 = (x: string) => Buffer.from(x, "base64").toString();
        // The applier cloud-init runs, and the one a day-2 script writes.
        const bootApplier = (userData: string) =>
            gunzipSync(
                Buffer.from(
                    (YAML.parse(userData) as { write_files: { content: string }[] }).write_files[0]
                        ?.content ?? "",
                    "base64",
                ),
            ).toString();
        const day2Applier = (s: string) =>
            b64(/^put '\/usr\/local\/sbin\/ouvroir-apply' '0700' '([^']+)'$/m.exec(s)?.[1] ?? "");
        const nftOf = (applier: string) =>
            b64(/^put '\/etc\/nftables\.conf' '0644' '([^']+)'$/m.exec(applier)?.[1] ?? "");
        const withoutNft = (applier: string) =>
            applier.replace(/^put '\/etc\/nftables\.conf' .*$/m, "");
        const productBoot = bootApplier(renderUserData(input));
        const harnessBoot = bootApplier(harnessUserData(input));
        expect(nftOf(productBoot)).not.toContain(rule);
        const nft = nftOf(harnessBoot);
        expect(nft.split("\n").filter((l) => l.includes("harness"))).toEqual([`        ${rule}`]);
        expect(withoutNft(harnessBoot)).toBe(withoutNft(productBoot));
        const product = renderDay2Script(input, { basexAdminPassword: "x" });
        const harness = harnessDay2Script(product);
        expect(nftOf(day2Applier(product))).not.toContain(rule);
        expect(nftOf(day2Applier(harness))).toBe(nft);
        expect(withoutNft(day2Applier(harness))).toBe(withoutNft(day2Applier(product)));
        const strip = (s: string) => s.replace(/^put '\/usr\/local\/sbin\/ouvroir-apply' .*$/m, "");
        expect(strip(harness)).toBe(strip(product));
    });
});
