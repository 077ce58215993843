// Hostile values in every config key family (names, domains, e-mails, URLs, versions, CIDRs, DNS,
// keys, calendars, retention, paths, sizes, secrets): each is refused at parse time with the key
// named, and the program registers no resource for any of them (under mocks). Does not prove
// what the sinks do with a value that got past it: tests/unit/escape.test.ts does.
import * as path from "path";
import { Registration, runProgram } from "../harness/mocks";
import { HOSTILE } from "../hostile";
import {
    RawConfig,
    SAFE,
    deployedSettingsOf,
    parseStackConfig,
    plainSecretProblems,
    readStackFile,
    replacementProblems,
} from "../../config";
import { problemsOf as problemsIn } from "../harness/configProblems";

const root = path.resolve(__dirname, "../..");
const prod = (): RawConfig => ({
    ...readStackFile(root, "prod"),
    backupAccessKeyId: "(secret)",
    backupSecretAccessKey: "(secret)",
    alertSmtpPassword: "(secret)",
});

const problemsOf = (raw: RawConfig): string[] => problemsIn("prod", raw);

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
            existingNetwork: "",
            dataVolumeTypes: {
                web: "volumes-ssd",
                xmldb: "volumes-ssd",
                iiif: "volumes-ec",
                app: "volumes-ssd",
                sandbox: "volumes-ec",
            },
            pinnedHostKeys: [],
            adminUser: "debian",
            sqlEngine: "mariadb",
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
    it("a new admin user needs every role rebuilt; a new SQL engine needs the app server rebuilt", () => {
        const user = parseStackConfig("prod", { ...prod(), adminUser: "ops" });
        expect(replacementProblems(user, deployed)).toEqual([
            expect.stringMatching(
                /^ouvroir:adminUser is "ops" but the VMs were made with "debian", the user day-2 logs in as/,
            ),
        ]);
        const all = ["web", "xmldb", "iiif", "app", "sandbox"];
        expect(
            replacementProblems(
                parseStackConfig("prod", { ...prod(), adminUser: "ops", rebuild: all }),
                deployed,
            ),
        ).toEqual([]);
        const pg = parseStackConfig("prod", { ...prod(), sqlEngine: "postgresql" });
        expect(replacementProblems(pg, deployed)).toEqual([
            expect.stringMatching(
                /^ouvroir:sqlEngine is "postgresql" but the app server's databases are in mariadb: the new engine would start empty/,
            ),
        ]);
        expect(
            replacementProblems(
                parseStackConfig("prod", { ...prod(), sqlEngine: "postgresql", rebuild: ["app"] }),
                deployed,
            ),
        ).toEqual([]);
        // No app server deployed before: any engine.
        expect(replacementProblems(pg, { ...deployed, sqlEngine: undefined })).toEqual([]);
    });
    it("a new private CIDR, external network or adopted network is refused unless every role is listed", () => {
        const moved = parseStackConfig("prod", {
            ...prod(),
            privateCidr: "10.40.0.0/24",
            externalNetwork: "Other",
            existingNetwork: {
                networkId: "11111111-2222-3333-4444-555555555555",
                subnetId: "66666666-7777-8888-9999-000000000000",
            },
        });
        expect(replacementProblems(moved, deployed).map((p) => p.split(" is ")[0])).toEqual([
            "ouvroir:privateCidr",
            "ouvroir:externalNetwork",
            "ouvroir:existingNetwork",
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

/**
 * One or more hostile values per config key family, as stack-file overrides. Each is refused
 * with its key named (parse), and the program registers nothing for any of them (mocks).
 */
const rawProd = prod();
const sites0 = (rawProd.sites as Record<string, unknown>[])[0] as Record<string, unknown>;
const roles0 = rawProd.roles as Record<string, Record<string, unknown>>;
const backup0 = rawProd.backup as Record<string, unknown>;
const key0 = (rawProd.sshPublicKeys as string[])[0] as string;
const xmldb = (extra: Record<string, unknown>): RawConfig => ({
    roles: { ...roles0, xmldb: { ...roles0.xmldb, ...extra } },
});
const restxq = (paths: unknown): RawConfig => ({
    sites: [{ name: "ed", domains: ["ed.example.org"], kind: "restxq", paths }],
});
const FAMILY_CASES: readonly (readonly [string, RawConfig, RegExp])[] = [
    ["names: site name", { sites: [{ ...sites0, name: "x; }" }] }, /^ouvroir:sites\[0\]\.name /],
    [
        "names: researcher",
        { researchers: [{ name: "bob$(id)", sshPublicKeys: [key0] }] },
        /^ouvroir:researchers\[0\]\.name /,
    ],
    ["names: rebuild", { rebuild: ["xmldb; rm"] }, /^ouvroir:rebuild entry /],
    ["names: external network", { externalNetwork: 'Public"; rm' }, /^ouvroir:externalNetwork /],
    ["names: flavor", xmldb({ flavor: "p4-7.5gb; rm" }), /^ouvroir:roles\.xmldb\.flavor /],
    [
        "names: volume type",
        xmldb({ dataVolumeType: 'ssd"; rm' }),
        /^ouvroir:roles\.xmldb\.dataVolumeType /,
    ],
    [
        "names: adopted volume id",
        xmldb({ existingDataVolumeId: "../x" }),
        /^ouvroir:roles\.xmldb\.existingDataVolumeId /,
    ],
    ["names: SQL engine", { sqlEngine: "mysql; rm" }, /^ouvroir:sqlEngine /],
    ["domains: public host name", { publicHostname: "a.org; }" }, /^ouvroir:publicHostname /],
    [
        "domains: public host name with a newline",
        { publicHostname: "a.org\nserver_name evil" },
        /^ouvroir:publicHostname /,
    ],
    [
        "domains: site domain with }",
        { sites: [{ ...sites0, domains: ["a.org}"] }] },
        /^ouvroir:sites\[0\]\.domains entry /,
    ],
    [
        "domains: site domain with $(…)",
        { sites: [{ ...sites0, domains: ["$(id).org"] }] },
        /^ouvroir:sites\[0\]\.domains entry /,
    ],
    ["CIDRs: private", { privateCidr: "10.0.0.0/24; rm" }, /^ouvroir:privateCidr /],
    ["CIDRs: private prefix", { privateCidr: "10.0.0.0/33" }, /^ouvroir:privateCidr /],
    [
        "CIDRs: admin with a newline",
        { adminCidrs: ["1.2.3.4/32\nProxyCommand x"] },
        /^ouvroir:adminCidrs entry /,
    ],
    ["DNS: ;", { dnsServers: ["8.8.8.8; rm"] }, /^ouvroir:dnsServers entry /],
    ["DNS: $(…)", { dnsServers: ["$(id)"] }, /^ouvroir:dnsServers entry /],
    [
        "keys: operator key with a newline",
        { sshPublicKeys: ["ssh-ed25519 AAAA\nProxyCommand x"] },
        /^ouvroir:sshPublicKeys entry /,
    ],
    [
        "calendars: ;",
        { backup: { ...backup0, onCalendar: "daily; rm -rf /" } },
        /^ouvroir:backup\.onCalendar/,
    ],
    [
        "calendars: newline",
        { backup: { ...backup0, onCalendar: "daily\nExecStart=/bin/sh" } },
        /^ouvroir:backup\.onCalendar/,
    ],
    [
        "retention: negative",
        { backup: { ...backup0, keepDaily: -1 } },
        /^ouvroir:backup\.keepDaily /,
    ],
    [
        "retention: not a number",
        { backup: { ...backup0, keepWeekly: "7; rm" } },
        /^ouvroir:backup\.keepWeekly /,
    ],
    [
        "retention: none at all",
        { backup: { ...backup0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 } },
        /^ouvroir:backup: keepDaily, keepWeekly and keepMonthly/,
    ],
    [
        "URLs: endpoint with a path",
        { backup: { ...backup0, endpoint: "https://x.org/$(id)" } },
        /^ouvroir:backup\.endpoint /,
    ],
    [
        "URLs: plain-http endpoint",
        { backup: { ...backup0, endpoint: "http://object-arbutus.alliancecan.ca" } },
        /^ouvroir:backup\.endpoint/,
    ],
    ["names: bucket", { backup: { ...backup0, bucket: "b/../c" } }, /^ouvroir:backup\.bucket /],
    [
        "paths: RESTXQ /rest/",
        restxq(["/rest/"]),
        /^ouvroir:sites\[0\]\.paths\[0\] "\/rest\/" is BaseX/,
    ],
    [
        "paths: RESTXQ /dba/",
        restxq(["/dba/"]),
        /^ouvroir:sites\[0\]\.paths\[0\] "\/dba\/" is BaseX/,
    ],
    ["paths: RESTXQ /", restxq(["/"]), /^ouvroir:sites\[0\]\.paths\[0\] /],
    ["paths: RESTXQ ;", restxq(["/a;b/"]), /^ouvroir:sites\[0\]\.paths\[0\] /],
    ["paths: RESTXQ ..", restxq(["/a/../rest/"]), /^ouvroir:sites\[0\]\.paths\[0\] /],
    ["paths: RESTXQ none", restxq([]), /^ouvroir:sites\[0\]\.paths must list/],
    [
        "paths: a proxy site to BaseX",
        {
            sites: [
                {
                    name: "ed",
                    domains: ["ed.example.org"],
                    kind: "proxy",
                    upstreamRole: "xmldb",
                    upstreamPort: 8080,
                },
            ],
        },
        /^ouvroir:sites\[0\] proxies to the xmldb role/,
    ],
    [
        "paths: a proxy site to SQL",
        {
            sites: [
                {
                    name: "ed",
                    domains: ["ed.example.org"],
                    kind: "proxy",
                    upstreamRole: "app",
                    upstreamPort: 3306,
                },
            ],
        },
        /^ouvroir:sites\[0\]\.upstreamPort 3306 /,
    ],
    [
        "paths: share the allocation with ../",
        { sharesAllocationWith: ["../../etc/passwd"] },
        /^ouvroir:sharesAllocationWith entry /,
    ],
    ["sizes: text", xmldb({ dataVolumeGb: "80; rm" }), /^ouvroir:roles\.xmldb\.dataVolumeGb /],
    ["sizes: negative", xmldb({ dataVolumeGb: -5 }), /^ouvroir:roles\.xmldb\.dataVolumeGb /],
    ["sizes: absurd", xmldb({ dataVolumeGb: 1e9 }), /^ouvroir:roles\.xmldb\.dataVolumeGb /],
    ["sizes: boot volume 0", { bootVolumeGb: 0 }, /^ouvroir:bootVolumeGb /],
    [
        "sizes: researcher memory",
        { researchers: [{ name: "bob", sshPublicKeys: [key0], memoryMiB: -1 }] },
        /^ouvroir:researchers\[0\]\.memoryMiB /,
    ],
    [
        "sizes: researcher CPU",
        { researchers: [{ name: "bob", sshPublicKeys: [key0], cpuPercent: "100; rm" }] },
        /^ouvroir:researchers\[0\]\.cpuPercent /,
    ],
    ["sizes: allocation", { allocation: { vcpus: -1 } }, /^ouvroir:allocation\.vcpus /],
];

describe("every config key family", () => {
    it.each(FAMILY_CASES)("%s: refused, naming the key", (_label, override, key) => {
        const problems = problemsOf({ ...prod(), ...override });
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(key);
    });
});

/** Every hostile override of this file: the earlier families' values and the table above. */
const ALL_OVERRIDES: readonly (readonly [string, RawConfig])[] = [
    ...HOSTILE.map((h) => [`adminUser ${JSON.stringify(h)}`, { adminUser: h }] as const),
    ...HOSTILE.map(
        (h) =>
            [
                `letsencryptEmail ${JSON.stringify(h)}`,
                { letsencryptEmail: `ops${h}@example.org` },
            ] as const,
    ),
    ...HOSTILE.map(
        (h) =>
            [
                `downloads.basex.url ${JSON.stringify(h)}`,
                { downloads: { basex: { url: `https://mirror.example.org/basex/${h}.zip` } } },
            ] as const,
    ),
    ...HOSTILE.map(
        (h) =>
            [
                `downloads.basex.version ${JSON.stringify(h)}`,
                { downloads: { basex: { version: `12.0${h}` } } },
            ] as const,
    ),
    ...FAMILY_CASES.map(([label, override]) => [label, override] as const),
];

describe("the program registers nothing for a refused config", () => {
    it(`none of the ${ALL_OVERRIDES.length} hostile configs gets past the preview`, async () => {
        expect(ALL_OVERRIDES.length).toBeGreaterThanOrEqual(60);
        // The check can fail: the shipped config registers resources into the same kind of list.
        const control: Registration[] = [];
        await runProgram("prod", {}, {}, control);
        expect(control.length).toBeGreaterThan(50);
        const outcomes: string[] = [];
        for (const [label, override] of ALL_OVERRIDES) {
            const records: Registration[] = [];
            const err = await runProgram("prod", override, {}, records).then(
                () => undefined,
                (e: Error) => e,
            );
            outcomes.push(`${label}: ${err?.name ?? "accepted"}, ${records.length} registered`);
        }
        expect(outcomes).toEqual(
            ALL_OVERRIDES.map(([label]) => `${label}: ConfigError, 0 registered`),
        );
    }, 300_000);
});
