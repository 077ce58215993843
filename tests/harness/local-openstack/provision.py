#!/usr/bin/python3
"""Provisions the local OpenStack through one openstacksdk session per step (not one CLI call
per object: each CLI call costs a second of Python start-up).

  services: service project and users, catalog, clouds.yaml (after Keystone starts)
  demo:     waits for every service, then the demo project, user, quotas, flavors named like
            the Alliance's, a small Debian-named image, the external network, volume types
  inventory: prints, as JSON, what the demo project sees (external networks, images, flavors,
            volume types) and its quotas, for tests that check a stack's config against the cloud
  clean:    deletes everything in the demo project (what a failed test run may leave behind,
            including volumes Pulumi was told to retain), keeping the project and its quotas

Every step finds before it creates, so a rerun changes nothing.
"""

import argparse
import json
import os
import sys
import time

import openstack
import yaml

HOST = "127.0.0.1"
REGION = "RegionOne"
AUTH_URL = f"http://{HOST}:5000/v3"

SERVICES = [
    # name, type, url
    ("glance", "image", f"http://{HOST}:9292"),
    ("placement", "placement", f"http://{HOST}:8778"),
    ("nova", "compute", f"http://{HOST}:8774/v2.1"),
    ("neutron", "network", f"http://{HOST}:9696"),
    ("cinderv3", "volumev3", f"http://{HOST}:8776/v3/%(project_id)s"),
]
SERVICE_USERS = ["glance", "placement", "nova", "neutron", "cinder"]

# Persistent flavors of the Alliance clouds: no root disk, boot from a volume.
FLAVORS = {
    "p1-1.5gb": (1, 1536),
    "p2-3gb": (2, 3072),
    "p2-3.75gb": (2, 3840),
    "p4-6gb": (4, 6144),
    "p4-7.5gb": (4, 7680),
    "p8-15gb": (8, 15360),
}
# The default selector (^Debian-13.*x64) must pick 13 with 12 beside it, as on the Alliance's
# clouds, which still list Debian 12 images.
IMAGES = {"Debian-13-Trixie-x64-2026-11": "13", "Debian-12-Bookworm-x64-2026-11": "12"}
IMAGE_MIB = 4
EXTERNAL_NETWORK = "Public-Network"
EXTERNAL_CIDR = "203.0.113.0/24"
VOLUME_TYPES = ["volumes-ssd", "volumes-ec"]
# Exactly the RAS persistent allocation (shared/cloud-facts.md), so a stack that does not fit
# the real allocation does not fit here either.
COMPUTE_QUOTA = {"instances": 10, "cores": 25, "ram": 50 * 1024}
VOLUME_QUOTA = {"volumes": 10, "snapshots": 10, "gigabytes": 10240}
NETWORK_QUOTA = {"floatingip": 2, "security_group": 10}


def log(msg):
    print(f"[provision {time.strftime('%H:%M:%S', time.gmtime())}] {msg}", flush=True)


def admin_conn(password):
    return openstack.connect(
        auth_url=AUTH_URL,
        username="admin",
        password=password,
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=REGION,
        identity_api_version="3",
    )


def retry(what, fn, timeout=120, every=2):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = fn()
            if result:
                return result
            err = "not ready"
        except Exception as e:  # noqa: BLE001 - anything means "not yet"
            err = e
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}: {err}")
        time.sleep(every)


def ensure_user(conn, name, password, project):
    user = conn.identity.find_user(name, domain_id="default")
    if user is None:
        user = conn.identity.create_user(
            name=name, password=password, domain_id="default", default_project_id=project.id
        )
    else:
        conn.identity.update_user(user, password=password)
    return user


def ensure_project(conn, name, description):
    project = conn.identity.find_project(name, domain_id="default")
    return project or conn.identity.create_project(
        name=name, domain_id="default", description=description
    )


def write_clouds(path, cloud, password):
    def entry(user, project):
        return {
            "auth": {
                "auth_url": AUTH_URL,
                "username": user,
                "password": password,
                "project_name": project,
                "user_domain_name": "Default",
                "project_domain_name": "Default",
            },
            "region_name": REGION,
            "interface": "public",
            "identity_api_version": 3,
        }

    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    data.setdefault("clouds", {})
    data["clouds"][cloud] = entry("demo", "demo")
    data["clouds"][f"{cloud}-admin"] = entry("admin", "admin")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(data, f, default_flow_style=False)
    os.replace(path + ".tmp", path)


