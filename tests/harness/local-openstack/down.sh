#!/usr/bin/env bash
# Stops the local OpenStack started by up.sh, in the reverse order of start, and removes what
# Neutron made on the host (router/DHCP namespaces, dnsmasq, bridges, VXLAN devices) and the two
# veth pairs. Databases, images and config stay: up.sh brings the same cloud back.
# Note: servers of the fake hypervisor live in nova-compute's memory; after down/up they still
# exist in the API but nothing backs them.
# Usage: down.sh [--purge]
#   --purge  also removes the control plane's packages (not the helper tools they share with the
#            rest of the machine), its databases, logs and state: the next up.sh starts as on a
#            fresh machine (from the cached .deb files).
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

if [[ "${1:-}" == --purge ]]; then
    mapfile -t purge < <(dpkg-query -W -f='${Package} ${Status}\n' 2>/dev/null |
        awk '$NF == "installed" {print $1}' |
        grep -E '^(keystone|glance|placement|nova|neutron|cinder|mariadb-server|rabbitmq|python3-(keystone|glance|placement|nova|neutron|cinder)$)' || true)
    if ((${#purge[@]} > 0)); then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o DPkg::Lock::Timeout=900 \
            "${purge[@]}" >"$LOS_LOG/apt-purge.log" 2>&1
    fi
    rm -rf /var/lib/mysql /var/lib/rabbitmq /var/lib/keystone /var/lib/glance /var/lib/placement \
        /var/lib/nova /var/lib/neutron /var/lib/cinder /etc/keystone /etc/glance /etc/placement \
        /etc/nova /etc/neutron /etc/cinder /etc/rabbitmq /etc/mysql/mariadb.conf.d/99-ouvroir-local.cnf \
        /usr/local/bin/ouvroir-nova-compute /usr/local/lib/python3.11/dist-packages/ouvroir_fake_cinder.py \
        "$LOS_STATE" "$LOS_LOG"
    for f in keystone placement-api nova-api neutron-server cinder-api; do
        rm -f "/etc/default/$f"
    done
    rm -f "$LOS_CLOUDS"
    echo "$(date -u +%H:%M:%S) purged ${#purge[@]} packages, databases and state"
fi
