#!/usr/bin/env bash
# Starts a real OpenStack control plane (Zed, from Debian 12's packages) on 127.0.0.1: Keystone,
# Glance, Placement, Nova with the fake hypervisor, Neutron (linuxbridge, L3, DHCP), Cinder with
# a fake backend, MariaDB, RabbitMQ. Then provisions the `demo` project the `local` stack uses
# and writes the `ouvroir-local` entry of /etc/openstack/clouds.yaml.
#
# Idempotent: a running cloud returns in seconds; after a machine restart the services are
# started again (~3.5 min); a bare machine gets install + configure + start (~8 min).
# Needs root and network-admin rights (veth pairs, namespaces). Nothing leaves the machine:
# APIs on 127.0.0.1, the external network on a documentation range behind a veth pair.
# Usage: up.sh   (its last line is OS_CLOUD=ouvroir-local)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $EUID -eq 0 ]] || los_die "run as root"
# The machine may have another python3 first in PATH; OpenStack is Debian's /usr/bin/python3.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p "$LOS_STATE" "$LOS_LOG"
chmod 700 "$LOS_STATE"

T_START=$(date +%s)
declare -A TIMING=()
phase_begin() { PHASE_T0=$(date +%s); los_log "$1..."; }
phase_end() { TIMING[$1]=$(($(date +%s) - PHASE_T0)); }

all_running() {
    local svc
    for svc in "${LOS_SERVICES[@]}"; do
        los_running "$svc" || return 1
    done
}

if [[ -e "$LOS_STATE/provisioned" ]] && all_running; then
    los_log "already running ($(los_mem_mib) MiB PSS); checked in $(($(date +%s) - T_START))s"
    echo "OS_CLOUD=$LOS_CLOUD"
    exit 0
fi

# ---------------------------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------------------------
mapfile -t PACKAGES < <(grep -vE '^\s*(#|$)' "$LOS_DIR/packages.txt")

packages_missing() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
            return 0
    done
    return 1
}

