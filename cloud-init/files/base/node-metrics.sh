#!/bin/bash
# ouvroir-node-metrics: what the node exporter cannot see, as textfile metrics
# (components/monitoring.ts): a reboot asked for by an upgrade, security updates pending, and on
# the sandbox host each researcher's rootless Docker (a user unit the systemd collector skips).
# Run by ouvroir-node-metrics.timer; written atomically. Usage: ouvroir-node-metrics [DIR]
set -euo pipefail
dir="${1:-/var/lib/prometheus/node-exporter}"
[[ -d "$dir" ]] || exit 0
researchers="${OUVROIR_RESEARCHERS_FILE:-/etc/ouvroir/researchers}"
reboot_file="${OUVROIR_REBOOT_FILE:-/run/reboot-required}"
# The security updates are counted again only when apt's lists or dpkg's status changed since the
# last count (a simulated upgrade costs seconds of CPU; the lists change once a day).
read -ra apt_inputs <<<"${OUVROIR_APT_INPUTS:-/var/lib/dpkg/status /var/lib/apt/lists}"
apt_state="${OUVROIR_NODE_METRICS_STATE:-/var/lib/ouvroir/node-metrics-apt}"
tmp="$(mktemp "$dir/.ouvroir-node.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
{
    echo "# HELP ouvroir_reboot_required 1 when an upgrade asked for a reboot."
    echo "# TYPE ouvroir_reboot_required gauge"
    if [[ -e "$reboot_file" ]]; then echo "ouvroir_reboot_required 1"; else echo "ouvroir_reboot_required 0"; fi
    # From the package lists apt's daily timer refreshed: what an upgrade would install now.
    apt_seen="$(stat -c %Y "${apt_inputs[@]}" 2>/dev/null | sort -n | tail -n 1 || true)"
    pending=""
    if [[ -s "$apt_state" ]] && read -r seen count <"$apt_state" &&
        [[ "$seen" == "${apt_seen:-0}" && "$count" =~ ^[0-9]+$ ]]; then
        pending="$count"
    else
        pending="$(apt-get -s -o Debug::NoLocking=true upgrade 2>/dev/null | grep -c '^Inst .*security' || true)"
        mkdir -p "$(dirname "$apt_state")"
        printf '%s %s\n' "${apt_seen:-0}" "${pending:-0}" >"$apt_state"
    fi
    echo "# HELP ouvroir_security_updates_pending Security updates not installed yet."
    echo "# TYPE ouvroir_security_updates_pending gauge"
    echo "ouvroir_security_updates_pending ${pending:-0}"
    if [[ -s "$researchers" ]]; then
        echo "# HELP ouvroir_service_up 1 when a service outside systemd's system units runs."
        echo "# TYPE ouvroir_service_up gauge"
        while read -r name _; do
            [[ "$name" =~ ^[a-z][a-z0-9-]*$ ]] || continue
            up=0
            # Her own systemd manager, asked as ouvroir-sandbox-setup starts it (`systemctl
            # --user -M name@` needs systemd-machined, which the VMs do not install).
            if uid="$(id -u "$name" 2>/dev/null)" &&
                runuser -u "$name" -- env XDG_RUNTIME_DIR="/run/user/$uid" \
                    systemctl --user is-active --quiet docker.service 2>/dev/null &&
                [[ -S "/run/user/$uid/docker.sock" ]]; then
                up=1
            fi
            echo "ouvroir_service_up{service=\"docker@$name\"} $up"
        done <"$researchers"
    fi
    echo "# HELP ouvroir_node_metrics_timestamp_seconds When these metrics were written."
    echo "# TYPE ouvroir_node_metrics_timestamp_seconds gauge"
    echo "ouvroir_node_metrics_timestamp_seconds $(date +%s)"
} >"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$dir/ouvroir-node.prom"
trap - EXIT
