// The whole program (index.ts) under mocks with the real dev and prod stack files: security and
// data invariants, outputs, and a resource inventory that makes renames visible in review.
// Does not prove that the cloud accepts the resources (tests/integration) nor what runs in the VMs.
import { PET_IGNORED_PROPERTIES } from "../../components/roleVm";
import { Registration, byType, resolved, runProgram } from "../harness/mocks";

const WORLD = ["0.0.0.0/0", "::/0"];

describe.each(["dev", "prod"])("stack %s", (stack) => {
    let records: Registration[];
    let outputs: Record<string, unknown>;
    beforeAll(async () => {
        ({ records, outputs } = await runProgram(stack));
    }, 60_000);

    it("opens nothing but 80/443 to the world, and only on the web server", async () => {
        const open: string[] = [];
        for (const r of byType(records, "openstack:networking/secGroupRule:SecGroupRule")) {
            const i = await resolved(r);
            // A rule without a remote prefix or group is open to the world too.
            if (
                i.remoteGroupId === undefined &&
                (i.remoteIpPrefix === undefined || WORLD.includes(String(i.remoteIpPrefix)))
            ) {
                open.push(`${r.name}:${i.portRangeMin}-${i.portRangeMax}`);
            }
        }
        expect(open.sort()).toEqual([
            "web-http-v4:80-80",
            "web-http-v6:80-80",
            "web-https-v4:443-443",
            "web-https-v6:443-443",
        ]);
    });

    it("associates the floating IP only once the subnet's router interface exists", () => {
        const [assoc] = byType(
            records,
            "openstack:networking/floatingIpAssociate:FloatingIpAssociate",
        );
        const [routerIf] = byType(records, "openstack:networking/routerInterface:RouterInterface");
        expect(assoc?.opts.dependsOn).toHaveLength(1);
        expect((assoc?.opts.dependsOn as unknown[])[0]).toBeInstanceOf(Object);
        expect(routerIf).toBeDefined();
    });

    it("allows SSH from the admin CIDRs on the bastion only, from the bastion group elsewhere", async () => {
        const ssh: string[] = [];
        for (const r of byType(records, "openstack:networking/secGroupRule:SecGroupRule")) {
            const i = await resolved(r);
            if (Number(i.portRangeMin) <= 22 && Number(i.portRangeMax) >= 22) {
                ssh.push(
                    `${r.name} ${i.remoteIpPrefix ?? (i.remoteGroupId === "network-bastion-id" ? "bastion-group" : i.remoteGroupId)}`,
                );
            }
        }
        expect(ssh.sort()).toEqual([
            "app-ssh bastion-group",
            "iiif-ssh bastion-group",
            "sandbox-ssh bastion-group",
            "web-ssh-132-204-0-0-16 132.204.0.0/16",
            "xmldb-ssh bastion-group",
        ]);
    });

    it("has one floating IP, on the web server's port", async () => {
        const fips = byType(records, "openstack:networking/floatingIp:FloatingIp");
        const assoc = byType(
            records,
            "openstack:networking/floatingIpAssociate:FloatingIpAssociate",
        );
        expect(fips.map((r) => r.name)).toEqual(["web-fip"]);
        expect(await Promise.all(assoc.map(async (a) => (await resolved(a)).portId))).toEqual([
            "web-port-id",
        ]);
    });

    it("names every instance, and every stateful role has an attached data volume", async () => {
        const names = await Promise.all(
            byType(records, "openstack:compute/instance:Instance").map(
                async (r) => (await resolved(r)).name,
            ),
        );
        expect(names.sort()).toEqual([
            `${stack}-app-1`,
            `${stack}-iiif-1`,
            `${stack}-sandbox-1`,
            `${stack}-web-1`,
            `${stack}-xmldb-1`,
        ]);
        const volumes = byType(records, "openstack:blockstorage/volume:Volume").map((r) => r.name);
        const attaches = byType(records, "openstack:compute/volumeAttach:VolumeAttach").map(
            (r) => r.name,
        );
        expect(volumes.sort()).toEqual([
            "app-data",
            "iiif-data",
            "sandbox-data",
            "web-data",
            "xmldb-data",
        ]);
        expect(attaches.sort()).toEqual(volumes.map((v) => `${v}-attach`).sort());
        for (const vm of byType(records, "openstack:compute/instance:Instance")) {
            expect(vm.opts.ignoreChanges).toEqual(PET_IGNORED_PROPERTIES);
        }
    });

    it(
        stack === "prod"
            ? "protects and retains every data volume and the public address"
            : "leaves data unprotected in dev",
        () => {
            const guarded = [
                ...byType(records, "openstack:blockstorage/volume:Volume"),
                ...byType(records, "openstack:networking/floatingIp:FloatingIp"),
            ];
            for (const r of guarded) {
                expect({
                    name: r.name,
                    protect: r.opts.protect,
                    retain: r.opts.retainOnDelete,
                }).toEqual({ name: r.name, protect: stack === "prod", retain: stack === "prod" });
            }
        },
    );

    it(
        stack === "prod"
            ? "backs up every stateful role off site; the restic passwords are protected"
            : "has no backups in dev",
        async () => {
            const passwords = byType(records, "random:index/randomPassword:RandomPassword").filter(
                (r) => r.name.endsWith("-resticPassword"),
            );
            if (stack === "prod") {
                expect(passwords.map((r) => r.name).sort()).toEqual([
                    "app-day2-resticPassword",
                    "iiif-day2-resticPassword",
                    "sandbox-day2-resticPassword",
                    "web-day2-resticPassword",
                    "xmldb-day2-resticPassword",
                ]);
                for (const p of passwords)
                    expect(p.opts).toMatchObject({ protect: true, retainOnDelete: true });
            } else {
                expect(passwords).toEqual([]);
            }
        },
    );

    it("never touches the project's default security group", async () => {
        const groups = await Promise.all(
            byType(records, "openstack:networking/secGroup:SecGroup").map(
                async (r) => (await resolved(r)).name,
            ),
        );
        expect(groups).not.toContain("default");
        for (const p of byType(records, "openstack:networking/port:Port")) {
            expect((await resolved(p)).securityGroupIds).not.toContain("default");
        }
    });

    it("exports the bastion, private IPs, an SSH config through the bastion, URLs and the quota table", () => {
        expect(outputs.bastion).toBe("203.0.113.10");
        expect(Object.keys(outputs.privateIps as object).sort()).toEqual([
            "app",
            "iiif",
            "sandbox",
            "web",
            "xmldb",
        ]);
        expect(outputs.sshConfig).toMatch(
            new RegExp(`Host ${stack}-web-1\\n    HostName 203\\.0\\.113\\.10`),
        );
        expect(outputs.sshConfig).toMatch(
            new RegExp(
                `Host ${stack}-xmldb-1\\n    HostName 10\\.20\\.0\\.\\d+\\n    User debian\\n    ProxyJump ${stack}-web-1`,
            ),
        );
        expect(outputs.sshConfig).toMatch(
            new RegExp(
                `Host ${stack}-xmldb-1-tunnel\\n    HostName 10\\.20\\.0\\.\\d+\\n    User debian\\n    ProxyJump ${stack}-web-1\\n    LocalForward 8984 127\\.0\\.0\\.1:8080\\n`,
            ),
        );
        // Each researcher's own lines: the sandbox host through their own jump account.
        expect(outputs.researcherSshConfig).toEqual({
            alice: expect.stringMatching(
                new RegExp(
                    `^Host ${stack}-sandbox-1\\n    HostName 10\\.20\\.0\\.\\d+\\n    User alice\\n    ProxyJump alice@203\\.0\\.113\\.10\\n$`,
                ),
            ),
        });
        // BaseX is not public: its admin URL is the tunnel's local end.
        expect(outputs.endpoints).toMatchObject({
            basexAdmin: "http://localhost:8984/",
            iiif: expect.stringMatching(/\/iiif\/3\/$/),
        });
        expect(JSON.stringify(outputs.endpoints)).not.toMatch(/\/basex\//);
        expect((outputs.quota as { table: string }).table).toMatch(
            /\| vCPU +\| +\d+ \| +\d+ \| +25 \| +25 \|/,
        );
        expect(Object.keys(outputs.dataVolumeSizes as object).sort()).toEqual([
            "app",
            "iiif",
            "sandbox",
            "web",
            "xmldb",
        ]);
    });

    it("keeps its resource inventory (a rename is a replacement: review it)", () => {
        expect(records.map((r) => `${r.type} ${r.name}`).sort()).toMatchSnapshot();
    });
});

describe("guards at program level", () => {
    it("refuses to shrink a deployed data volume before creating anything", async () => {
        await expect(runProgram("prod", {}, { dataVolumeSizes: { iiif: 800 } })).rejects.toThrow(
            /ouvroir:roles\.iiif\.dataVolumeGb is 500 but the deployed iiif data volume has 800 GB/,
        );
    });
    it("refuses to shrink below the volume's size in the cloud (grown by hand), before creating anything", async () => {
        const before = {
            dataVolumeSizes: { iiif: 500 },
            dataVolumeIds: { iiif: "vol-iiif" },
            dataVolumeNames: { iiif: "prod-iiif-data" },
        };
        const records: Registration[] = [];
        const grown = { "prod-iiif-data": { id: "vol-iiif", size: 900 } };
        await expect(runProgram("prod", {}, before, records, grown)).rejects.toThrow(
            /ouvroir:roles\.iiif\.dataVolumeGb is 500 but the deployed iiif data volume has 900 GB in the cloud \(the last up recorded 500/,
        );
        expect(records).toEqual([]);
        // Another volume under that name (not the recorded id) is not taken for ours.
        const other = { "prod-iiif-data": { id: "vol-other", size: 900 } };
        const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
        await expect(runProgram("prod", {}, before, [], other)).resolves.toBeDefined();
        expect(String(warn.mock.calls[0]?.[0])).toContain(
            'could not read the iiif data volume "prod-iiif-data" from the cloud (found vol-other, not vol-iiif): the shrink guard compares with the size the last up recorded',
        );
        warn.mockRestore();
        // Same size in the cloud: nothing to refuse.
        const same = { "prod-iiif-data": { id: "vol-iiif", size: 500 } };
        await expect(runProgram("prod", {}, before, [], same)).resolves.toBeDefined();
    });
    it("records each data volume's id and name for that lookup", async () => {
        const { outputs } = await runProgram("prod");
        expect(outputs.dataVolumeNames).toEqual({
            web: "prod-web-data",
            xmldb: "prod-xmldb-data",
            iiif: "prod-iiif-data",
            app: "prod-app-data",
            sandbox: "prod-sandbox-data",
        });
        expect(Object.keys(outputs.dataVolumeIds as object)).toHaveLength(5);
    });
    it("refuses to replace a data volume by a type change, before creating anything", async () => {
        const deployed = { dataVolumeTypes: { xmldb: "volumes-ec" } };
        await expect(runProgram("prod", {}, { deployedSettings: deployed })).rejects.toThrow(
            /ouvroir:roles\.xmldb\.dataVolumeType is "volumes-ssd" but the deployed xmldb data volume is "volumes-ec"/,
        );
    });
    it("records the settings it guards in the deployedSettings output", async () => {
        const { outputs } = await runProgram("prod");
        expect(outputs.deployedSettings).toMatchObject({
            privateCidr: "10.30.0.0/24",
            dataVolumeTypes: { xmldb: "volumes-ssd", iiif: "volumes-ec" },
        });
    });
    it("refuses a secret stored in plain text, naming the command, before creating anything", async () => {
        const key =
            "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----";
        const err = await runProgram("prod", { sshPrivateKey: key }).catch((e: Error) => e);
        expect(String(err)).toContain(
            "ouvroir:sshPrivateKey is stored in plain text in Pulumi.prod.yaml (and so in git): run `pulumi config set --secret ouvroir:sshPrivateKey <value> -s prod`",
        );
        expect(String(err)).not.toContain("not-a-real-key");
    });
    it("refuses world-open SSH in prod before creating anything", async () => {
        await expect(runProgram("prod", { adminCidrs: ["0.0.0.0/0"] })).rejects.toThrow(
            /opens SSH to the whole Internet/,
        );
    });
    it("a grown volume is just a bigger size on the same resource", async () => {
        const { records } = await runProgram(
            "prod",
            {
                roles: {
                    web: { flavor: "p2-3gb" },
                    xmldb: { flavor: "p4-7.5gb", dataVolumeGb: 80 },
                    iiif: { flavor: "p4-7.5gb", dataVolumeGb: 500 },
                    app: { flavor: "p4-7.5gb" },
                    sandbox: { flavor: "p2-3.75gb", dataVolumeGb: 200 },
                },
            },
            { dataVolumeSizes: { xmldb: 50 } },
        );
        const xmldb = byType(records, "openstack:blockstorage/volume:Volume").find(
            (r) => r.name === "xmldb-data",
        ) as Registration;
        expect((await resolved(xmldb)).size).toBe(80);
    });
});
