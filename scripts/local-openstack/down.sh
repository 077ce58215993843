#!/usr/bin/env bash
# Stops the local OpenStack started by up.sh, in the reverse order of start, and removes what
# Neutron made on the host (router/DHCP namespaces, dnsmasq, bridges, VXLAN devices) and the two
# veth pairs. Databases, images and config stay: up.sh brings the same cloud back.
# Note: servers of the fake hypervisor live in nova-compute's memory; after down/up they still
# exist in the API but nothing backs them.
# Usage: down.sh
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $EUID -eq 0 ]] || los_die "run as root"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

t0=$(date +%s)
stop_svc() {
    local svc="$1"
    if [[ "$svc" == ouvroir-nova-compute ]]; then
        start-stop-daemon --stop --quiet --retry=TERM/30/KILL/5 \
            --pidfile "$(los_pidfile "$svc")" >/dev/null 2>&1 || true
        rm -f "$(los_pidfile "$svc")"
    elif [[ -x "/etc/init.d/$svc" ]]; then
        "/etc/init.d/$svc" stop >>"$LOS_LOG/init.log" 2>&1 || true
    fi
}
# The OpenStack services at once (some take their full TERM timeout), then the message queue
# and the database they were using.
for svc in "${LOS_SERVICES[@]}"; do
    [[ "$svc" == mariadb || "$svc" == rabbitmq-server ]] || stop_svc "$svc" &
done
wait
stop_svc rabbitmq-server
stop_svc mariadb

# dnsmasq of the DHCP agent outlives the agent; so do the namespaces and bridges.
for pidfile in /var/lib/neutron/dhcp/*/pid /var/lib/neutron/external/pids/*.pid; do
    [[ -s "$pidfile" ]] && kill "$(cat "$pidfile")" 2>/dev/null || true
done
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^(qrouter|qdhcp|snat)-' || true); do
    ip netns delete "$ns" || true
done
for dev in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 |
    grep -E '^(brq[0-9a-f]{8}-[0-9a-f]{2}|vxlan-[0-9]+)$' || true); do
    ip link delete "$dev" 2>/dev/null || true
done
ip link delete "$LOS_EXT_IF" 2>/dev/null || true
ip link delete "$LOS_VXLAN_IF" 2>/dev/null || true
los_log "stopped in $(($(date +%s) - t0))s"
