// Pure: each policy rule on passing and failing resources. Does not prove the Pulumi CLI loads the pack (policy/check-loads.sh does) nor that the program's real resources pass (tests/stacks).
import { ReportViolation, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";

import {
    bootFromVolumeViolations,
    floatingIpViolations,
    floatingIpsWebOnly,
    instanceNameViolations,
    noPublicAdminPorts,
    opensToWorld,
    PolicyView,
    policies,
    prodDataVolumesProtected,
    roleOf,
    secGroupRuleViolations,
    stackOfUrn,
    TYPES,
    volumeProtectionViolations,
} from "./rules";

const PROJECT = "ouvroir-infra";

/** A URN the engine would give a child of a role component (or a top-level resource). */
function urn(stack: string, type: string, name: string, parentType?: string): string {
    const types = parentType === undefined ? type : `${parentType}$${type}`;
    return `urn:pulumi:${stack}::${PROJECT}::${types}::${name}`;
}

function view(
    type: string,
    name: string,
    props: Record<string, unknown>,
    opts: { stack?: string; parentType?: string; protect?: boolean } = {},
): PolicyView {
    return {
        type,
        name,
        urn: urn(opts.stack ?? "dev", type, name, opts.parentType),
        props,
        protect: opts.protect ?? false,
    };
}

const rule = (name: string, props: Record<string, unknown>, parentType?: string): PolicyView =>
    view(
        TYPES.secGroupRule,
        name,
        { direction: "ingress", ethertype: "IPv4", ...props },
        { parentType },
    );

describe("helpers", () => {
    it("reads the stack from a URN", () => {
        expect(stackOfUrn(urn("prod", TYPES.volume, "prod-web-data"))).toBe("prod");
        expect(stackOfUrn("not-a-urn")).toBe("");
    });
    it("finds the role from the parent component first, then from the logical name", () => {
        expect(
            roleOf(
                "web-https",
                urn("dev", TYPES.secGroupRule, "web-https", "ouvroir:vm:WebServerVM"),
            ),
        ).toBe("web");
        expect(roleOf("x", urn("dev", TYPES.secGroupRule, "x", "ouvroir:vm:IiifServerVM"))).toBe(
            "iiif",
        );
        expect(roleOf("dev-xmldb-ssh", urn("dev", TYPES.secGroupRule, "dev-xmldb-ssh"))).toBe(
            "xmldb",
        );
        expect(roleOf("web-fip", urn("prod", TYPES.floatingIp, "web-fip"))).toBe("web");
        expect(roleOf("dev-bastion", urn("dev", TYPES.floatingIp, "dev-bastion"))).toBeUndefined();
    });
    it("counts a rule without prefix and without remote group as open to the world", () => {
        expect(opensToWorld({})).toBe(true);
        expect(opensToWorld({ remoteIpPrefix: "" })).toBe(true);
        expect(opensToWorld({ remoteIpPrefix: "0.0.0.0/0" })).toBe(true);
        expect(opensToWorld({ remoteIpPrefix: "::/0" })).toBe(true);
        expect(opensToWorld({ remoteGroupId: "sg-123" })).toBe(false);
        expect(opensToWorld({ remoteIpPrefix: "10.20.0.0/24" })).toBe(false);
        expect(opensToWorld({ remoteIpPrefix: "132.204.0.0/16" })).toBe(false);
        expect(opensToWorld({ remoteIpPrefix: "128.0.0.0/1" })).toBe(true);
        expect(opensToWorld({ remoteIpPrefix: "10.0.0.0/8" })).toBe(false);
        expect(opensToWorld({ remoteIpPrefix: "2000::/3" })).toBe(true);
        expect(opensToWorld({ remoteIpPrefix: "2001:db8::/32" })).toBe(false);
    });
});

describe("no-public-admin-ports", () => {
    const web = "ouvroir:vm:WebServerVM";
    it.each([
        [
            "HTTPS on the web server",
            rule(
                "dev-web-https",
                {
                    protocol: "tcp",
                    portRangeMin: 443,
                    portRangeMax: 443,
                    remoteIpPrefix: "0.0.0.0/0",
                },
                web,
            ),
        ],
        [
            "HTTP over IPv6 on the web server",
            rule(
                "dev-web-http-v6",
                {
                    ethertype: "IPv6",
                    protocol: "tcp",
                    portRangeMin: 80,
                    portRangeMax: 80,
                    remoteIpPrefix: "::/0",
                },
                web,
            ),
        ],
        [
            "SSH from an admin CIDR",
            rule(
                "dev-web-ssh",
                {
                    protocol: "tcp",
                    portRangeMin: 22,
                    portRangeMax: 22,
                    remoteIpPrefix: "132.204.0.0/16",
                },
                web,
            ),
        ],
        [
            "BaseX from the web server's group",
            rule("dev-xmldb-basex-http", {
                protocol: "tcp",
                portRangeMin: 8080,
                portRangeMax: 8080,
                remoteGroupId: "3f1c-web-sg",
            }),
        ],
        [
            "MariaDB from the private subnet",
            rule("dev-app-sql", {
                protocol: "tcp",
                portRangeMin: 3306,
                portRangeMax: 3306,
                remoteIpPrefix: "10.20.0.0/24",
            }),
        ],
        [
            "any egress",
            view(TYPES.secGroupRule, "dev-web-egress", { direction: "egress", ethertype: "IPv4" }),
        ],
    ])("passes: %s", (_what, resource) => {
        expect(secGroupRuleViolations(resource)).toEqual([]);
    });

    it.each([
        [
            "SSH to 0.0.0.0/0",
            rule(
                "dev-web-ssh",
                {
                    protocol: "tcp",
                    portRangeMin: 22,
                    portRangeMax: 22,
                    remoteIpPrefix: "0.0.0.0/0",
                },
                web,
            ),
            /SSH \(22\)/,
        ],
        [
            "SSH to ::/0",
            rule(
                "dev-web-ssh-v6",
                {
                    ethertype: "IPv6",
                    protocol: "tcp",
                    portRangeMin: 22,
                    portRangeMax: 22,
                    remoteIpPrefix: "::/0",
                },
                web,
            ),
            /SSH \(22\)/,
        ],
        [
            "SSH with no prefix and no group",
            rule("dev-xmldb-ssh", { protocol: "tcp", portRangeMin: 22, portRangeMax: 22 }),
            /any address/,
        ],
        [
            "MariaDB to the world",
            rule("dev-app-sql", {
                protocol: "tcp",
                portRangeMin: 3306,
                portRangeMax: 3306,
                remoteIpPrefix: "0.0.0.0/0",
            }),
            /MariaDB\/MySQL \(3306\)/,
        ],
        [
            "PostgreSQL to the world",
            rule("dev-app-pg", {
                protocol: "tcp",
                portRangeMin: 5432,
                portRangeMax: 5432,
                remoteIpPrefix: "0.0.0.0/0",
            }),
            /PostgreSQL \(5432\)/,
        ],
        [
            "BaseX server to the world",
            rule("dev-xmldb-basex-server", {
                protocol: "tcp",
                portRangeMin: 1984,
                portRangeMax: 1984,
                remoteIpPrefix: "0.0.0.0/0",
            }),
            /BaseX server \(1984\)/,
        ],
        [
            "BaseX HTTP to the world",
            rule("dev-xmldb-basex-http", {
                protocol: "tcp",
                portRangeMin: 8080,
                portRangeMax: 8080,
                remoteIpPrefix: "::/0",
            }),
            /8080/,
        ],
        [
            "a range that includes 443",
            rule(
                "dev-web-wide",
                {
                    protocol: "tcp",
                    portRangeMin: 1,
                    portRangeMax: 1000,
                    remoteIpPrefix: "0.0.0.0/0",
                },
                web,
            ),
            /ports 1-1000, including SSH \(22\)/,
        ],
        [
            "every port (no range)",
            rule("dev-web-all", { protocol: "tcp", remoteIpPrefix: "0.0.0.0/0" }, web),
            /every port/,
        ],
        [
            "every protocol",
            rule("dev-web-any", { remoteIpPrefix: "0.0.0.0/0" }, web),
            /every protocol/,
        ],
        [
            "UDP 443",
            rule(
                "dev-web-quic",
                {
                    protocol: "udp",
                    portRangeMin: 443,
                    portRangeMax: 443,
                    remoteIpPrefix: "0.0.0.0/0",
                },
                web,
            ),
            /udp/,
        ],
        [
            "HTTPS on a private role",
            rule("dev-iiif-https", {
                protocol: "tcp",
                portRangeMin: 443,
                portRangeMax: 443,
                remoteIpPrefix: "0.0.0.0/0",
            }),
            /'iiif' role/,
        ],
        [
            "HTTPS on no known role",
            rule("stray-https", {
                protocol: "tcp",
                portRangeMin: 443,
                portRangeMax: 443,
                remoteIpPrefix: "0.0.0.0/0",
            }),
            /no known role/,
        ],
    ])("fails: %s", (_what, resource, message) => {
        const violations = secGroupRuleViolations(resource);
        expect(violations).toHaveLength(1);
        expect(violations[0]).toMatch(message);
    });
});

describe("floating-ips-web-only", () => {
    const fip = (name: string, stack = "dev", parentType?: string) =>
        view(TYPES.floatingIp, name, { pool: "Public-Network" }, { stack, parentType });
    const assoc = (name: string, stack = "dev", parentType?: string) =>
        view(
            TYPES.floatingIpAssociate,
            name,
            { portId: "port-1", floatingIp: "203.0.113.7" },
            { stack, parentType },
        );
    const instance = view(TYPES.instance, "dev-web-1", { name: "dev-web-1" });

    it("passes: one address on the web server", () => {
        expect(
            floatingIpViolations([instance, fip("dev-web-fip"), assoc("dev-web-fip-assoc")], 1),
        ).toEqual([]);
        expect(
            floatingIpViolations(
                [
                    fip("fip", "dev", "ouvroir:vm:WebServerVM"),
                    assoc("fip-assoc", "dev", "ouvroir:vm:WebServerVM"),
                ],
                1,
            ),
        ).toEqual([]);
    });
    it("passes: a stack with no floating IP", () => {
        expect(floatingIpViolations([instance], 1)).toEqual([]);
    });
    it("fails: a floating IP on a private role, pointing at the resource", () => {
        const bad = fip("dev-xmldb-fip");
        const violations = floatingIpViolations([fip("dev-web-fip"), bad], 2);
        expect(violations).toEqual([[expect.stringMatching(/'xmldb' role/), bad.urn]]);
    });
    it("fails: an association that no role claims", () => {
        const bad = assoc("bastion-assoc");
        expect(floatingIpViolations([bad], 1)).toEqual([
            [expect.stringMatching(/no known role/), bad.urn],
        ]);
    });
    it("fails: more addresses than the allocation leaves the stack", () => {
        const violations = floatingIpViolations([fip("dev-web-fip"), fip("dev-web-fip2")], 1);
        expect(violations).toEqual([
            [expect.stringMatching(/uses 2 floating IPs.*leaves it 1/), undefined],
        ]);
    });
    it("counts the deprecated compute floating IPs too", () => {
        const old = view(TYPES.computeFloatingIp, "dev-app-fip", { pool: "Public-Network" });
        expect(floatingIpViolations([old], 1)).toHaveLength(1);
    });
});

describe("prod-data-volumes-protected", () => {
    const volume = (name: string, stack: string, protect: boolean, cloudName = name) =>
        view(
            TYPES.volume,
            name,
            { name: cloudName, size: 50, volumeType: "volumes-ssd" },
            { stack, protect },
        );

    it.each([
        ["a protected prod data volume", volume("prod-xmldb-data", "prod", true)],
        ["an unprotected prod boot volume", volume("prod-xmldb-boot", "prod", false)],
        [
            "a boot volume named so only in the cloud",
            volume("prod-xmldb-root", "prod", false, "prod-xmldb-1-boot"),
        ],
        ["an unprotected dev data volume", volume("dev-xmldb-data", "dev", false)],
    ])("passes: %s", (_what, resource) => {
        expect(volumeProtectionViolations(resource)).toEqual([]);
    });
    it("fails: an unprotected prod data volume", () => {
        expect(volumeProtectionViolations(volume("prod-iiif-data", "prod", false))).toEqual([
            expect.stringMatching(/'prod-iiif-data' in stack 'prod' is not protected/),
        ]);
    });
    it("protects the prod-* stacks too (a migration's target), not the ones merely containing prod", () => {
        expect(
            volumeProtectionViolations(volume("prod-arbutus-iiif-data", "prod-arbutus", false)),
        ).toHaveLength(1);
        expect(volumeProtectionViolations(volume("preprod-iiif-data", "preprod", false))).toEqual(
            [],
        );
    });
    it("follows the configured list of protected stacks", () => {
        expect(
            volumeProtectionViolations(volume("staging-iiif-data", "staging", false), [
                "prod",
                "staging",
            ]),
        ).toHaveLength(1);
    });
});

describe("p-flavors-boot-from-volume", () => {
    const bootFromImage = [
        {
            sourceType: "image",
            destinationType: "volume",
            bootIndex: 0,
            uuid: "img-1",
            volumeSize: 20,
        },
    ];
    const instance = (flavorName: string, extra: Record<string, unknown> = {}) =>
        view(TYPES.instance, "dev-xmldb-1", { name: "dev-xmldb-1", flavorName, ...extra });

    it.each([
        [
            "a p flavor booting from an image copied to a volume",
            instance("p4-7.5gb", { blockDevices: bootFromImage }),
        ],
        [
            "a p flavor booting from an existing volume",
            instance("p2-3gb", {
                blockDevices: [
                    {
                        sourceType: "volume",
                        destinationType: "volume",
                        bootIndex: 0,
                        uuid: "vol-1",
                    },
                ],
            }),
        ],
        ["a c flavor with its local disk", instance("c2-7.5gb-36", { imageId: "img-1" })],
        ["a local cloud's flavor", instance("m1.small", { imageName: "debian-12" })],
    ])("passes: %s", (_what, resource) => {
        expect(bootFromVolumeViolations(resource)).toEqual([]);
    });
    it.each([
        ["a p flavor with only an image", instance("p4-7.5gb", { imageId: "img-1" })],
        [
            "a p flavor whose volume is not the boot device",
            instance("p4-7.5gb", { blockDevices: [{ ...bootFromImage[0], bootIndex: 1 }] }),
        ],
        [
            "a p flavor booting from local disk",
            instance("p8-15gb", {
                blockDevices: [{ ...bootFromImage[0], destinationType: "local" }],
            }),
        ],
    ])("fails: %s", (_what, resource) => {
        expect(bootFromVolumeViolations(resource)).toEqual([expect.stringMatching(/no root disk/)]);
    });
});

describe("instances-named", () => {
    it("passes: an explicit name", () => {
        expect(
            instanceNameViolations(view(TYPES.instance, "dev-web-1", { name: "dev-web-1" })),
        ).toEqual([]);
    });
    it.each([
        ["no name", {}],
        ["an empty name", { name: "  " }],
    ])("fails: %s", (_what, props) => {
        expect(instanceNameViolations(view(TYPES.instance, "dev-web-1", props))).toEqual([
            expect.stringMatching(/no explicit `name`/),
        ]);
    });
});

// The wiring: the policy objects the pack registers call the rules on the right types.
describe("policy objects", () => {
    function resourceArgs(v: PolicyView, config: object = {}): ResourceValidationArgs {
        return {
            type: v.type,
            name: v.name,
            urn: v.urn,
            props: v.props,
            opts: {
                protect: v.protect ?? false,
                ignoreChanges: [],
                aliases: [],
                additionalSecretOutputs: [],
                customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            },
            stackTags: new Map(),
            isType: () => false,
            asType: () => undefined,
            getConfig: <T extends object>() => config as T,
            notApplicable: () => {
                throw new Error("not applicable");
            },
        };
    }
    function collect(run: (report: ReportViolation) => void | Promise<void>): string[] {
        const messages: string[] = [];
        void run((message) => messages.push(message));
        return messages;
    }

    it("registers five mandatory policies with unique names", () => {
        expect(policies.map((p) => p.name)).toEqual([
            "no-public-admin-ports",
            "floating-ips-web-only",
            "prod-data-volumes-protected",
            "p-flavors-boot-from-volume",
            "instances-named",
        ]);
        expect(new Set(policies.map((p) => p.enforcementLevel))).toEqual(new Set(["mandatory"]));
    });
    it("reports an open SSH rule and ignores other types", () => {
        const validate = noPublicAdminPorts.validateResource as (
            a: ResourceValidationArgs,
            r: ReportViolation,
        ) => void;
        const ssh = rule("dev-web-ssh", {
            protocol: "tcp",
            portRangeMin: 22,
            portRangeMax: 22,
            remoteIpPrefix: "0.0.0.0/0",
        });
        expect(collect((r) => validate(resourceArgs(ssh), r))).toHaveLength(1);
        const notARule = view(TYPES.volume, "dev-web-data", {
            remoteIpPrefix: "0.0.0.0/0",
            direction: "ingress",
        });
        expect(collect((r) => validate(resourceArgs(notARule), r))).toEqual([]);
    });
    it("reads `protect` from the resource options and the stacks from the policy config", () => {
        const validate = prodDataVolumesProtected.validateResource as (
            a: ResourceValidationArgs,
            r: ReportViolation,
        ) => void;
        const v = view(
            TYPES.volume,
            "prod-web-data",
            { size: 20 },
            { stack: "prod", protect: false },
        );
        expect(collect((r) => validate(resourceArgs(v), r))).toHaveLength(1);
        expect(collect((r) => validate(resourceArgs({ ...v, protect: true }), r))).toEqual([]);
        expect(
            collect((r) => validate(resourceArgs(v, { protectedStacks: ["other"] }), r)),
        ).toEqual([]);
    });
    it("counts floating IPs against the configured maximum", () => {
        const fips = ["dev-web-fip", "dev-web-fip2"].map((n) => view(TYPES.floatingIp, n, {}));
        const args = (config: object): StackValidationArgs => ({
            resources: fips.map((f) => ({
                ...resourceArgs(f),
                dependencies: [],
                propertyDependencies: {},
                asType: () => undefined,
            })),
            stackTags: new Map(),
            getConfig: <T extends object>() => config as T,
            notApplicable: () => {
                throw new Error("not applicable");
            },
        });
        expect(collect((r) => floatingIpsWebOnly.validateStack(args({}), r))).toHaveLength(1);
        expect(
            collect((r) => floatingIpsWebOnly.validateStack(args({ maxFloatingIps: 2 }), r)),
        ).toEqual([]);
    });
});
