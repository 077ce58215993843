// Pure: config validation over the real stack files, quota and the shrink guard. Does not prove
// that the components use the validated values (tests/components, tests/stacks do).
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import {
    CONFIG_KEYS,
    DEFAULTS,
    RAS_ALLOCATION,
    RawConfig,
    addUsage,
    checkStack,
    flavorSize,
    parseCidr,
    parseStackConfig,
    quotaProblems,
    quotaUsage,
    readStackFile,
    shrinkProblems,
} from "../../config";
import { problemsOf } from "../harness/configProblems";

const root = path.join(__dirname, "../..");
const dev = (): RawConfig => readStackFile(root, "dev");
// The secrets an operator sets with `pulumi config set --secret` (present, values unknown here).
const prod = (): RawConfig => ({
    ...readStackFile(root, "prod"),
    backupAccessKeyId: "(secret)",
    backupSecretAccessKey: "(secret)",
    alertSmtpPassword: "(secret)",
});

describe("the real stack files", () => {
    it("arbutus (another project's profile) is valid within its own allocation", () => {
        const { config, quota } = checkStack("arbutus", readStackFile(root, "arbutus"), root);
        expect(Object.keys(config.roles).sort()).toEqual(["iiif", "web", "xmldb"]);
        expect(config.sharesAllocationWith).toEqual([]);
        expect(quota.columns.map((c) => c.name)).toEqual(["arbutus"]);
        expect(config.protectData).toBe(false);
    });

    it.each(["dev", "prod"])("%s is valid and within the shared allocation", (stack) => {
        const { config, quota } = checkStack(stack, stack === "prod" ? prod() : dev(), root);
        expect(config.stack).toBe(stack);
        expect(quota.columns.map((c) => c.name).sort()).toEqual(["dev", "prod"]);
    });

    it("prod protects data, dev does not; both deploy all five roles", () => {
        expect(parseStackConfig("prod", prod()).protectData).toBe(true);
        expect(parseStackConfig("dev", dev()).protectData).toBe(false);
        for (const raw of [dev(), prod()]) {
            expect(
                Object.keys(parseStackConfig("x", { ...raw, protectData: false }).roles),
            ).toEqual(["web", "xmldb", "iiif", "app", "sandbox"]);
        }
    });

    it("Pulumi.yaml declares every key, with the same defaults as config.ts", () => {
        const project = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
            name: string;
            config: Record<string, { type: string; description: string; default: unknown }>;
        };
        expect(project.name).toBe("ouvroir");
        expect(Object.keys(project.config).sort()).toEqual([...CONFIG_KEYS].sort());
        for (const key of CONFIG_KEYS) {
            expect({ key, default: project.config[key]?.default }).toEqual({
                key,
                default: JSON.parse(JSON.stringify(DEFAULTS[key])),
            });
            expect(project.config[key]?.description).toMatch(/After deploy/);
        }
    });
});

