// PrivateNetwork under recorded mocks: what it creates, what it looks up. Does not prove the
// cloud accepts it (tests/integration).
import { PrivateNetwork } from "../../components/privateNetwork";
import {
    EXTERNAL_NETWORK,
    Registration,
    installMocks,
    resolved,
    runStack,
    valueOf,
} from "../harness/mocks";

async function build(
    args: ConstructorParameters<typeof PrivateNetwork>[1],
): Promise<{ records: Registration[]; net: PrivateNetwork }> {
    const records: Registration[] = [];
    installMocks("dev", { previousOutputs: {} }, records);
    let net: PrivateNetwork | undefined;
    await runStack(records, () => {
        net = new PrivateNetwork("network", args);
    });
    return { records, net: net as PrivateNetwork };
}

describe("PrivateNetwork", () => {
    it("creates network, subnet with DNS, router to the external network, and the bastion group", async () => {
        const { records, net } = await build({
            stack: "dev",
            cidr: "10.20.0.0/24",
            dnsServers: ["1.1.1.1"],
        });
        expect(records.map((r) => `${r.type} ${r.name}`)).toEqual([
            "ouvroir:network:PrivateNetwork network",
            "openstack:networking/network:Network network-net",
            "openstack:networking/subnet:Subnet network-subnet",
            "openstack:networking/router:Router network-router",
            "openstack:networking/routerInterface:RouterInterface network-router-if",
            "openstack:networking/secGroup:SecGroup network-bastion",
        ]);
        const subnet = await resolved(records[2] as Registration);
        expect(subnet).toEqual({
            name: "dev-subnet",
            networkId: "network-net-id",
            cidr: "10.20.0.0/24",
            ipVersion: 4,
            enableDhcp: true,
            dnsNameservers: ["1.1.1.1"],
        });
        expect(await resolved(records[3] as Registration)).toEqual({
            name: "dev-router",
            externalNetworkId: EXTERNAL_NETWORK.id,
        });
        expect(await valueOf(net.externalNetworkName)).toBe("Public-Network");
        expect(await valueOf(net.cidr)).toBe("10.20.0.0/24");
    });

    it("uses the project's existing network without creating one", async () => {
        const { records, net } = await build({
            stack: "prod",
            cidr: "10.30.0.0/24",
            dnsServers: [],
            existing: { networkId: "def-net", subnetId: "def-subnet" },
        });
        expect(records.map((r) => r.type)).toEqual([
            "ouvroir:network:PrivateNetwork",
            "openstack:networking/secGroup:SecGroup",
        ]);
        expect(await valueOf(net.networkId)).toBe("def-net");
        // The existing subnet's own CIDR, not the config's.
        expect(await valueOf(net.cidr)).toBe("192.168.17.0/24");
    });
});