def services(args):
    conn = admin_conn(args.password)
    retry("keystone", lambda: conn.identity.find_project("admin", domain_id="default"))
    service_project = ensure_project(conn, "service", "OpenStack service users")
    admin_role = conn.identity.find_role("admin")
    # Since the fix of OSSA-2023-003, Cinder only lets Nova delete an attachment with a
    # service token carrying the `service` role; without it every detach fails with 409.
    service_role = conn.identity.find_role("service") or conn.identity.create_role(name="service")
    for name in SERVICE_USERS:
        user = ensure_user(conn, name, args.password, service_project)
        conn.identity.assign_project_role_to_user(service_project, user, admin_role)
        conn.identity.assign_project_role_to_user(service_project, user, service_role)
    existing = {(s.name, s.type): s for s in conn.identity.services()}
    endpoints = {(e.service_id, e.interface) for e in conn.identity.endpoints()}
    for name, type_, url in SERVICES:
        svc = existing.get((name, type_)) or conn.identity.create_service(
            name=name, type=type_, is_enabled=True
        )
        for interface in ("public", "internal", "admin"):
            if (svc.id, interface) not in endpoints:
                conn.identity.create_endpoint(
                    service_id=svc.id, interface=interface, url=url, region_id=REGION
                )
    # The demo user is created with the demo project; the clouds.yaml entry can exist first.
    write_clouds(args.clouds, args.cloud, args.password)
    log(f"service users and catalog ready; {args.clouds} has {args.cloud}, {args.cloud}-admin")


def wait_for_services(conn):
    def agents_alive():
        alive = {a.agent_type for a in conn.network.agents() if a.is_alive}
        return {"Linux bridge agent", "L3 agent", "DHCP agent"} <= alive

    def compute_up():
        return any(
            s.binary == "nova-compute" and s.state == "up" for s in conn.compute.services()
        )

    def volume_up():
        body = conn.block_storage.get("/os-services").json()
        return any(
            s["binary"] == "cinder-volume" and s["state"] == "up" for s in body["services"]
        )

    retry("neutron agents", agents_alive, timeout=300)
    retry("nova-compute", compute_up, timeout=300)
    retry("cinder-volume", volume_up, timeout=300)
    retry("glance", lambda: list(conn.image.images()) is not None)


def demo(args):
    conn = admin_conn(args.password)
    t0 = time.monotonic()
    wait_for_services(conn)
    log(f"every service answers ({time.monotonic() - t0:.0f}s)")

    project = ensure_project(conn, "demo", "the ouvroir local stack")
    user = ensure_user(conn, "demo", args.password, project)
    conn.identity.assign_project_role_to_user(project, user, conn.identity.find_role("member"))

    conn.set_compute_quotas(project.id, **COMPUTE_QUOTA)
    conn.set_volume_quotas(project.id, **VOLUME_QUOTA)
    conn.set_network_quotas(project.id, **NETWORK_QUOTA)

    for name, (vcpus, ram) in FLAVORS.items():
        if conn.compute.find_flavor(name) is None:
            conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=0, is_public=True)

    for name in VOLUME_TYPES:
        if conn.block_storage.find_type(name) is None:
            conn.block_storage.create_type(name=name, is_public=True)

    for image_name, release in IMAGES.items():
        if conn.image.find_image(image_name) is not None:
            continue
        # Bytes do not matter (no hypervisor boots it); only the name, format and size do.
        path = os.path.join(args.image_cache, "local-openstack-image.raw")
        os.makedirs(args.image_cache, exist_ok=True)
        if not os.path.exists(path) or os.path.getsize(path) != IMAGE_MIB << 20:
            with open(path, "wb") as f:
                f.truncate(IMAGE_MIB << 20)
        conn.create_image(
            image_name,
            filename=path,
            disk_format="raw",
            container_format="bare",
            visibility="public",
            wait=True,
            meta={"os_distro": "debian", "os_version": release},
        )

    net = conn.network.find_network(EXTERNAL_NETWORK)
    if net is None:
        net = conn.network.create_network(
            name=EXTERNAL_NETWORK,
            is_router_external=True,
            provider_network_type="flat",
            provider_physical_network="external",
        )
    if not list(conn.network.subnets(network_id=net.id)):
        conn.network.create_subnet(
            name=f"{EXTERNAL_NETWORK}-subnet",
            network_id=net.id,
            ip_version=4,
            cidr=EXTERNAL_CIDR,
            gateway_ip="203.0.113.1",
            enable_dhcp=False,
            allocation_pools=[{"start": "203.0.113.10", "end": "203.0.113.250"}],
        )
    log(
        f"demo project ready ({time.monotonic() - t0:.0f}s): {len(FLAVORS)} flavors, image "
        f"{', '.join(IMAGES)}, external network {EXTERNAL_NETWORK} {EXTERNAL_CIDR}, volume types "
        f"{', '.join(VOLUME_TYPES)}, quotas = RAS allocation"
    )