describe("bad input gets an error naming the key and the fix", () => {
    // Each case: a change to the real dev (or prod) file, and what the message must say.
    const cases: [string, "dev" | "prod", RawConfig, RegExp][] = [
        [
            "unknown role",
            "dev",
            { roles: { ...(dev().roles as object), xmldbb: {} } },
            /ouvroir:roles\.xmldbb is not a role; roles are web, xmldb/,
        ],
        ["web role missing", "dev", { roles: { xmldb: {} } }, /ouvroir:roles must include web/],
        [
            "flavor below the role's minimum",
            "dev",
            { roles: { web: {}, xmldb: { flavor: "p1-1.5gb" } } },
            /ouvroir:roles\.xmldb\.flavor "p1-1\.5gb" .* below the xmldb role's minimum .* use p4-7\.5gb/,
        ],
        [
            "unknown flavor",
            "dev",
            { roles: { web: { flavor: "m1.huge" } } },
            /ouvroir:roles\.web\.flavor "m1\.huge" is unknown: .*ouvroir:flavors/,
        ],
        [
            "compute flavor for a service",
            "dev",
            { roles: { web: { flavor: "c4-15gb-83" } } },
            /compute flavor .*one-month lifetime/,
        ],
        [
            "malformed admin CIDR",
            "dev",
            { adminCidrs: ["132.204.0.0/33"] },
            /ouvroir:adminCidrs entry "132\.204\.0\.0\/33" is not a CIDR/,
        ],
        [
            "CIDR typo with host bits",
            "dev",
            { adminCidrs: ["132.204.12.7/16"] },
            /has host bits set: did you mean 132\.204\.0\.0\/16/,
        ],
        [
            "world-open SSH in prod",
            "prod",
            { adminCidrs: ["0.0.0.0/0"] },
            /ouvroir:adminCidrs entry "0\.0\.0\.0\/0" opens SSH to the whole Internet/,
        ],
        [
            "world-open SSH over IPv6 in prod",
            "prod",
            { adminCidrs: ["::/0"] },
            /"::\/0" opens SSH to the whole Internet/,
        ],
        ["no admin CIDR in prod", "prod", { adminCidrs: [] }, /ouvroir:adminCidrs is empty/],
        [
            "volume size zero",
            "dev",
            { roles: { web: { dataVolumeGb: 0 } } },
            /ouvroir:roles\.web\.dataVolumeGb is 0: a size must be a positive whole number/,
        ],
        [
            "volume size fractional",
            "dev",
            { roles: { web: { dataVolumeGb: 10.5 } } },
            /dataVolumeGb is 10\.5: a size must be a positive whole number/,
        ],
        [
            "volume size as text",
            "dev",
            { roles: { web: { dataVolumeGb: "big" } } },
            /dataVolumeGb is "big"/,
        ],
        [
            "unknown volume type",
            "dev",
            { roles: { web: { dataVolumeType: "ssd" } } },
            /ouvroir:roles\.web\.dataVolumeType "ssd" is not a volume type of this cloud; choose one of volumes-ssd, volumes-ec/,
        ],
        [
            "duplicate site name",
            "dev",
            {
                sites: [
                    { name: "a", domains: ["a.example.org"], kind: "static" },
                    { name: "a", domains: ["b.example.org"], kind: "static" },
                ],
            },
            /ouvroir:sites\[1\]\.name "a" is a duplicate site name/,
        ],
        [
            "same domain on two sites",
            "dev",
            {
                sites: [
                    { name: "a", domains: ["a.example.org"], kind: "static" },
                    { name: "b", domains: ["a.example.org"], kind: "static" },
                ],
            },
            /"a\.example\.org" is already served by site "a"/,
        ],
        [
            "proxy to a port the role does not open",
            "dev",
            {
                sites: [
                    {
                        name: "a",
                        domains: ["a.example.org"],
                        kind: "proxy",
                        upstreamRole: "app",
                        upstreamPort: 3306,
                    },
                ],
            },
            /upstreamPort 3306 is not a port of the app role that a proxy site may forward to; use 8000-8099/,
        ],
        [
            "unknown site kind",
            "dev",
            { sites: [{ name: "a", domains: ["a.example.org"], kind: "wordpress" }] },
            /ouvroir:sites\[0\]\.kind is "wordpress": choose one of static, proxy, php/,
        ],
        [
            "private CIDR typo",
            "dev",
            { privateCidr: "10.20.0.1/24" },
            /ouvroir:privateCidr "10\.20\.0\.1\/24" has host bits set: did you mean 10\.20\.0\.0\/24/,
        ],
        ["no SSH key", "dev", { sshPublicKeys: [] }, /ouvroir:sshPublicKeys is empty/],
        [
            "a private key pasted",
            "dev",
            { sshPublicKeys: ["-----BEGIN OPENSSH PRIVATE KEY-----"] },
            /holds a PRIVATE key/,
        ],
        [
            "misspelt key",
            "dev",
            { protectdata: true },
            /ouvroir:protectdata is not a setting of this program \(misspelt\?\)/,
        ],
        [
            "bad checksum",
            "dev",
            { downloads: { basex: { sha256: "abc" } } },
            /ouvroir:downloads\.basex\.sha256 must be 64 hexadecimal/,
        ],
        [
            "an upstream restic without its checksum",
            "dev",
            { downloads: { restic: { version: "0.18.1", url: "https://example.org/restic.bz2" } } },
            /ouvroir:downloads\.restic\.sha256 is missing: an upstream restic is verified; .*or remove downloads\.restic to keep Debian's package/,
        ],
        [
            "an unknown download",
            "dev",
            { downloads: { kraken: {} } },
            /ouvroir:downloads\.kraken is not a download of this program; known: cantaloupe, basex, julia, saxon, restic\./,
        ],
        [
            "researcher without sandbox",
            "dev",
            { roles: { web: {} } },
            /ouvroir:researchers is set but the sandbox role is not deployed/,
        ],
        [
            "adopting a volume by a non-id",
            "dev",
            { roles: { web: { existingDataVolumeId: "my-volume" } } },
            /existingDataVolumeId "my-volume" is not a Cinder volume id/,
        ],
        [
            "rebuild of an unknown role",
            "dev",
            { rebuild: ["database"] },
            /ouvroir:rebuild entry "database" is not a role/,
        ],
        [
            "half an existing network",
            "dev",
            { existingNetwork: { networkId: "abc" } },
            /ouvroir:existingNetwork needs both networkId and subnetId/,
        ],
        [
            "backups without the bucket's keys",
            "prod",
            { backupAccessKeyId: undefined },
            /ouvroir:backupAccessKeyId is not set: backups need the bucket's keys/,
        ],
        [
            "backup endpoint with a path",
            "prod",
            {
                backup: {
                    endpoint: "https://object-arbutus.alliancecan.ca/ouvroir",
                    bucket: "b-1",
                },
            },
            /ouvroir:backup\.endpoint .* without a path/,
        ],
    ];

    it.each(cases)("%s", (_label, stack, change, expected) => {
        const raw = { ...(stack === "dev" ? dev() : prod()), ...change };
        const problems = problemsOf(stack, raw);
        expect(problems.join("\n")).toMatch(expected);
    });

    it("reports every problem at once, not the first only", () => {
        const problems = problemsOf("prod", {
            ...prod(),
            adminCidrs: ["0.0.0.0/0"],
            sshPublicKeys: [],
            sqlEngine: "oracle",
        });
        expect(problems).toHaveLength(3);
    });

    it("over quota fails with the row, the key and what to do", () => {
        // One stack alone, with two large flavors, on the RAS allocation.
        const big = { flavor: "p8-30gb" };
        const raw = {
            ...dev(),
            sharesAllocationWith: [],
            allocation: {},
            roles: { ...(dev().roles as object), xmldb: big, iiif: big },
        };
        expect(() => checkStack("dev", raw, root)).toThrow(
            /over quota: dev need 67\.5 RAM \(GB\), the allocation \(ouvroir:allocation\.ramGb\) is 50\. Make the stacks smaller/,
        );
        expect(() => checkStack("dev", { ...raw, roles: dev().roles }, root)).not.toThrow();
    });

    it("dev and prod together are over the RAS allocation: volumes and security groups", () => {
        const total = addUsage(
            quotaUsage(parseStackConfig("dev", dev())),
            quotaUsage(parseStackConfig("prod", prod())),
        );
        expect(quotaProblems(total, RAS_ALLOCATION, ["dev", "prod"])).toEqual([
            expect.stringMatching(
                /^over quota: dev \+ prod need 20 volumes \(boot \+ data\), the allocation \(ouvroir:allocation\.volumes\) is 10\. .*raise ouvroir:allocation\.volumes/,
            ),
            expect.stringMatching(/^over quota: dev \+ prod need 14 security groups/),
        ]);
    });

    it("stacks sharing a project must agree on the allocation", () => {
        expect(() =>
            checkStack("dev", { ...dev(), allocation: { volumes: 30, securityGroups: 14 } }, root),
        ).toThrow(/ouvroir:allocation differs from Pulumi\.prod\.yaml \(volumes\)/);
    });
});

