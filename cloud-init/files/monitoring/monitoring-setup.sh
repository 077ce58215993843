#!/bin/bash
# The monitoring host's services (components/monitoring.ts), run by the applier after it wrote
# their configuration: enabled, restarted (a day-2 push may have added a site, hence a probe),
# then waited for. Idempotent.
set -euo pipefail
units=(prometheus-blackbox-exporter.service prometheus-alertmanager.service prometheus.service)
for unit in "${units[@]}"; do
    /usr/local/sbin/ouvroir-enable "$unit"
done
systemctl restart "${units[@]}"
for _ in $(seq 1 90); do
    if curl -sf -o /dev/null http://127.0.0.1:9090/-/ready &&
        curl -sf -o /dev/null http://127.0.0.1:9093/-/ready &&
        curl -sf -o /dev/null http://127.0.0.1:9115/; then
        echo "ouvroir: Prometheus, Alertmanager and the blackbox exporter answer"
        exit 0
    fi
    sleep 2
done
echo "ouvroir: Prometheus, Alertmanager or the blackbox exporter did not answer after 180 s" >&2
systemctl --no-pager status "${units[@]}" >&2 || true
exit 1
