// Pure: how the hardening audit reads ss, Lynis's report and log. Does not prove any guest is hardened (tests/vm does).
import {
    declaredPorts,
    hardeningFailures,
    hardeningFigure,
    hardeningReport,
    HardeningAudit,
    indexWithAslr,
    lostPointsByTest,
    slowestTests,
    parseLynisReport,
    publicListeners,
    SSHD_REQUIRED,
} from "../vm/hardening";

describe("hardening audit parsers", () => {
    it("keeps only listeners on non-loopback addresses", () => {
        const ss = [
            'LISTEN 0 511 0.0.0.0:443 0.0.0.0:* users:(("nginx",pid=1,fd=6))',
            'LISTEN 0 128 127.0.0.1:9000 0.0.0.0:* users:(("php-fpm",pid=2,fd=6))',
            'LISTEN 0 128 [::1]:25 [::]:* users:(("exim",pid=3,fd=6))',
            'LISTEN 0 128 [::]:22 [::]:* users:(("sshd",pid=4,fd=4))',
            'LISTEN 0 128 10.209.0.12%priv0:8182 0.0.0.0:* users:(("iipsrv",pid=5,fd=4))',
            "",
        ].join("\n");
        expect(publicListeners(ss).map((l) => l.port)).toEqual([443, 22, 8182]);
    });

    it("expands declared port ranges", () => {
        const app = declaredPorts("app");
        expect(app.has(22) && app.has(8000) && app.has(8099) && !app.has(8100)).toBe(true);
        expect([...declaredPorts("iiif")].sort()).toEqual([22, 8182, 8183, 9100]);
    });

    it("reads the index, suggestions and warnings of Lynis's report", () => {
        const r = parseLynisReport(
            "hardening_index=71\n" +
                "suggestion[]=SSH-7408|Consider hardening SSH configuration|AllowTcpForwarding|-|\n" +
                "warning[]=PKGS-7392|Found one or more vulnerable packages.|-|-|\n",
        );
        expect(r).toEqual({
            index: 71,
            suggestions: ["SSH-7408: Consider hardening SSH configuration"],
            warnings: ["PKGS-7392: Found one or more vulnerable packages."],
        });
    });

    it("attributes points not awarded to the test that scored them", () => {
        const log = [
            "2026-11-22 06:27:10 Performing test ID KRNL-6000 (Check sysctl key pairs)",
            "2026-11-22 06:27:10 Hardening: assigned partial number of hardening points (0 of 1). Currently having 0 points (out of 1)",
            "2026-11-22 06:27:10 Hardening: assigned maximum number of hardening points for this item (1). Currently having 1 points (out of 2)",
            "2026-11-22 06:27:11 Hardening: assigned partial number of hardening points (0 of 1). Currently having 1 points (out of 3)",
            "2026-11-22 06:27:12 Performing test ID USB-3000 (Check for presence of USBGuard)",
            "2026-11-22 06:27:12 Hardening: assigned partial number of hardening points (0 of 8). Currently having 1 points (out of 11)",
        ].join("\n");
        expect(lostPointsByTest(log)).toEqual([
            { test: "USB-3000", lost: 8, of: 8 },
            { test: "KRNL-6000", lost: 2, of: 3 },
        ]);
    });

    it("gives the index with ASLR on when the harness turned it off, from Lynis's own totals", () => {
        const tail = (points: number): string =>
            `Hardening: assigned maximum number of hardening points for this item (3). ` +
            `Currently having ${points} points (out of 300)`;
        const off = [
            "Performing test ID KRNL-6000 (Check sysctl key pairs in scan profile)",
            "Result: sysctl key kernel.randomize_va_space has a different value than expected in scan profile. Expected=2, Real=0",
            "Hardening: assigned partial number of hardening points (0 of 1). Currently having 40 points (out of 60)",
            tail(242),
        ].join("\n");
        // 242/300 → 80; with the ASLR point 243/300 → 81.
        expect(indexWithAslr(off)).toEqual({ index: 81, aslrOff: true });
        const on = off.replace(
            /Result: .*Real=0/,
            "Result: sysctl key kernel.randomize_va_space contains equal expected and current value (2)",
        );
        expect(indexWithAslr(on)).toEqual({ index: 80, aslrOff: false });
        // Another key's mismatch is not the harness's doing.
        expect(indexWithAslr(off.replace("randomize_va_space", "kptr_restrict"))).toEqual({
            index: 80,
            aslrOff: false,
        });
        expect(indexWithAslr("no totals")).toBeNull();
    });

    it("times each test from its stamped start line", () => {
        const log = [
            "1000 Performing test ID DEB-0001 (Check for system binaries)",
            "Binary: /bin/ls",
            "1030 Performing test ID DEB-0280 (Checking if libpam-tmpdir is installed)",
            "1031 Performing test ID BOOT-5104 (Determine service manager)",
            "1071 Performing test ID BOOT-5108 (Check Syslinux as bootloader)",
        ].join("\n");
        expect(slowestTests(log, 2)).toEqual([
            { test: "BOOT-5104", seconds: 40 },
            { test: "DEB-0001", seconds: 30 },
        ]);
    });

    it("lists every shortfall of an audit", () => {
        const audit: HardeningAudit = {
            role: "web",
            lynis: 74,
            lynisAsDeployed: 74,
            lynisVersion: "3.0.8-1.1",
            auditSeconds: 60,
            suggestions: [],
            warnings: [],
            lostPoints: [],
            slowest: [],
            listeners: [],
            undeclared: ["LISTEN 0 5 0.0.0.0:8080 0.0.0.0:*"],
            sshd: { ...SSHD_REQUIRED, permitrootlogin: "prohibit-password" },
            unattendedUpgrades: true,
            fail2ban: false,
        };
        expect(hardeningFailures(audit)).toEqual([
            "lynis web=74 < 75",
            "undeclared listener: LISTEN 0 5 0.0.0.0:8080 0.0.0.0:*",
            "sshd permitrootlogin prohibit-password, want no",
            "fail2ban not active with its sshd jail",
        ]);
        // The gate reads the index measured in the harness (a lower bound), not the corrected one.
        expect(hardeningFailures({ ...audit, lynisAsDeployed: 75 })[0]).toBe("lynis web=74 < 75");
        expect(hardeningFigure({ ...audit, lynis: 80, lynisAsDeployed: 81 })).toBe(
            "lynis web=80 (81 with ASLR on as deployed; audit 60 s); ports  listening, 1 undeclared",
        );
        expect(
            hardeningFailures({
                ...audit,
                lynis: 75,
                undeclared: [],
                sshd: SSHD_REQUIRED,
                fail2ban: true,
            }),
        ).toEqual([]);
    });

    it("judges the other checks when Lynis was not run, and says it was not", () => {
        const audit: HardeningAudit = {
            role: "app",
            lynis: null,
            lynisAsDeployed: null,
            lynisVersion: "",
            auditSeconds: 0,
            suggestions: [],
            warnings: [],
            lostPoints: [],
            slowest: [],
            listeners: [{ port: 22, line: "LISTEN 0 128 0.0.0.0:22 0.0.0.0:*" }],
            undeclared: [],
            sshd: SSHD_REQUIRED,
            unattendedUpgrades: false,
            fail2ban: true,
        };
        expect(hardeningFailures(audit)).toEqual(["unattended upgrades not enabled"]);
        expect(hardeningReport(audit)).toBe(
            "lynis app: not run here; ports 22 listening, 0 undeclared",
        );
    });
});