describe("shrink guard", () => {
    const cfg = parseStackConfig("prod", prod());
    it("refuses a smaller data volume than deployed, naming the key and the size to keep", () => {
        expect(shrinkProblems(cfg, { xmldb: 80 })).toEqual([
            expect.stringMatching(
                /^ouvroir:roles\.xmldb\.dataVolumeGb is 50 but the deployed xmldb data volume has 80 GB: Cinder cannot shrink .*Set it back to 80 or more/,
            ),
        ]);
    });
    it("accepts growth and equal sizes", () => {
        expect(shrinkProblems(cfg, { xmldb: 50, iiif: 100, app: 1 })).toEqual([]);
    });
    it("refuses dropping a role whose data volume is deployed", () => {
        const fewer = parseStackConfig("prod", {
            ...prod(),
            roles: { web: {}, xmldb: {}, iiif: {}, app: {} },
            researchers: [],
        });
        expect(shrinkProblems(fewer, { sandbox: 200 })[0]).toMatch(
            /^ouvroir:roles no longer lists sandbox/,
        );
    });
    it("lets a role go when ouvroir:rebuild lists it too (the operator asked twice)", () => {
        const retired = parseStackConfig("prod", {
            ...prod(),
            roles: { web: {}, xmldb: {}, iiif: {}, app: {} },
            researchers: [],
            rebuild: ["sandbox"],
        });
        expect(shrinkProblems(retired, { sandbox: 200 })).toEqual([]);
    });
});

