/**
 * The shared mechanics of every role VM: security group and rules, a port on the private subnet,
 * an instance booting from a volume, a data volume and its attachment for stateful roles, and a
 * floating IP for the public role. A role is its spec (components/roles/): this file names none.
 */
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { instanceName, roleResourceName, volumeSerial } from "./naming";
import { RoleName, RoleSpec, SQL_PORTS, publicRole, rolePorts } from "./roles";
import { UserDataInput, renderUserData } from "./userData";
import { PET_IGNORED_PROPERTIES, dataOptions, expandRules, instanceOptions } from "./vmRules";

/** What a role's user data needs besides what the component knows (role, host name, volume). */
export type RoleUserData = Omit<UserDataInput, "role" | "hostname" | "dataVolumeSerial">;

export interface RoleVmArgs {
    /** Stack name: prefix of physical names (`dev-xmldb-1`). */
    readonly stack: string;
    /** Nova flavor name; validated against the role's minimum by config.ts. */
    readonly flavor: string;
    /** Image to boot (see image.ts). Later changes are ignored for stateful roles. */
    readonly imageId: pulumi.Input<string>;
    /** Size of the boot volume Nova creates from the image, in GB (p flavors have no root disk). */
    readonly bootVolumeGb: number;
    readonly network: {
        readonly networkId: pulumi.Input<string>;
        readonly subnetId: pulumi.Input<string>;
        /** The private subnet's CIDR: source of `private` rules. */
        readonly cidr: pulumi.Input<string>;
        /** Security group identifying the bastion (the web server): source of rules from `web`. */
        readonly bastionGroupId: pulumi.Input<string>;
        /** Member security groups of the other roles that rules accept (PrivateNetwork.clientGroupIds). */
        readonly clientGroupIds?: Partial<Record<RoleName, pulumi.Input<string>>>;
        /** Floating IP pool (public roles only). */
        readonly externalNetworkName: pulumi.Input<string>;
        /** What the floating IP association waits for (PrivateNetwork.routeReady). */
        readonly routeReady?: pulumi.Resource[];
    };
    /** Sources of `admin` rules (SSH to the bastion). */
    readonly adminCidrs: readonly string[];
    /** Sources of `researchers` rules (the researchers' SSH to the bastion). Default: none. */
    readonly researcherCidrs?: readonly string[];
    /** The stack's deployed roles: a rule from a role that is not deployed is left out. Default: all. */
    readonly deployedRoles?: readonly RoleName[];
    /** The app role's SQL engine decides the port its `sql` rule opens. Default: mariadb. */
    readonly sqlEngine?: keyof typeof SQL_PORTS;
    /** Stateful roles: the data volume. Required exactly when the role is stateful. */
    readonly dataVolume?: {
        readonly sizeGb: number;
        readonly volumeType: string;
        /** Adopt (import) this existing Cinder volume instead of creating one. */
        readonly existingId?: string;
    };
    /** The rest of the role's cloud-init input; may hold outputs of other resources. */
    readonly userData: pulumi.Input<RoleUserData>;
    /** Protect and retain the data volume and floating IP (prod). Default: true. */
    readonly protectData?: boolean;
    /**
     * Rebuild on purpose: take the current template and image, which a stateful role otherwise
     * ignores. Default: false.
     */
    readonly rebuild?: boolean;
}

// The pure rules RoleVm applies (resource options, security-group rules): vmRules.ts.
export { PET_IGNORED_PROPERTIES, dataOptions, expandRules, instanceOptions };

export class RoleVm extends pulumi.ComponentResource {
    /** Host name and instance name (`dev-web-1`). */
    public readonly hostname: string;
    public readonly privateIp: pulumi.Output<string>;
    /** The floating IP (public role only). */
    public readonly publicIp?: pulumi.Output<string>;
    public readonly instanceId: pulumi.Output<string>;
    public readonly securityGroupId: pulumi.Output<string>;
    public readonly dataVolumeId?: pulumi.Output<string>;
    /** The data volume's name in Cinder (an adopted volume keeps its own). */
    public readonly dataVolumeName?: pulumi.Output<string>;
    public readonly dataVolumeGb?: number;
    /** Everything the VM's cloud-init was rendered from; day-2 renders its mutable part from it. */
    public readonly userDataInput: pulumi.Output<UserDataInput>;

