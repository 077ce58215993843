import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { stackResourceName } from "./naming";
import { RoleName } from "./roles";

export interface PrivateNetworkArgs {
    /** Stack name, prefix of every physical name (`dev-net`). */
    readonly stack: string;
    /** CIDR of the subnet created for the stack. Ignored with `existing` (the subnet's own CIDR is used). */
    readonly cidr: string;
    /** DNS servers handed out by the subnet's DHCP. */
    readonly dnsServers: readonly string[];
    /** Name of the external network; default: the cloud's one network with `router:external`. */
    readonly externalNetwork?: string;
    /**
     * Use the project's existing network and subnet (Alliance projects come with
     * `def-<pi>-network` and a router) instead of creating network, subnet and router.
     */
    readonly existing?: { readonly networkId: string; readonly subnetId: string };
    /**
     * Roles, other than the web server, that other roles accept traffic from (roles.ts
     * `clientRoles`): each gets a member security group, which its VM's port joins.
     */
    readonly clientRoles?: readonly RoleName[];
}

/**
 * The private zone of a stack: every VM has a port on this subnet and no public address; the
 * public zone is only the web server's floating IP. Also owns the "bastion" security group: its
 * one member (the web server's port) is what private roles accept SSH and proxied traffic from.
 */
export class PrivateNetwork extends pulumi.ComponentResource {
    public readonly networkId: pulumi.Output<string>;
    public readonly subnetId: pulumi.Output<string>;
    public readonly cidr: pulumi.Output<string>;
    /** Name of the external network: the pool floating IPs come from. */
    public readonly externalNetworkName: pulumi.Output<string>;
    public readonly externalNetworkId: pulumi.Output<string>;
    /** Security group whose members are trusted as the bastion / reverse proxy. */
    public readonly bastionGroupId: pulumi.Output<string>;
    /** Member security group of each client role (no rules: rules name it as their source). */
    public readonly clientGroupIds: Partial<Record<RoleName, pulumi.Output<string>>> = {};
    /**
     * What a floating IP association must wait for: the subnet's router interface (Neutron
     * refuses to associate while the subnet has no route to the external network). None with an
     * existing network, whose router is the project's.
     */
    public readonly routeReady: pulumi.Resource[] = [];

    constructor(name: string, args: PrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ouvroir:network:PrivateNetwork", name, {}, opts);
        const parent = { parent: this };

        const external = openstack.networking.getNetworkOutput(
            args.externalNetwork ? { name: args.externalNetwork } : { external: true },
            parent,
        );
        this.externalNetworkName = external.apply((n) => n.name ?? "");
        this.externalNetworkId = external.id;

        if (args.existing) {
            this.networkId = pulumi.output(args.existing.networkId);
            this.subnetId = pulumi.output(args.existing.subnetId);
            this.cidr = openstack.networking
                .getSubnetOutput({ subnetId: args.existing.subnetId }, parent)
                .cidr.apply((c) => c ?? "");
        } else {
            const network = new openstack.networking.Network(
                `${name}-net`,
                { name: stackResourceName(args.stack, "net"), adminStateUp: true },
                parent,
            );
            const subnet = new openstack.networking.Subnet(
                `${name}-subnet`,
                {
                    name: stackResourceName(args.stack, "subnet"),
                    networkId: network.id,
                    cidr: args.cidr,
                    ipVersion: 4,
                    enableDhcp: true,
                    dnsNameservers: [...args.dnsServers],
                },
                parent,
            );
            const router = new openstack.networking.Router(
                `${name}-router`,
                { name: stackResourceName(args.stack, "router"), externalNetworkId: external.id },
                parent,
            );
            this.routeReady.push(
                new openstack.networking.RouterInterface(
                    `${name}-router-if`,
                    { routerId: router.id, subnetId: subnet.id },
                    parent,
                ),
            );
            this.networkId = network.id;
            this.subnetId = subnet.id;
            this.cidr = subnet.cidr.apply((c) => c ?? args.cidr);
        }

        const bastion = new openstack.networking.SecGroup(
            `${name}-bastion`,
            {
                name: stackResourceName(args.stack, "bastion"),
                description: "Members (the web server) may SSH to and proxy to the private VMs",
            },
            parent,
        );
        this.bastionGroupId = bastion.id;
        for (const role of args.clientRoles ?? []) {
            this.clientGroupIds[role] = new openstack.networking.SecGroup(
                `${name}-client-${role}`,
                {
                    name: stackResourceName(args.stack, `client-${role}`),
                    description: `Members (the ${role} VM) may reach the ports other roles open to ${role}`,
                },
                parent,
            ).id;
        }

        this.registerOutputs({
            networkId: this.networkId,
            subnetId: this.subnetId,
            cidr: this.cidr,
            bastionGroupId: this.bastionGroupId,
            clientGroupIds: this.clientGroupIds,
        });
    }
}
