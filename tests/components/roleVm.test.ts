// Components under recorded mocks: exact children, names, key inputs and options of each role VM.
// Does not prove that OpenStack accepts these inputs (tests/integration) or that the VM works (tests/vm).
import { DEFAULTS } from "../../config";
import { ROLES, ROLE_NAMES, RoleName } from "../../components/roles";
import {
    PET_IGNORED_PROPERTIES,
    RoleVmArgs,
    dataOptions,
    instanceOptions,
} from "../../components/roleVm";
import { ROLE_CLASSES } from "../../components/roleComponents";
import { Registration, byType, installMocks, resolved, runStack, valueOf } from "../harness/mocks";

const T = {
    sg: "openstack:networking/secGroup:SecGroup",
    rule: "openstack:networking/secGroupRule:SecGroupRule",
    port: "openstack:networking/port:Port",
    volume: "openstack:blockstorage/volume:Volume",
    instance: "openstack:compute/instance:Instance",
    attach: "openstack:compute/volumeAttach:VolumeAttach",
    fip: "openstack:networking/floatingIp:FloatingIp",
    fipAssoc: "openstack:networking/floatingIpAssociate:FloatingIpAssociate",
};

function args(role: RoleName, over: Partial<RoleVmArgs> = {}): RoleVmArgs {
    return {
        stack: "dev",
        flavor: ROLES[role].defaultFlavor,
        imageId: "image-id",
        bootVolumeGb: 20,
        network: {
            networkId: "net-id",
            subnetId: "subnet-id",
            cidr: "10.20.0.0/24",
            bastionGroupId: "bastion-sg-id",
            clientGroupIds: { app: "client-app-sg-id" },
            externalNetworkName: "Public-Network",
        },
        adminCidrs: ["132.204.0.0/16", "2001:db8::/32"],
        dataVolume: ROLES[role].stateful ? { sizeGb: 42, volumeType: "volumes-ssd" } : undefined,
        userData: {
            adminUser: "debian",
            sshAuthorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey op"],
            publicHostname: "ouvroir.example.org",
            sites: [],
            upstreams: {},
            researchers: [],
            sqlEngine: "mariadb",
            packageSource: "debian",
            downloads: DEFAULTS.downloads,
        },
        protectData: true,
        ...over,
    };
}

const built = new Map<string, Promise<Registration[]>>();

/** Builds a role's component under mocks; the default build of each role is made once per file. */
function build(role: RoleName, over: Partial<RoleVmArgs> = {}): Promise<Registration[]> {
    const key = Object.keys(over).length === 0 ? role : "";
    const cached = key ? built.get(key) : undefined;
    if (cached) return cached;
    const run = (async (): Promise<Registration[]> => {
        const records: Registration[] = [];
        installMocks("dev", { previousOutputs: {} }, records);
        await runStack(records, () => {
            new ROLE_CLASSES[role](role, args(role, over));
        });
        return records;
    })();
    if (key) built.set(key, run);
    return run;
}

async function ruleLines(records: Registration[]): Promise<string[]> {
    const lines: string[] = [];
    for (const r of byType(records, T.rule)) {
        const i = await resolved(r);
        const from = i.remoteGroupId ? `group:${i.remoteGroupId}` : String(i.remoteIpPrefix);
        const range =
            i.portRangeMin === i.portRangeMax
                ? `${i.portRangeMin}`
                : `${i.portRangeMin}-${i.portRangeMax}`;
        lines.push(`${r.name} ${i.direction} ${i.protocol} ${range} ${i.ethertype} ${from}`);
    }
    return lines;
}

