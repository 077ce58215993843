# Shared settings and helpers of the local OpenStack scripts (sourced, not run).
# shellcheck shell=bash

LOS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOS_STATE=/var/lib/ouvroir-local-openstack
LOS_CACHE="${OUVROIR_CACHE:-/var/cache/ouvroir}/apt-archives"
LOS_LOG=/var/log/ouvroir-local-openstack
LOS_CLOUDS=/etc/openstack/clouds.yaml
LOS_CLOUD=ouvroir-local
LOS_HOST=127.0.0.1
LOS_REGION=RegionOne
# One password for every service account and database: the cloud is throwaway and only
# listens on 127.0.0.1. Kept in a root-only file so a rerun reuses it.
LOS_SECRET_FILE="$LOS_STATE/secret"

# Documentation and benchmark ranges only: nothing here is routed anywhere.
LOS_EXT_IF=ouvext0 # flat external network (physnet "external") on this end of a veth pair
LOS_EXT_PEER=ouvext1
LOS_EXT_CIDR=203.0.113.0/24
LOS_VXLAN_IF=ouvvxl0 # VXLAN underlay (tenant networks) on this end of another veth pair
LOS_VXLAN_PEER=ouvvxl1
LOS_VXLAN_IP=198.18.0.1
LOS_VXLAN_PEER_IP=198.18.0.2

# Start order matters: Neutron before Nova (nova-api calls it even to list servers), the
# Neutron server before its agents (they register over RPC), conductor before compute.
LOS_SERVICES=(
    mariadb
    rabbitmq-server
    keystone
    glance-api
    placement-api
    neutron-api
    neutron-rpc-server
    neutron-linuxbridge-agent
    neutron-dhcp-agent
    neutron-l3-agent
    nova-api
    nova-conductor
    nova-scheduler
    ouvroir-nova-compute
    cinder-api
    cinder-scheduler
    cinder-volume
)

declare -A LOS_PORTS=(
    [keystone]=5000 [glance-api]=9292 [placement-api]=8778 [neutron-api]=9696
    [nova-api]=8774 [cinder-api]=8776
)

los_log() { printf '[local-openstack %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
los_die() {
    los_log "ERROR: $*" >&2
    exit 1
}

los_secret() { cat "$LOS_SECRET_FILE"; }

# Waits until a TCP port on 127.0.0.1 accepts connections.
los_wait_port() {
    local port="$1" what="$2" timeout="${3:-120}" i
    for ((i = 0; i < timeout * 2; i++)); do
        if (exec 3<>"/dev/tcp/$LOS_HOST/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.5
    done
    los_die "$what did not listen on $LOS_HOST:$port within ${timeout}s"
}

# Pidfile of a service as Debian's init scripts write it.
los_pidfile() {
    case "$1" in
    mariadb) echo /run/mysqld/mysqld.pid ;;
    rabbitmq-server) echo /run/rabbitmq/pid ;;
    ouvroir-nova-compute) echo /run/nova/ouvroir-nova-compute.pid ;;
    neutron-api) echo /run/neutron/neutron-server.pid ;; # its init script's NAME
    *) echo "/run/$(los_project "$1")/$1.pid" ;;
    esac
}

los_project() {
    case "$1" in
    glance-*) echo glance ;;
    placement-*) echo placement ;;
    neutron-*) echo neutron ;;
    nova-* | ouvroir-nova-*) echo nova ;;
    cinder-*) echo cinder ;;
    *) echo "$1" ;;
    esac
}

los_running() {
    local svc="$1" pf pid
    case "$svc" in
    mariadb)
        mysqladmin --connect-timeout=2 status >/dev/null 2>&1
        return
        ;;
    rabbitmq-server)
        pgrep -u rabbitmq -f beam >/dev/null 2>&1
        return
        ;;
    esac
    pf="$(los_pidfile "$svc")"
    [[ -s "$pf" ]] || return 1
    pid="$(cat "$pf")"
    # After a machine restart a stale pidfile may name an unrelated process.
    [[ -r "/proc/$pid/cmdline" ]] &&
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE 'uwsgi|python|neutron|nova|cinder|glance'
}

los_mem_mib() {
    # Proportional set size of every process of the control plane (its service users, and the
    # root helpers and dnsmasq it starts), in MiB.
    local total=0 pid user args pss
    while read -r pid user args; do
        case "$user" in
        mysql | rabbitmq | keystone | glance | placement | neutron | nova | cinder) ;;
        *) [[ "$args" =~ (neutron|nova|cinder|privsep|dnsmasq|epmd) ]] || continue ;;
        esac
        pss="$(awk '/^Pss:/{s+=$2} END{print s+0}' "/proc/$pid/smaps_rollup" 2>/dev/null)" || true
        total=$((total + ${pss:-0}))
    done < <(ps -eo pid=,user:20=,args=)
    echo $((total / 1024))
}
