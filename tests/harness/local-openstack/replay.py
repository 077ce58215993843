#!/usr/bin/python3
"""Replays a recorded resource plan of the program against a real OpenStack API, without the
Pulumi engine: creates every OpenStack resource with the inputs the program gave it (in
registration order, which is a dependency order), grows each online-resizable volume while it
is attached, then deletes everything in reverse order.

The plan is what tests/integration/replay.test.ts records by running index.ts under Pulumi's
mocks: [{type, name, inputs}], inputs resolved, references to other resources as the mocks'
ids. The mapping from the provider's input names to API fields is this file's, not the
provider's: it proves the cloud accepts the program's values (names, CIDRs, rules, flavors,
volume types, sizes, user data, boot from volume, attachments, floating IPs), not that the
provider sends them the same way. An input this file does not know fails the replay, so a new
kind of input cannot slip through unreplayed.

Usage: OS_CLOUD=ouvroir-local replay.py PLAN.json [--keep]
"""

import argparse
import base64
import json
import os
import re
import sys
import time

import openstack

from oslib import detach_volume

# Ids the test's mocks give to what the program looks up rather than creates.
MOCK_EXTERNAL_NETWORK_ID = "ext-net-id"
MOCK_IMAGE_ID = "debian-13-image-id"
MOCK_FLOATING_ADDRESS = "203.0.113.10"


def mock_volume_id(name):
    # The same formula as tests/harness.ts: Cinder-like UUIDs stable per volume name.
    tail = re.sub(r"[^a-f0-9]", "", name).ljust(12, "0")[:12]
    return f"0f0e0d0c-{len(name):04d}-4000-8000-{tail}"


