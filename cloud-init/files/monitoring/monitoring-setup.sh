#!/bin/bash
# The monitoring host's services (components/monitoring.ts), run by the applier after it wrote
# their configuration: enabled, restarted when their configuration changed since the last setup
# that ended well (a day-2 push may have added a site, hence a probe) or when one is not running,
# then waited for. A push that changes nothing leaves them running. Idempotent.
# (OUVROIR_ROOT prefixes every path, for the unit layer only.)
set -euo pipefail
root="${OUVROIR_ROOT:-}"
units=(prometheus-blackbox-exporter.service prometheus-alertmanager.service prometheus.service)
config=(
    "$root/etc/ouvroir/monitoring/prometheus.yml"
    "$root/etc/ouvroir/monitoring/rules.yml"
    "$root/etc/ouvroir/monitoring/blackbox.yml"
    "$root/etc/ouvroir/monitoring/alertmanager-nosecrets.yml"
    "$root/usr/local/lib/ouvroir/alertmanager-config.py"
    "$root/etc/systemd/system/prometheus.service.d/10-ouvroir.conf"
    "$root/etc/systemd/system/prometheus-alertmanager.service.d/10-ouvroir.conf"
    "$root/etc/systemd/system/prometheus-blackbox-exporter.service.d/10-ouvroir.conf"
)
state="$root/var/lib/ouvroir/monitoring-config.sha256"
for unit in "${units[@]}"; do
    "$root/usr/local/sbin/ouvroir-enable" "$unit"
done
# A missing file counts as a change (its name and "missing" enter the sum).
sum="$(for f in "${config[@]}"; do
    if [[ -f "$f" ]]; then sha256sum "$f"; else echo "missing $f"; fi
done | sha256sum | cut -d ' ' -f 1)"
# Each unit asked on its own: `systemctl is-active a b c` succeeds when any one is active.
all_active() {
    local unit
    for unit in "${units[@]}"; do systemctl is-active --quiet "$unit" || return 1; done
}
if [[ -s "$state" && "$(cat "$state")" == "$sum" ]] && all_active; then
    echo "ouvroir: the monitoring configuration is unchanged; its services keep running"
else
    systemctl restart "${units[@]}"
    rm -f "$state"
fi
for _ in $(seq 1 90); do
    if curl -sf -o /dev/null http://127.0.0.1:9090/-/ready &&
        curl -sf -o /dev/null http://127.0.0.1:9093/-/ready &&
        curl -sf -o /dev/null http://127.0.0.1:9115/; then
        echo "ouvroir: Prometheus, Alertmanager and the blackbox exporter answer"
        mkdir -p "$(dirname "$state")"
        echo "$sum" >"$state"
        exit 0
    fi
    sleep 2
done
echo "ouvroir: Prometheus, Alertmanager or the blackbox exporter did not answer after 180 s" >&2
systemctl --no-pager status "${units[@]}" >&2 || true
exit 1
