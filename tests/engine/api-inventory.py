"""What the local OpenStack's demo project holds, as JSON on stdout: the engine tests count and
compare it before and after each step (tests/engine/engine.test.ts).

    /usr/bin/python3 tests/engine/api-inventory.py [--create-volume NAME SIZE TYPE | --extend-volume ID SIZE
                                                    | --set-cores N]
"""
import json
import time
import sys

import openstack


def inventory(conn):
    servers = {}
    for s in conn.compute.servers():
        servers[s.id] = {
            "name": s.name,
            "flavor": (s.flavor or {}).get("original_name") or (s.flavor or {}).get("name"),
            "status": s.status,
        }
    volumes = {}
    for v in conn.block_storage.volumes():
        volumes[v.id] = {
            "name": v.name,
            "size": v.size,
            "type": v.volume_type,
            "status": v.status,
            "metadata": v.metadata or {},
            "attachedTo": sorted(a["server_id"] for a in (v.attachments or [])),
        }
    return {
        "servers": servers,
        "volumes": volumes,
        "ports": sorted(p.id for p in conn.network.ports(project_id=conn.current_project_id)),
        "floatingIps": sorted(f.floating_ip_address for f in conn.network.ips(project_id=conn.current_project_id)),
        "routers": sorted(r.name for r in conn.network.routers(project_id=conn.current_project_id)),
        "networks": sorted(
            n.name for n in conn.network.networks(project_id=conn.current_project_id) if not n.is_router_external
        ),
        "subnets": sorted(s.name for s in conn.network.subnets(project_id=conn.current_project_id)),
        "securityGroups": sorted(
            g.name for g in conn.network.security_groups(project_id=conn.current_project_id) if g.name != "default"
        ),
    }


def main():
    conn = openstack.connect(cloud="ouvroir-local")
    if len(sys.argv) == 5 and sys.argv[1] == "--create-volume":
        name, size, vtype = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        v = conn.block_storage.create_volume(
            name=name, size=size, volume_type=vtype, metadata={"ouvroir-test": "adopted, keep"}
        )
        conn.block_storage.wait_for_status(v, "available", wait=120)
        print(json.dumps({"id": v.id}))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--extend-volume":
        # As an operator would by hand (Horizon, `openstack volume set --size`): an attached volume
        # is extended online, which Cinder allows from microversion 3.42.
        vid, size = sys.argv[2], int(sys.argv[3])
        conn.block_storage.post(
            f"/volumes/{vid}/action", json={"os-extend": {"new_size": size}}, microversion="3.42"
        ).raise_for_status()
        for _ in range(120):
            v = conn.block_storage.get_volume(vid)
            if v.size == size and v.status in ("in-use", "available"):
                print(json.dumps({"id": v.id, "size": v.size}))
                return
            time.sleep(1)
        sys.exit(f"volume {vid} did not reach {size} GB")
    if len(sys.argv) == 3 and sys.argv[1] == "--set-cores":
        # As the cloud's operators would, when an allocation shrinks: only the admin may.
        admin = openstack.connect(cloud="ouvroir-local-admin")
        admin.set_compute_quotas(conn.current_project_id, cores=int(sys.argv[2]))
        print(json.dumps({"cores": admin.get_compute_quotas(conn.current_project_id).cores}))
        return
    print(json.dumps(inventory(conn), sort_keys=True))


if __name__ == "__main__":
    main()