class Replay:
    def __init__(self, conn, plan, image_pattern):
        self.conn = conn
        self.plan = plan
        self.ids = {}  # mock id -> real id
        self.made = []  # (type, name, real object) in creation order
        self.timings = []
        ext = [n for n in conn.network.networks(is_router_external=True)]
        if not ext:
            sys.exit("no external network")
        self.external = ext[0]
        self.ids[MOCK_EXTERNAL_NETWORK_ID] = ext[0].id
        images = sorted(
            (i for i in conn.image.images() if re.search(image_pattern, i.name or "")),
            key=lambda i: i.created_at,
        )
        if not images:
            sys.exit(f"no image matches {image_pattern}")
        self.ids[MOCK_IMAGE_ID] = images[-1].id

    def ref(self, value):
        if value in self.ids:
            return self.ids[value]
        raise KeyError(f"reference {value!r} to nothing created before it")

    def timed(self, what, fn):
        t0 = time.monotonic()
        result = fn()
        self.timings.append((what, time.monotonic() - t0))
        return result

    # One function per resource type: (inputs) -> created object. `known` lists the inputs each
    # one understands.
    def network(self, i):
        return self.conn.network.create_network(
            name=i["name"], admin_state_up=i.get("adminStateUp", True)
        )

    def subnet(self, i):
        return self.conn.network.create_subnet(
            name=i["name"],
            network_id=self.ref(i["networkId"]),
            cidr=i["cidr"],
            ip_version=i.get("ipVersion", 4),
            enable_dhcp=i.get("enableDhcp", True),
            dns_nameservers=i.get("dnsNameservers", []),
        )

    def router(self, i):
        return self.conn.network.create_router(
            name=i["name"],
            external_gateway_info={"network_id": self.ref(i["externalNetworkId"])},
        )

    def router_interface(self, i):
        router = self.conn.network.get_router(self.ref(i["routerId"]))
        self.conn.network.add_interface_to_router(router, subnet_id=self.ref(i["subnetId"]))
        return (router, self.ref(i["subnetId"]))

    def sec_group(self, i):
        return self.conn.network.create_security_group(
            name=i["name"], description=i.get("description", "")
        )

    def sec_group_rule(self, i):
        attrs = {
            "security_group_id": self.ref(i["securityGroupId"]),
            "direction": i["direction"],
            "ethertype": i["ethertype"],
            "protocol": i.get("protocol"),
            "port_range_min": i.get("portRangeMin"),
            "port_range_max": i.get("portRangeMax"),
            "description": i.get("description", ""),
        }
        if "remoteIpPrefix" in i:
            attrs["remote_ip_prefix"] = i["remoteIpPrefix"]
        if "remoteGroupId" in i:
            attrs["remote_group_id"] = self.ref(i["remoteGroupId"])
        return self.conn.network.create_security_group_rule(**attrs)

    def port(self, i):
        return self.conn.network.create_port(
            name=i["name"],
            network_id=self.ref(i["networkId"]),
            admin_state_up=i.get("adminStateUp", True),
            fixed_ips=[{"subnet_id": self.ref(f["subnetId"])} for f in i.get("fixedIps", [])],
            security_group_ids=[self.ref(g) for g in i.get("securityGroupIds", [])],
        )

    def volume(self, i):
        vol = self.conn.block_storage.create_volume(
            name=i["name"],
            description=i.get("description", ""),
            size=i["size"],
            volume_type=i.get("volumeType"),
        )
        return self.conn.block_storage.wait_for_status(vol, "available", wait=300)

    def instance(self, i):
        flavor = self.conn.compute.find_flavor(i["flavorName"], ignore_missing=False)
        bdm = [
            {
                "uuid": self.ref(b["uuid"]),
                "source_type": b["sourceType"],
                "destination_type": b["destinationType"],
                "volume_size": b.get("volumeSize"),
                "boot_index": b.get("bootIndex"),
                "delete_on_termination": b.get("deleteOnTermination", False),
                **({"volume_type": b["volumeType"]} if "volumeType" in b else {}),
            }
            for b in i.get("blockDevices", [])
        ]
        srv = self.conn.compute.create_server(
            name=i["name"],
            flavor_id=flavor.id,
            block_device_mapping_v2=bdm,
            networks=[{"port": self.ref(n["port"])} for n in i.get("networks", [])],
            metadata=i.get("metadata", {}),
            user_data=base64.b64encode(i.get("userData", "").encode()).decode(),
            **({"key_name": i["keyPair"]} if "keyPair" in i else {}),
        )
        return self.conn.compute.wait_for_server(srv, wait=600)

    def volume_attach(self, i):
        server = self.ref(i["instanceId"])
        volume = self.ref(i["volumeId"])
        self.conn.compute.create_volume_attachment(server, volume_id=volume)
        self.conn.block_storage.wait_for_status(
            self.conn.block_storage.get_volume(volume), "in-use", wait=300
        )
        return (server, volume)

    def floating_ip(self, i):
        net = self.conn.network.find_network(i["pool"], ignore_missing=False)
        return self.conn.network.create_ip(
            floating_network_id=net.id, description=i.get("description", "")
        )

    def floating_ip_associate(self, i):
        fip = self.ref(i["floatingIp"])
        return self.conn.network.update_ip(fip, port_id=self.ref(i["portId"]))

    TYPES = {
        "openstack:networking/network:Network": (network, {"name", "adminStateUp"}),
        "openstack:networking/subnet:Subnet": (
            subnet,
            {"name", "networkId", "cidr", "ipVersion", "enableDhcp", "dnsNameservers"},
        ),
        "openstack:networking/router:Router": (router, {"name", "externalNetworkId"}),
        "openstack:networking/routerInterface:RouterInterface": (
            router_interface,
            {"routerId", "subnetId"},
        ),
        "openstack:networking/secGroup:SecGroup": (sec_group, {"name", "description"}),
        "openstack:networking/secGroupRule:SecGroupRule": (
            sec_group_rule,
            {
                "securityGroupId", "direction", "ethertype", "protocol", "portRangeMin",
                "portRangeMax", "remoteIpPrefix", "remoteGroupId", "description",
            },
        ),
        "openstack:networking/port:Port": (
            port,
            {"name", "networkId", "adminStateUp", "fixedIps", "securityGroupIds"},
        ),
        "openstack:blockstorage/volume:Volume": (
            volume,
            {"name", "description", "size", "volumeType", "enableOnlineResize"},
        ),
        "openstack:compute/instance:Instance": (
            instance,
            {"name", "flavorName", "blockDevices", "networks", "metadata", "userData", "keyPair"},
        ),
        "openstack:compute/volumeAttach:VolumeAttach": (volume_attach, {"instanceId", "volumeId"}),
        "openstack:networking/floatingIp:FloatingIp": (floating_ip, {"pool", "description"}),
        "openstack:networking/floatingIpAssociate:FloatingIpAssociate": (
            floating_ip_associate,
            {"floatingIp", "portId"},
        ),
    }

    def check_known(self):
        problems = []
        for r in self.plan:
            if not r["type"].startswith("openstack:"):
                continue
            if r["type"] not in self.TYPES:
                problems.append(f"{r['type']} ({r['name']}): type not replayed")
                continue
            unknown = set(r["inputs"]) - self.TYPES[r["type"]][1]
            if unknown:
                problems.append(f"{r['type']} {r['name']}: inputs not replayed: {sorted(unknown)}")
        if problems:
            sys.exit("replay.py does not cover the plan:\n  " + "\n  ".join(problems))

    def create_all(self):
        for r in self.plan:
            if r["type"] not in self.TYPES:
                continue
            fn = self.TYPES[r["type"]][0]
            obj = self.timed(f"create {r['name']}", lambda: fn(self, r["inputs"]))
            self.made.append((r["type"], r["name"], obj))
            if r["type"].endswith(":Volume"):
                self.ids[mock_volume_id(r["name"])] = obj.id
            elif r["type"].endswith(":FloatingIp"):
                self.ids[MOCK_FLOATING_ADDRESS] = obj.id
            if hasattr(obj, "id"):
                self.ids[f"{r['name']}-id"] = obj.id
            print(f"  created {r['type'].split(':')[-1]} {r['name']}", flush=True)

    def grow_attached_volumes(self):
        grown = 0
        for r in self.plan:
            if r["type"].endswith(":Volume") and r["inputs"].get("enableOnlineResize"):
                vol_id = self.ids[mock_volume_id(r["name"])]
                new_size = r["inputs"]["size"] + 1

                def extend(vol_id=vol_id, new_size=new_size):
                    self.conn.block_storage.post(
                        f"/volumes/{vol_id}/action",
                        json={"os-extend": {"new_size": new_size}},
                        microversion="3.42",
                    ).raise_for_status()
                    for _ in range(120):
                        v = self.conn.block_storage.get_volume(vol_id)
                        if v.size == new_size and v.status == "in-use":
                            return
                        time.sleep(1)
                    raise RuntimeError(f"{r['name']}: size {v.size}, status {v.status}")

                self.timed(f"extend {r['name']} while attached", extend)
                grown += 1
        print(f"  grew {grown} attached volumes by 1 GB (microversion 3.42)", flush=True)

    def delete_all(self):
        c = self.conn
        failures = []
        for type_, name, obj in reversed(self.made):
            kind = type_.split(":")[-1]
            try:
                if kind == "FloatingIpAssociate":
                    c.network.update_ip(obj, port_id=None)
                elif kind == "FloatingIp":
                    c.network.delete_ip(obj)
                elif kind == "VolumeAttach":
                    server, volume = obj
                    detach_volume(c, server, volume, wait=300)
                elif kind == "Instance":
                    c.compute.delete_server(obj)
                    c.compute.wait_for_delete(obj, wait=300)
                elif kind == "Volume":
                    c.block_storage.delete_volume(obj)
                    c.block_storage.wait_for_delete(obj, wait=300)
                elif kind == "Port":
                    c.network.delete_port(obj)
                elif kind == "SecGroupRule":
                    c.network.delete_security_group_rule(obj)
                elif kind == "SecGroup":
                    c.network.delete_security_group(obj)
                elif kind == "RouterInterface":
                    router, subnet_id = obj
                    c.network.remove_interface_from_router(router, subnet_id=subnet_id)
                elif kind == "Router":
                    c.network.delete_router(obj)
                elif kind == "Subnet":
                    c.network.delete_subnet(obj)
                elif kind == "Network":
                    c.network.delete_network(obj)
            except Exception as e:  # noqa: BLE001 - report every failure, keep deleting
                failures.append(f"delete {kind} {name}: {e}")
        return failures


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("plan")
    p.add_argument("--image-pattern", default="^Debian-13.*x64")
    p.add_argument("--keep", action="store_true", help="leave the resources for inspection")
    args = p.parse_args()
    with open(args.plan) as f:
        plan = json.load(f)
    conn = openstack.connect(cloud=os.environ.get("OS_CLOUD", "ouvroir-local"))
    r = Replay(conn, plan, args.image_pattern)
    r.check_known()
    t0 = time.monotonic()
    failures = []
    ok = False
    try:
        r.timed("create all", r.create_all)
        r.grow_attached_volumes()
        ok = True
    finally:
        created = time.monotonic() - t0
        if not args.keep:
            failures = r.timed("delete all", r.delete_all)
        summary = {
            "resources": len(r.made),
            "createSeconds": round(created, 1),
            "timings": {w: round(s, 1) for w, s in r.timings},
            "deleteFailures": failures,
        }
        print("REPLAY " + json.dumps(summary), flush=True)
    if not ok or failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