describe("quota", () => {
    it("counts instances, vCPU, RAM, boot and data volumes, floating IPs, security groups", () => {
        expect(quotaUsage(parseStackConfig("prod", prod()))).toEqual({
            instances: 5,
            vcpus: 2 + 4 + 4 + 4 + 2,
            ramGb: 3 + 7.5 + 7.5 + 7.5 + 3.75,
            volumes: 10,
            volumeGb: 5 * 20 + 20 + 50 + 500 + 50 + 200,
            floatingIps: 1,
            securityGroups: 5 + 1 + 1, // roles, bastion group, the app server's member group
        });
    });
});

describe("flavors and CIDRs", () => {
    it("reads sizes from Alliance flavor names", () => {
        expect(flavorSize("p4-7.5gb")).toEqual({ vcpus: 4, ramGb: 7.5, kind: "persistent" });
        expect(flavorSize("c8-30gb-186")).toEqual({ vcpus: 8, ramGb: 30, kind: "compute" });
        expect(flavorSize("m1.small")).toBeUndefined();
        expect(flavorSize("m1.small", { "m1.small": { vcpus: 1, ramGb: 2 } })?.kind).toBe(
            "declared",
        );
    });
    it("parses CIDRs and finds host bits", () => {
        expect(parseCidr("10.20.0.0/24")).toMatchObject({ version: 4, hostBitsSet: false });
        expect(parseCidr("10.20.0.5/24")).toMatchObject({
            hostBitsSet: true,
            canonical: "10.20.0.0/24",
        });
        expect(parseCidr("2001:db8::/32")).toMatchObject({ version: 6, hostBitsSet: false });
        expect(parseCidr("2001:db8::1/32")).toMatchObject({ hostBitsSet: true });
        for (const bad of [
            "10.20.0.0",
            "10.20.0.256/24",
            "10.20.0.0/33",
            "::1::2/64",
            "example.org/24",
        ]) {
            expect(parseCidr(bad)).toBeUndefined();
        }
    });
});
