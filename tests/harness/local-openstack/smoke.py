#!/usr/bin/python3
"""Smoke test of the local OpenStack as the demo user: the API calls the Pulumi program relies
on, in one openstacksdk session, each timed, then everything it made is deleted.

Proves the APIs accept them (port with a security group, boot from volume on a p flavor, a
second volume attached then grown while attached, a floating IP on a port). Does NOT prove a
guest sees any of it: the hypervisor is fake.
Usage: OS_CLOUD=ouvroir-local smoke.py [--keep]
"""

import argparse
import os
import sys
import time

import openstack

from oslib import detach_volume

PREFIX = "smoke"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--keep", action="store_true", help="leave the resources for inspection")
    p.add_argument("--flavor", default="p2-3gb")
    p.add_argument("--image", default="Debian-13-Trixie-x64-2026-11")
    p.add_argument("--external-network", default="Public-Network")
    args = p.parse_args()

    conn = openstack.connect(cloud=os.environ.get("OS_CLOUD", "ouvroir-local"))
    made = []  # (kind, resource) in creation order, deleted in reverse
    timings = []

    def step(name, fn):
        t0 = time.monotonic()
        result = fn()
        timings.append((name, time.monotonic() - t0))
        print(f"  {name}: {timings[-1][1]:.1f}s", flush=True)
        return result

    def cleanup():
        for kind, res in reversed(made):
            try:
                if kind == "attachment":
                    server, volume = res
                    detach_volume(conn, server, volume, wait=120)
                elif kind == "router_interface":
                    router, subnet = res
                    conn.network.remove_interface_from_router(router, subnet_id=subnet.id)
                elif kind == "server":
                    conn.compute.delete_server(res)
                    conn.compute.wait_for_delete(res, wait=120)
                elif kind == "volume":
                    conn.block_storage.delete_volume(res)
                    conn.block_storage.wait_for_delete(res, wait=120)
                else:
                    getattr(conn.network, f"delete_{kind}")(res)
            except Exception as e:  # noqa: BLE001 - report and keep cleaning
                print(f"  cleanup of {kind} failed: {e}", file=sys.stderr)

    try:
        ext = conn.network.find_network(args.external_network)
        flavor = conn.compute.find_flavor(args.flavor)
        image = conn.image.find_image(args.image)

        def network():
            net = conn.network.create_network(name=f"{PREFIX}-net")
            made.append(("network", net))
            subnet = conn.network.create_subnet(
                name=f"{PREFIX}-subnet", network_id=net.id, ip_version=4, cidr="10.20.0.0/24"
            )
            made.append(("subnet", subnet))
            router = conn.network.create_router(
                name=f"{PREFIX}-router", external_gateway_info={"network_id": ext.id}
            )
            made.append(("router", router))
            conn.network.add_interface_to_router(router, subnet_id=subnet.id)
            made.append(("router_interface", (router, subnet)))
            return net, subnet

        net, subnet = step("network, subnet, router with gateway", network)

        def secgroup_port():
            sg = conn.network.create_security_group(name=f"{PREFIX}-sg")
            made.append(("security_group", sg))
            conn.network.create_security_group_rule(
                security_group_id=sg.id,
                direction="ingress",
                protocol="tcp",
                port_range_min=22,
                port_range_max=22,
                remote_ip_prefix="198.51.100.0/24",
                ethertype="IPv4",
            )
            port = conn.network.create_port(
                name=f"{PREFIX}-port", network_id=net.id, security_group_ids=[sg.id]
            )
            made.append(("port", port))
            return port

        port = step("security group, rule, port with the group", secgroup_port)

        def server():
            srv = conn.compute.create_server(
                name=f"{PREFIX}-1",
                flavor_id=flavor.id,
                networks=[{"port": port.id}],
                block_device_mapping_v2=[
                    {
                        "boot_index": 0,
                        "uuid": image.id,
                        "source_type": "image",
                        "destination_type": "volume",
                        "volume_size": 20,
                        "volume_type": "volumes-ssd",
                        "delete_on_termination": True,
                    }
                ],
            )
            made.append(("server", srv))
            return conn.compute.wait_for_server(srv, wait=300)

        srv = step(f"boot-from-volume server on {args.flavor} ACTIVE", server)

        def data_volume():
            vol = conn.block_storage.create_volume(
                name=f"{PREFIX}-data", size=10, volume_type="volumes-ec"
            )
            made.append(("volume", vol))
            conn.block_storage.wait_for_status(vol, "available", wait=120)
            conn.compute.create_volume_attachment(srv, volume_id=vol.id)
            made.append(("attachment", (srv, vol.id)))
            return conn.block_storage.wait_for_status(vol, "in-use", wait=120)

        vol = step("second volume created and attached", data_volume)

        def extend():
            # Online extend of an in-use volume needs block-storage microversion 3.42.
            conn.block_storage.post(
                f"/volumes/{vol.id}/action",
                json={"os-extend": {"new_size": 15}},
                microversion="3.42",
            ).raise_for_status()
            for _ in range(120):
                v = conn.block_storage.get_volume(vol.id)
                if v.size == 15 and v.status == "in-use":
                    return v
                time.sleep(1)
            raise RuntimeError(f"volume did not grow: size {v.size}, status {v.status}")

        step("extend attached volume 10 -> 15 GB (microversion 3.42)", extend)

        def floating_ip():
            fip = conn.network.create_ip(floating_network_id=ext.id, port_id=port.id)
            made.append(("ip", fip))
            for _ in range(60):
                fip = conn.network.get_ip(fip.id)
                if fip.status == "ACTIVE":
                    return fip
                time.sleep(1)
            raise RuntimeError(f"floating IP status {fip.status}")

        fip = step("floating IP on the port ACTIVE", floating_ip)
        print(f"  server {srv.id} ACTIVE, floating IP {fip.floating_ip_address}")
    finally:
        if not args.keep:
            step("cleanup", cleanup)
    total = sum(t for _, t in timings)
    print(f"smoke test passed in {total:.1f}s")


if __name__ == "__main__":
    main()