    constructor(
        name: string,
        spec: RoleSpec,
        args: RoleVmArgs,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super(spec.typeToken, name, {}, opts);
        const parent = { parent: this };
        if (spec.stateful !== (args.dataVolume !== undefined)) {
            throw new Error(
                `${name}: the ${spec.name} role is ${spec.stateful ? "stateful and needs" : "stateless and takes no"} dataVolume`,
            );
        }
        const protectData = args.protectData ?? true;
        this.hostname = instanceName(args.stack, spec.name);
        const physical = (purpose: string): string =>
            roleResourceName(args.stack, spec.name, purpose);

        const sg = new openstack.networking.SecGroup(
            `${name}-sg`,
            { name: physical("sg"), description: `${spec.name}: ${spec.description}` },
            parent,
        );
        const groupOf = (role: RoleName): pulumi.Input<string> => {
            const id =
                role === publicRole()
                    ? args.network.bastionGroupId
                    : args.network.clientGroupIds?.[role];
            if (id === undefined)
                throw new Error(`${name}: no member security group for role ${role}`);
            return id;
        };
        for (const { suffix, rule, ethertype, source } of expandRules(
            rolePorts(spec, args.sqlEngine ?? "mariadb"),
            { admin: args.adminCidrs, researchers: args.researcherCidrs ?? [] },
            args.deployedRoles,
        )) {
            // Descriptions as before sources were roles ("ssh from bastion", "cantaloupe from web"):
            // a changed description would replace the rule.
            const from =
                "role" in source
                    ? source.role === publicRole() && rule.name === "ssh"
                        ? "bastion"
                        : source.role
                    : rule.from;
            new openstack.networking.SecGroupRule(
                `${name}-${suffix}`,
                {
                    securityGroupId: sg.id,
                    description: `${rule.name} from ${typeof from === "string" ? from : "roles"}`,
                    direction: "ingress",
                    ethertype,
                    protocol: "tcp",
                    portRangeMin: rule.port,
                    portRangeMax: rule.portMax ?? rule.port,
                    ...("role" in source
                        ? { remoteGroupId: groupOf(source.role) }
                        : { remoteIpPrefix: source.cidr }),
                },
                // Neutron refuses a second rule with the same port and source: delete first.
                { ...parent, deleteBeforeReplace: true },
            );
        }

        const port = new openstack.networking.Port(
            `${name}-port`,
            {
                name: physical("port"),
                networkId: args.network.networkId,
                fixedIps: [{ subnetId: args.network.subnetId }],
                // The role's own group, and the group that names it as a client of other roles.
                securityGroupIds: [
                    sg.id,
                    ...(spec.public ? [args.network.bastionGroupId] : []),
                    ...(!spec.public && args.network.clientGroupIds?.[spec.name] !== undefined
                        ? [args.network.clientGroupIds[spec.name] as pulumi.Input<string>]
                        : []),
                ],
                adminStateUp: true,
            },
            parent,
        );

        let volume: openstack.blockstorage.Volume | undefined;
        if (args.dataVolume) {
            volume = new openstack.blockstorage.Volume(
                `${name}-data`,
                {
                    name: physical("data"),
                    description: `${spec.name} data (${spec.dataMountPoint}) of stack ${args.stack}`,
                    size: args.dataVolume.sizeGb,
                    volumeType: args.dataVolume.volumeType,
                    enableOnlineResize: true,
                },
                { ...parent, ...dataOptions(protectData, args.dataVolume.existingId) },
            );
        }

        this.userDataInput = pulumi
            .all([pulumi.output(args.userData), volume ? volume.id : pulumi.output(undefined)])
            .apply(([input, volumeId]): UserDataInput => ({
                ...(input as RoleUserData),
                role: spec.name,
                hostname: this.hostname,
                dataVolumeSerial: volumeId ? volumeSerial(volumeId) : undefined,
            }));
        const userData = this.userDataInput.apply(renderUserData);

        const instance = new openstack.compute.Instance(
            `${name}-vm`,
            {
                name: this.hostname,
                flavorName: args.flavor,
                blockDevices: [
                    {
                        sourceType: "image",
                        uuid: args.imageId,
                        destinationType: "volume",
                        volumeSize: args.bootVolumeGb,
                        bootIndex: 0,
                        deleteOnTermination: true,
                    },
                ],
                networks: [{ port: port.id }],
                userData,
                metadata: { "ouvroir-role": spec.name, "ouvroir-stack": args.stack },
            },
            { ...parent, ...instanceOptions(spec, args.rebuild ?? false) },
        );

        if (volume) {
            new openstack.compute.VolumeAttach(
                `${name}-data-attach`,
                { instanceId: instance.id, volumeId: volume.id },
                { ...parent, deleteBeforeReplace: true },
            );
            this.dataVolumeId = volume.id;
            this.dataVolumeName = volume.name;
            this.dataVolumeGb = args.dataVolume?.sizeGb;
        }

        if (spec.public) {
            const fip = new openstack.networking.FloatingIp(
                `${name}-fip`,
                {
                    pool: args.network.externalNetworkName,
                    description: `${this.hostname} public address`,
                },
                { ...parent, ...dataOptions(protectData) },
            );
            new openstack.networking.FloatingIpAssociate(
                `${name}-fip-assoc`,
                { floatingIp: fip.address, portId: port.id },
                { ...parent, dependsOn: args.network.routeReady ?? [] },
            );
            this.publicIp = fip.address;
        }

        this.privateIp = port.allFixedIps.apply((ips) => ips[0] ?? "");
        this.instanceId = instance.id;
        this.securityGroupId = sg.id;
        this.registerOutputs({
            hostname: this.hostname,
            privateIp: this.privateIp,
            publicIp: this.publicIp,
            dataVolumeId: this.dataVolumeId,
        });
    }
}
