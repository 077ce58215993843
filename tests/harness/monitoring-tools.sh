#!/usr/bin/env bash
# Test harness only: Prometheus's checkers from Debian's packages, unpacked (never installed,
# nothing started): promtool, amtool, the blackbox exporter (its --config.check). The unit layer
# checks the rendered configuration and the alert rules with them (tests/unit/monitoring.test.ts).
# They are the host's release's (Debian 12: Prometheus 2.42, Alertmanager 0.25, blackbox 0.23):
# the oldest the guests run. Prints the directory of the binaries; cached.
set -euo pipefail
# The machine's cache when it may be written (root, CI); else the user's (a laptop).
base=/var/cache/ouvroir
{ mkdir -p "$base" && [[ -w "$base" ]]; } 2>/dev/null || base="${XDG_CACHE_HOME:-$HOME/.cache}/ouvroir"
cache="$base/monitoring-tools"
bin="$cache/bin"
if [[ -x "$bin/promtool" && -x "$bin/amtool" && -x "$bin/prometheus-blackbox-exporter" ]]; then
    echo "$bin"
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
chmod 0755 "$work"
download() { apt-get download prometheus prometheus-alertmanager prometheus-blackbox-exporter >&2; }
download 2>/dev/null || { apt-get update -qq >&2 && download; }
mkdir -p root "$bin"
for deb in ./*.deb; do dpkg-deb -x "$deb" root; done
install -m 0755 root/usr/bin/promtool root/usr/bin/amtool root/usr/bin/prometheus-blackbox-exporter "$bin/"
echo "$bin"
