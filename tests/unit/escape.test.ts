// Pure: the one rule per sink (components/escape.ts), fed hostile strings; the shell rule is
// checked by real bash. Does not prove that every value goes through it: the renderer's tests
// (userData.test.ts: no script holds a config value) and the config suite do.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    PUT_FUNCTION,
    envFile,
    nginxToken,
    putFile,
    shellWord,
    sshConfigToken,
    systemdValue,
} from "../../components/escape";
import { sshConfig } from "../../components/outputs";
import { HOSTILE as SHARED } from "../hostile";

const HOSTILE: readonly string[] = [
    ...SHARED,
    "it's",
    "'",
    "''",
    "$HOME",
    "*",
    "-rf",
    "\t",
    "é ü 漢",
    "",
];

function bash(script: string): string {
    return execFileSync("bash", ["-c", script], { encoding: "utf8" });
}

describe("shell: shellWord and envFile", () => {
    it.each(HOSTILE)("%j comes back from bash byte for byte", (value) => {
        expect(bash(`printf '%s' ${shellWord(value)}`)).toBe(value);
    });
    it("an environment file of every hostile value, sourced by bash, gives them back", () => {
        const values = Object.fromEntries(HOSTILE.map((v, i) => [`V${i}`, v]));
        const file = envFile(values);
        const out = bash(
            `set -eu; ${file}\n` + HOSTILE.map((_v, i) => `printf '%s\\0' "$V${i}"`).join("\n"),
        );
        expect(out.split("\0").slice(0, -1)).toEqual(HOSTILE);
    });
    it("refuses a variable name that is not one", () => {
        expect(() => envFile({ "A;B": "x" })).toThrow(/bad variable name/);
        expect(() => envFile({ "a b": "x" })).toThrow(/bad variable name/);
    });
});

describe("the one atomic write: put (every generated script)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-put-"));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const names = HOSTILE.filter((h) => h !== "" && !h.includes("/") && h !== "''");
    it("writes every hostile content byte for byte, to every hostile file name, with its mode", () => {
        const script = [
            "set -euo pipefail",
            PUT_FUNCTION,
            ...names.map((n, i) => putFile(`${dir}/${n}-${i}/f`, "0640", HOSTILE[i] ?? "")),
            putFile(`${dir}/secret`, "0600", "s3cr'et$(id)", true),
        ].join("\n");
        bash(script);
        names.forEach((n, i) => {
            const file = path.join(dir, `${n}-${i}`, "f");
            expect([n, fs.readFileSync(file, "utf8")]).toEqual([n, HOSTILE[i] ?? ""]);
            expect(fs.statSync(file).mode & 0o777).toBe(0o640);
        });
        expect(fs.readFileSync(path.join(dir, "secret"), "utf8")).toBe("s3cr'et$(id)");
        expect(fs.statSync(path.join(dir, "secret")).mode & 0o777).toBe(0o600);
        // Nothing ran, and no half-written file is left beside any target.
        expect(fs.existsSync("/tmp/ouvroir-pwned")).toBe(false);
        expect(bash(`find ${shellWord(dir)} -name '*.ouvroir-new' | wc -l`).trim()).toBe("0");
    });
    it("refuses a relative path or a mode that is not one", () => {
        expect(() => putFile("etc/x", "0644", "")).toThrow(/absolute path/);
        expect(() => putFile("/etc/x", "644; id", "")).toThrow(/a mode/);
    });
});

describe("nginx, systemd and ssh config: one token or an error", () => {
    const bad = HOSTILE.filter((h) => !/^[A-Za-z0-9._:/@%+=,~*-]+$/.test(h));
    it.each(bad)("%j is refused by every token sink", (value) => {
        expect(() => nginxToken("server name", value)).toThrow(/cannot be written to nginx/);
        expect(() => sshConfigToken("host name", value)).toThrow(/cannot be written to ssh config/);
    });
    it("passes ordinary names, addresses and paths", () => {
        for (const ok of ["ouvroir.umontreal.ca", "10.20.0.11:8080", "/edition/", "p4-7.5gb"])
            expect(nginxToken("x", ok)).toBe(ok);
        expect(systemdValue("calendar", "*-*-* 02:30:00")).toBe("*-*-* 02:30:00");
        expect(() => systemdValue("calendar", "daily\nExecStart=/bin/sh")).toThrow(/systemd/);
    });
});

describe("the operator's ssh config output", () => {
    const hosts = [
        { name: "dev-xmldb-1", ip: "10.20.0.11", role: "xmldb" },
        { name: "dev-app-1", ip: "10.20.0.13", role: "app" },
    ];
    it("reaches each VM through the bastion, and BaseX's admin through a tunnel host", () => {
        expect(sshConfig("debian", { name: "dev-web-1", publicIp: "206.12.0.5" }, hosts)).toBe(
            [
                "Host dev-web-1",
                "    HostName 206.12.0.5",
                "    User debian",
                "Host dev-xmldb-1",
                "    HostName 10.20.0.11",
                "    User debian",
                "    ProxyJump dev-web-1",
                "Host dev-xmldb-1-tunnel",
                "    HostName 10.20.0.11",
                "    User debian",
                "    ProxyJump dev-web-1",
                "    LocalForward 8984 127.0.0.1:8080",
                "Host dev-app-1",
                "    HostName 10.20.0.13",
                "    User debian",
                "    ProxyJump dev-web-1",
                "",
            ].join("\n"),
        );
    });
    it("a newline in the admin user cannot add a ProxyCommand: it throws", () => {
        expect(() =>
            sshConfig("debian\nProxyCommand nc evil 22", { name: "w", publicIp: "1.2.3.4" }, []),
        ).toThrow(/adminUser .* cannot be written to ssh config/);
    });
});