describe("WebServerVM", () => {
    it("has exactly these children, all parented to the component", async () => {
        const records = await build("web");
        const component = records[0];
        expect(component?.type).toBe("ouvroir:vm:WebServerVM");
        expect(records.slice(1).map((r) => `${r.type} ${r.name}`)).toEqual([
            `${T.sg} web-sg`,
            `${T.rule} web-http-v4`,
            `${T.rule} web-http-v6`,
            `${T.rule} web-https-v4`,
            `${T.rule} web-https-v6`,
            `${T.rule} web-ssh-132-204-0-0-16`,
            `${T.rule} web-ssh-2001-db8---32`,
            `${T.port} web-port`,
            `${T.volume} web-data`,
            `${T.instance} web-vm`,
            `${T.attach} web-data-attach`,
            `${T.fip} web-fip`,
            `${T.fipAssoc} web-fip-assoc`,
        ]);
        for (const r of records.slice(1)) expect(r.opts.parent).toBeDefined();
    });

    it("opens 80/443 to the world and SSH only to the admin CIDRs", async () => {
        expect(await ruleLines(await build("web"))).toEqual([
            "web-http-v4 ingress tcp 80 IPv4 0.0.0.0/0",
            "web-http-v6 ingress tcp 80 IPv6 ::/0",
            "web-https-v4 ingress tcp 443 IPv4 0.0.0.0/0",
            "web-https-v6 ingress tcp 443 IPv6 ::/0",
            "web-ssh-132-204-0-0-16 ingress tcp 22 IPv4 132.204.0.0/16",
            "web-ssh-2001-db8---32 ingress tcp 22 IPv6 2001:db8::/32",
        ]);
    });

    it("joins the bastion group, gets a floating IP on its port, and an explicit host name", async () => {
        const records = await build("web");
        const port = await resolved(byType(records, T.port)[0] as Registration);
        expect(port).toMatchObject({
            name: "dev-web-port",
            networkId: "net-id",
            fixedIps: [{ subnetId: "subnet-id" }],
        });
        expect(port.securityGroupIds).toEqual(["web-sg-id", "bastion-sg-id"]);
        const fip = await resolved(byType(records, T.fip)[0] as Registration);
        expect(fip.pool).toBe("Public-Network");
        expect(await resolved(byType(records, T.fipAssoc)[0] as Registration)).toEqual({
            floatingIp: "203.0.113.10",
            portId: "web-port-id",
        });
        const vm = await resolved(byType(records, T.instance)[0] as Registration);
        expect(vm).toMatchObject({
            name: "dev-web-1",
            flavorName: "p2-3gb",
            networks: [{ port: "web-port-id" }],
            blockDevices: [
                {
                    sourceType: "image",
                    uuid: "image-id",
                    destinationType: "volume",
                    volumeSize: 20,
                    bootIndex: 0,
                    deleteOnTermination: true,
                },
            ],
        });
        expect(String(vm.userData)).toMatch(/^#cloud-config\n/);
    });
});

describe.each(ROLE_NAMES.filter((r) => r !== "web"))("private role %s", (role) => {
    it("has no floating IP, one port with its own group (and its client group), and SSH from the bastion group only", async () => {
        const records = await build(role);
        expect(byType(records, T.fip)).toHaveLength(0);
        expect(byType(records, T.fipAssoc)).toHaveLength(0);
        const port = await resolved(byType(records, T.port)[0] as Registration);
        expect(port.securityGroupIds).toEqual(
            role === "app" ? [`${role}-sg-id`, "client-app-sg-id"] : [`${role}-sg-id`],
        );
        const lines = await ruleLines(records);
        expect(lines.filter((l) => / 22 /.test(l))).toEqual([
            `${role}-ssh ingress tcp 22 IPv4 group:bastion-sg-id`,
        ]);
        expect(lines.join("\n")).not.toMatch(/0\.0\.0\.0\/0|::\/0|132\.204/);
    });

    it("opens exactly the role's service ports, each to the roles that use it, never to the subnet", async () => {
        const lines = await ruleLines(await build(role));
        const expected: Record<string, string[]> = {
            xmldb: [
                "xmldb-ssh ingress tcp 22 IPv4 group:bastion-sg-id",
                "xmldb-basex-http ingress tcp 8080 IPv4 group:bastion-sg-id",
                "xmldb-basex-server ingress tcp 1984 IPv4 group:client-app-sg-id",
                "xmldb-node-exporter ingress tcp 9100 IPv4 group:bastion-sg-id",
            ],
            iiif: [
                "iiif-ssh ingress tcp 22 IPv4 group:bastion-sg-id",
                "iiif-cantaloupe ingress tcp 8182 IPv4 group:bastion-sg-id",
                "iiif-manifests ingress tcp 8183 IPv4 group:bastion-sg-id",
                "iiif-node-exporter ingress tcp 9100 IPv4 group:bastion-sg-id",
            ],
            app: [
                "app-ssh ingress tcp 22 IPv4 group:bastion-sg-id",
                "app-apps ingress tcp 8000-8099 IPv4 group:bastion-sg-id",
                "app-sql ingress tcp 3306 IPv4 group:bastion-sg-id",
                "app-node-exporter ingress tcp 9100 IPv4 group:bastion-sg-id",
            ],
            sandbox: [
                "sandbox-ssh ingress tcp 22 IPv4 group:bastion-sg-id",
                "sandbox-sandbox-web ingress tcp 8100-8199 IPv4 group:bastion-sg-id",
                "sandbox-node-exporter ingress tcp 9100 IPv4 group:bastion-sg-id",
            ],
        };
        expect(lines).toEqual(expected[role]);
        expect(lines.join("\n")).not.toContain("10.20.0.0/24");
    });

    it("leaves a port closed when the role that uses it is not deployed", async () => {
        const lines = await ruleLines(await build(role, { deployedRoles: ["web", role] }));
        expect(lines.filter((l) => /1984/.test(l))).toEqual([]);
        expect(lines.filter((l) => / 22 /.test(l))).toHaveLength(1);
    });
});

describe.each(ROLE_NAMES)("data of %s", (role) => {
    it("lives on a separate, online-resizable, protected volume attached to the VM", async () => {
        const records = await build(role);
        const [volume] = byType(records, T.volume);
        expect(volume?.name).toBe(`${role}-data`);
        expect(await resolved(volume as Registration)).toEqual({
            name: `dev-${ROLES[role].short}-data`,
            description: expect.stringContaining(ROLES[role].dataMountPoint),
            size: 42,
            volumeType: "volumes-ssd",
            enableOnlineResize: true,
        });
        expect(volume?.opts).toMatchObject({ protect: true, retainOnDelete: true });
        const attach = await resolved(byType(records, T.attach)[0] as Registration);
        expect(attach).toEqual({
            instanceId: `${role}-vm-id`,
            volumeId: expect.stringMatching(/^0f0e0d0c-/),
        });
    });

    it("tells cloud-init the volume's Cinder serial (first 20 characters of its id)", async () => {
        const records = await build(role);
        const id = await valueOf(byType(records, T.attach)[0]?.inputs.volumeId as string);
        const vm = await resolved(byType(records, T.instance)[0] as Registration);
        expect(String(vm.userData)).toContain(id.slice(0, 20));
    });

    it("ignores template and image drift, and is replaced delete-first", async () => {
        const vm = byType(await build(role), T.instance)[0];
        expect(vm?.opts.ignoreChanges).toEqual(PET_IGNORED_PROPERTIES);
        expect((vm?.opts as { deleteBeforeReplace?: boolean }).deleteBeforeReplace).toBe(true);
    });
});

describe("options", () => {
    it("the app role's SQL rule follows the engine", async () => {
        const lines = await ruleLines(await build("app", { sqlEngine: "postgresql" }));
        expect(lines).toContain("app-sql ingress tcp 5432 IPv4 group:bastion-sg-id");
        expect(lines.join("\n")).not.toMatch(/ 3306 /);
    });

    it("rebuild on purpose lifts the drift guard", async () => {
        const vm = byType(await build("xmldb", { rebuild: true }), T.instance)[0];
        expect(vm?.opts.ignoreChanges).toBeUndefined();
        expect(instanceOptions({ stateful: false }, false)).toEqual({ deleteBeforeReplace: true });
    });
    it("dev leaves data unprotected; adoption imports the volume and ignores its name", async () => {
        const records = await build("iiif", {
            protectData: false,
            dataVolume: {
                sizeGb: 100,
                volumeType: "volumes-ec",
                existingId: "3f1c2d4e-0000-4000-8000-000000000001",
            },
        });
        const volume = byType(records, T.volume)[0];
        expect(volume?.opts).toMatchObject({
            protect: false,
            retainOnDelete: false,
            import: "3f1c2d4e-0000-4000-8000-000000000001",
            ignoreChanges: ["name", "description", "metadata"],
        });
        expect(dataOptions(true)).toEqual({ protect: true, retainOnDelete: true });
    });
    it("refuses a stateful role without a data volume", async () => {
        await expect(build("xmldb", { dataVolume: undefined })).rejects.toThrow(
            /stateful and needs dataVolume/,
        );
    });
});