# The packages would otherwise offer to create databases, RabbitMQ users and Keystone
# endpoints themselves; this script does that, so every such question is answered "no".
# The questions are read from the downloaded packages' own templates, not guessed.
preseed_debconf() {
    local deb pkg
    for deb in "$LOS_CACHE"/*.deb; do
        pkg="$(dpkg-deb -f "$deb" Package)"
        dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./templates 2>/dev/null |
            awk -v p="$pkg" '
                /^Template:/ { t = $2 }
                /^Type:/ { ty = $2 }
                /^$/ { emit() }
                END { emit() }
                function emit() {
                    if (ty == "boolean" &&
                        t ~ /configure_|create-admin-tenant|register-endpoint|ksat-create-service-user/)
                        print p, t, "boolean", "false"
                    t = ""; ty = ""
                }' || true
    done | debconf-set-selections
}

if packages_missing; then
    phase_begin install
    mkdir -p "$LOS_CACHE/partial"
    APT_OPTS=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=900
        -o "Dir::Cache::archives=$LOS_CACHE")
    [[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit)" ]] ||
        apt-get update -q -o DPkg::Lock::Timeout=900 >"$LOS_LOG/apt-update.log"
    if ! nice -n 10 apt-get install --download-only "${APT_OPTS[@]}" "${PACKAGES[@]}" \
        >"$LOS_LOG/apt-download.log" 2>&1; then
        apt-get update -q -o DPkg::Lock::Timeout=900 >"$LOS_LOG/apt-update.log"
        nice -n 10 apt-get install --download-only "${APT_OPTS[@]}" "${PACKAGES[@]}" \
            >"$LOS_LOG/apt-download.log" 2>&1
    fi
    preseed_debconf
    DEBIAN_FRONTEND=noninteractive nice -n 10 apt-get install "${APT_OPTS[@]}" "${PACKAGES[@]}" \
        >"$LOS_LOG/apt-install.log" 2>&1 ||
        los_die "apt-get install failed: see $LOS_LOG/apt-install.log"
    phase_end install
fi

# ---------------------------------------------------------------------------------------------
# configure (config files every run: cheap and keeps them in step with this script)
# ---------------------------------------------------------------------------------------------
phase_begin configure
[[ -s "$LOS_SECRET_FILE" ]] ||
    (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$LOS_SECRET_FILE")
PW="$(los_secret)"
H=$LOS_HOST
KS="http://$H:5000"
RABBIT="rabbit://openstack:$PW@$H:5672/"
db() { echo "mysql+pymysql://openstack:$PW@$H/$1?charset=utf8"; }

# Writes "[section] key = value" lines from stdin into an ini file in one crudini call.
ini() { crudini --merge "$1"; }

authtoken() { # the keystone_authtoken-like section every service needs
    cat <<EOF
[$1]
www_authenticate_uri = $KS
auth_url = $KS
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $PW
region_name = $LOS_REGION
EOF
}

# Every API listens on 127.0.0.1 only: Debian's init scripts bind uwsgi to all addresses, but
# read /etc/default/<name> last, so the bind address is replaced there.
uwsgi_api() { # name-in-init-script port ini processes threads
    cat >"/etc/default/$1" <<EOF
# Written by ouvroir tests/harness/local-openstack/up.sh: bind to loopback only.
DAEMON_ARGS="--http-socket $H:$2 --ini $3"
EOF
    printf '[uwsgi]\nprocesses = %s\nthreads = %s\n' "$4" "$5" | ini "$3"
}

# MariaDB and RabbitMQ: loopback only; RabbitMQ with a fixed node name so that a new hostname
# (a fresh CI machine restored from cache) does not orphan its database.
printf '[mysqld]\nbind-address = %s\nmax_connections = 1000\n' "$H" \
    >/etc/mysql/mariadb.conf.d/99-ouvroir-local.cnf
cat >/etc/rabbitmq/rabbitmq-env.conf <<EOF
NODENAME=rabbit@localhost
NODE_IP_ADDRESS=$H
ERL_EPMD_ADDRESS=$H
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF

ini /etc/keystone/keystone.conf <<EOF
[database]
connection = $(db keystone)
[token]
provider = fernet
EOF
uwsgi_api keystone 5000 /etc/keystone/keystone-uwsgi.ini 2 4

ini /etc/glance/glance-api.conf <<EOF
[DEFAULT]
bind_host = $H
bind_port = 9292
workers = 1
[database]
connection = $(db glance)
[paste_deploy]
flavor = keystone
[glance_store]
stores = file,http
default_store = file
filesystem_store_datadir = /var/lib/glance/images/
$(authtoken keystone_authtoken glance)
EOF

ini /etc/placement/placement.conf <<EOF
[api]
auth_strategy = keystone
[placement_database]
connection = $(db placement)
$(authtoken keystone_authtoken placement)
EOF
uwsgi_api placement-api 8778 /etc/placement/placement-api-uwsgi.ini 1 4

# Nova, Neutron and Cinder share one host name so that port binding finds the linuxbridge
# agent of the compute host, whatever the machine is called.
ini /etc/nova/nova.conf <<EOF
[DEFAULT]
host = ouvroir-local
my_ip = $H
transport_url = $RABBIT
compute_driver = fake.FakeDriver
allow_resize_to_same_host = true
metadata_workers = 1
[api]
auth_strategy = keystone
[api_database]
connection = $(db nova_api)
[database]
connection = $(db nova)
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = -1
[glance]
api_servers = http://$H:9292
[cinder]
os_region_name = $LOS_REGION
[oslo_concurrency]
lock_path = /var/lib/nova/tmp
[vnc]
enabled = false
[spice]
enabled = false
$(authtoken keystone_authtoken nova)
$(authtoken placement placement)
$(authtoken neutron neutron)
$(authtoken service_user nova)
send_service_user_token = true
EOF
# Debian ships a broken "username = =" and a floating pool name that does not exist here.
crudini --del /etc/nova/nova.conf neutron default_floating_pool
crudini --del /etc/nova/nova.conf neutron service_metadata_proxy
uwsgi_api nova-api 8774 /etc/nova/nova-api-uwsgi.ini 2 1

# Neutron: ML2 with linuxbridge (no Open vSwitch module in this kernel; Zed hides linuxbridge
# behind an experimental flag). uwsgi with one thread per process: more threads deadlock
# (Nova builds hang waiting for port updates).
ini /etc/neutron/neutron.conf <<EOF
[DEFAULT]
host = ouvroir-local
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = $RABBIT
interface_driver = linuxbridge
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
rpc_workers = 1
rpc_state_report_workers = 1
[database]
connection = $(db neutron)
[experimental]
linuxbridge = true
[oslo_concurrency]
lock_path = /var/lib/neutron/lock
$(authtoken keystone_authtoken neutron)
$(authtoken nova nova)
EOF
ini /etc/neutron/plugins/ml2/ml2_conf.ini <<EOF
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers = linuxbridge,l2population
extension_drivers = port_security
[ml2_type_flat]
flat_networks = external
[ml2_type_vxlan]
vni_ranges = 1:1000
[securitygroup]
enable_security_group = true
enable_ipset = false
EOF
# The agent's firewall is a no-op: no server has a tap device to filter (fake hypervisor), and
# the iptables driver would add chains and bridge sysctls to the host itself. Security groups
# and rules stay a real API (the server still validates and stores them).
ini /etc/neutron/plugins/ml2/linuxbridge_agent.ini <<EOF
[linux_bridge]
physical_interface_mappings = external:$LOS_EXT_IF
[vxlan]
enable_vxlan = true
local_ip = $LOS_VXLAN_IP
l2_population = true
[securitygroup]
firewall_driver = noop
EOF
ini /etc/neutron/l3_agent.ini <<EOF
[DEFAULT]
interface_driver = linuxbridge
enable_metadata_proxy = false
EOF
ini /etc/neutron/dhcp_agent.ini <<EOF
[DEFAULT]
interface_driver = linuxbridge
enable_isolated_metadata = false
dnsmasq_local_resolv = false
EOF
uwsgi_api neutron-server 9696 /etc/neutron/neutron-api-uwsgi.ini 2 1

install -m 0644 "$LOS_DIR/files/ouvroir_fake_cinder.py" \
    /usr/local/lib/python3.11/dist-packages/ouvroir_fake_cinder.py
install -m 0755 "$LOS_DIR/files/ouvroir-nova-compute" /usr/local/bin/ouvroir-nova-compute
ini /etc/cinder/cinder.conf <<EOF
[DEFAULT]
host = ouvroir-local
my_ip = $H
transport_url = $RABBIT
auth_strategy = keystone
enabled_backends = fake
default_volume_type = volumes-ssd
glance_api_servers = http://$H:9292
[database]
connection = $(db cinder)
[fake]
volume_driver = ouvroir_fake_cinder.ExtendableFakeDriver
volume_backend_name = fake
target_helper = fake
[oslo_concurrency]
lock_path = /var/lib/cinder/tmp
$(authtoken nova cinder)
$(authtoken keystone_authtoken cinder)
service_token_roles = service
service_token_roles_required = true
EOF
crudini --del /etc/cinder/cinder.conf lvm
uwsgi_api cinder-api 8776 /etc/cinder/cinder-api-uwsgi.ini 2 1
phase_end configure

# ---------------------------------------------------------------------------------------------
# network plumbing: two veth pairs, nothing else on the host
# ---------------------------------------------------------------------------------------------
veth() { # name peer
    ip link show "$1" >/dev/null 2>&1 || ip link add "$1" type veth peer name "$2"
    ip link set "$1" up
    ip link set "$2" up
}
veth "$LOS_EXT_IF" "$LOS_EXT_PEER"
veth "$LOS_VXLAN_IF" "$LOS_VXLAN_PEER"
ip addr replace "$LOS_VXLAN_IP/30" dev "$LOS_VXLAN_IF"

# ---------------------------------------------------------------------------------------------
# start, with the one-time database setup between the steps that need it
# ---------------------------------------------------------------------------------------------
phase_begin start
as() { # user command...: run an OpenStack command as its service user
    local u="$1"
    shift
    runuser -u "$u" -- "$@"
}
start_svc() {
    local svc="$1"
    los_running "$svc" && return 0
    case "$svc" in
    ouvroir-nova-compute)
        mkdir -p /run/nova && chown nova:nova /run/nova
        # The fake driver keeps servers in memory: a restart forgets them (the API does not).
        start-stop-daemon --start --quiet --background --make-pidfile \
            --pidfile "$(los_pidfile "$svc")" --chuid nova:nova --chdir /var/lib/nova \
            --startas /usr/local/bin/ouvroir-nova-compute -- \
            --config-file=/etc/nova/nova.conf --log-file=/var/log/nova/nova-compute.log
        ;;
    *)
        # An old process that is still exiting (pidfile removed, port still held) would make
        # the new one fail to bind: wait for the port to be free.
        local port="${LOS_PORTS[$svc]:-}" i
        if [[ -n "$port" ]]; then
            for ((i = 0; i < 60; i++)); do
                (exec 3<>"/dev/tcp/$H/$port") 2>/dev/null || break
                sleep 0.5
            done
        fi
        "/etc/init.d/$svc" start >>"$LOS_LOG/init.log" 2>&1 ||
            los_die "/etc/init.d/$svc start failed (see $LOS_LOG/init.log)"
        ;;
    esac
}

start_svc mariadb
for _ in $(seq 60); do mysqladmin status >/dev/null 2>&1 && break || sleep 0.5; done
start_svc rabbitmq-server
los_wait_port 5672 rabbitmq 300

if [[ ! -e "$LOS_STATE/databases" ]]; then
    sql=""
    for d in keystone glance placement nova_api nova nova_cell0 neutron cinder; do
        sql+="CREATE DATABASE IF NOT EXISTS $d;"
        sql+="GRANT ALL PRIVILEGES ON $d.* TO 'openstack'@'localhost';"
        sql+="GRANT ALL PRIVILEGES ON $d.* TO 'openstack'@'127.0.0.1';"
    done
    mysql -e "CREATE USER IF NOT EXISTS 'openstack'@'localhost' IDENTIFIED BY '$PW';
        CREATE USER IF NOT EXISTS 'openstack'@'127.0.0.1' IDENTIFIED BY '$PW';
        ALTER USER 'openstack'@'localhost' IDENTIFIED BY '$PW';
        ALTER USER 'openstack'@'127.0.0.1' IDENTIFIED BY '$PW'; $sql FLUSH PRIVILEGES;"
    rabbitmqctl list_users | grep -q '^openstack' ||
        rabbitmqctl add_user openstack "$PW" >/dev/null
    rabbitmqctl change_password openstack "$PW" >/dev/null
    rabbitmqctl set_permissions openstack '.*' '.*' '.*' >/dev/null
    touch "$LOS_STATE/databases"
fi

if [[ ! -e "$LOS_STATE/keystone" ]]; then
    {
        as keystone keystone-manage db_sync
        keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone
        keystone-manage credential_setup --keystone-user keystone --keystone-group keystone
        as keystone keystone-manage bootstrap --bootstrap-password "$PW" \
            --bootstrap-admin-url "$KS/v3/" --bootstrap-internal-url "$KS/v3/" \
            --bootstrap-public-url "$KS/v3/" --bootstrap-region-id "$LOS_REGION"
    } >"$LOS_LOG/keystone-setup.log" 2>&1 || los_die "keystone setup failed: see $LOS_LOG/keystone-setup.log"
    touch "$LOS_STATE/keystone"
fi
start_svc keystone

# Schema migrations of the other services run while Keystone starts: Nova's (the longest) beside
# the others, which run one after the other.
nova_schemas() {
    as nova nova-manage api_db sync
    as nova nova-manage cell_v2 list_cells 2>/dev/null | grep -q ' cell0 ' ||
        as nova nova-manage cell_v2 map_cell0
    as nova nova-manage cell_v2 list_cells 2>/dev/null | grep -q ' cell1 ' ||
        as nova nova-manage cell_v2 create_cell --name=cell1
    as nova nova-manage db sync
}
other_schemas() {
    as glance glance-manage db_sync >"$LOS_LOG/glance-db.log" 2>&1
    as placement placement-manage db sync >"$LOS_LOG/placement-db.log" 2>&1
    as neutron neutron-db-manage --config-file /etc/neutron/neutron.conf \
        --config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade head \
        >"$LOS_LOG/neutron-db.log" 2>&1
    as cinder cinder-manage db sync >"$LOS_LOG/cinder-db.log" 2>&1
}
if [[ ! -e "$LOS_STATE/schemas" ]]; then
    los_log "database schemas..."
    # Background jobs keep errexit (a subshell on the left of || would not).
    nova_schemas >"$LOS_LOG/nova-db.log" 2>&1 &
    nova_pid=$!
    other_schemas &
    other_pid=$!
    wait "$other_pid" || los_die "a schema migration failed: see $LOS_LOG/*-db.log"
    wait "$nova_pid" || los_die "nova's schema migration failed: see $LOS_LOG/nova-db.log"
    touch "$LOS_STATE/schemas"
fi

los_wait_port 5000 keystone 300
/usr/bin/python3 "$LOS_DIR/provision.py" services --secret-file "$LOS_SECRET_FILE" --clouds "$LOS_CLOUDS" \
    --cloud "$LOS_CLOUD"

for svc in glance-api placement-api neutron-api neutron-rpc-server; do start_svc "$svc"; done
los_wait_port 9696 neutron-api 300
for svc in neutron-linuxbridge-agent neutron-dhcp-agent neutron-l3-agent nova-api \
    nova-conductor nova-scheduler ouvroir-nova-compute cinder-api cinder-scheduler \
    cinder-volume; do
    start_svc "$svc"
done
los_wait_port 9292 glance-api 300
los_wait_port 8778 placement-api 300
los_wait_port 8774 nova-api 300
los_wait_port 8776 cinder-api 300

# The compute host must be mapped to cell1 before anything can be scheduled on it. The loop's
# own answer decides: a second nova-manage call after it once failed under load (CI, 20:56)
# although the host was mapped, and its error went to /dev/null.
registered=""
hosts_err="$(mktemp)"
for i in $(seq 90); do
    if as nova nova-manage cell_v2 list_hosts 2>"$hosts_err" | grep -q ' ouvroir-local '; then
        registered=yes
        break
    fi
    ((i % 5 == 1)) && as nova nova-manage cell_v2 discover_hosts >/dev/null 2>&1 || true
    sleep 1
done
if [[ -z "$registered" ]]; then
    tail -n 5 "$hosts_err" >&2
    los_die "nova-compute did not register (see /var/log/nova/nova-compute.log)"
fi
rm -f "$hosts_err"
phase_end start

# ---------------------------------------------------------------------------------------------
# provision: one openstacksdk session creates the demo project and what the stack needs
# ---------------------------------------------------------------------------------------------
phase_begin provision
/usr/bin/python3 "$LOS_DIR/provision.py" demo --secret-file "$LOS_SECRET_FILE" --clouds "$LOS_CLOUDS" \
    --cloud "$LOS_CLOUD" --image-cache "${OUVROIR_CACHE:-/var/cache/ouvroir}"
touch "$LOS_STATE/provisioned"
phase_end provision

summary="total $(($(date +%s) - T_START))s"
for p in install configure start provision; do
    [[ -n "${TIMING[$p]:-}" ]] && summary+=", $p ${TIMING[$p]}s"
done
los_log "ready: $summary; memory $(los_mem_mib) MiB PSS"
echo "OS_CLOUD=$LOS_CLOUD"