def inventory(args):
    conn = admin_conn(args.password)
    project = conn.identity.find_project("demo", domain_id="default")
    compute = conn.get_compute_quotas(project.id)
    volume = conn.get_volume_quotas(project.id)
    network = conn.get_network_quotas(project.id)
    out = {
        "externalNetworks": [n.name for n in conn.network.networks(is_router_external=True)],
        "images": [
            {"name": i.name, "createdAt": i.created_at, "status": i.status}
            for i in conn.image.images(visibility="public")
        ],
        "flavors": {f.name: {"vcpus": f.vcpus, "ramMb": f.ram, "disk": f.disk}
                    for f in conn.compute.flavors()},
        "volumeTypes": [t.name for t in conn.block_storage.types()],
        "quotas": {
            "instances": compute["instances"],
            "vcpus": compute["cores"],
            "ramMb": compute["ram"],
            "volumes": volume["volumes"],
            "volumeGb": volume["gigabytes"],
            "floatingIps": network["floatingip"],
            "securityGroups": network["security_group"],
        },
    }
    print(json.dumps(out))


def clean(args):
    conn = admin_conn(args.password)
    project = conn.identity.find_project("demo", domain_id="default")
    if project is None:
        return
    pid = project.id
    t0 = time.monotonic()
    servers = list(conn.compute.servers(all_projects=True, project_id=pid))
    for srv in servers:
        conn.compute.delete_server(srv, force=True)
    for srv in servers:
        conn.compute.wait_for_delete(srv, wait=180)
    for fip in conn.network.ips(project_id=pid):
        conn.network.delete_ip(fip)
    for router in conn.network.routers(project_id=pid):
        for port in conn.network.ports(device_id=router.id):
            if port.device_owner == "network:router_interface":
                for ip in port.fixed_ips:
                    conn.network.remove_interface_from_router(router, subnet_id=ip["subnet_id"])
        conn.network.delete_router(router)
    for port in conn.network.ports(project_id=pid):
        conn.network.delete_port(port)
    for net in conn.network.networks(project_id=pid):
        if not net.is_router_external:
            conn.network.delete_network(net)
    for sg in conn.network.security_groups(project_id=pid):
        if sg.name != "default":
            conn.network.delete_security_group(sg)
    volumes = list(conn.block_storage.volumes(all_projects=True, project_id=pid))
    for vol in volumes:
        # An attachment left by a deleted fake server would block the delete: reset first.
        if vol.status not in ("available", "error"):
            conn.block_storage.reset_volume_status(
                vol, status="available", attach_status="detached", migration_status=None
            )
        for snap in conn.block_storage.snapshots(all_projects=True, volume_id=vol.id):
            conn.block_storage.delete_snapshot(snap, force=True)
        conn.block_storage.delete_volume(vol, force=True)
    for vol in volumes:
        conn.block_storage.wait_for_delete(vol, wait=180)
    log(
        f"demo project emptied ({time.monotonic() - t0:.0f}s): {len(servers)} servers, "
        f"{len(volumes)} volumes"
    )


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("step", choices=["services", "demo", "inventory", "clean"])
    p.add_argument(
        "--secret-file",
        default="/var/lib/ouvroir-local-openstack/secret",
        help="the one password of this cloud",
    )
    p.add_argument("--clouds", default="/etc/openstack/clouds.yaml")
    p.add_argument("--cloud", default="ouvroir-local")
    p.add_argument("--image-cache", default="/var/cache/ouvroir")
    args = p.parse_args()
    with open(args.secret_file) as f:
        args.password = f.read().strip()
    {"services": services, "demo": demo, "clean": clean, "inventory": inventory}[args.step](args)


if __name__ == "__main__":
    main()
