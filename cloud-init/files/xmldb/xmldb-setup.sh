#!/bin/bash
# The basex account, its directories on the volume, then BaseX installed and (re)started.
set -euo pipefail
if ! id basex >/dev/null 2>&1; then
    useradd --system --home-dir "{{dataMount}}/basex" --shell /usr/sbin/nologin basex
fi
install -d -o basex -g basex -m 0750 "{{dataMount}}/basex" "{{dataMount}}/basex/data" "{{dataMount}}/basex/repo"
/usr/local/sbin/ouvroir-basex-install
/usr/local/sbin/ouvroir-enable basex.service
# Run at first boot and at every day-2 push: BaseX is restarted only when what it runs with
# changed (its version, its unit, its admin password: day-2 writes it first) or when it is not
# running; a push that changes none of them leaves it serving.
state() {
    cat /etc/ouvroir/basex.env /etc/systemd/system/basex.service \
        "{{dataMount}}/basex/admin-password" 2>/dev/null | sha256sum | cut -d' ' -f1
}
stamp=/var/lib/ouvroir/basex.state
if ! systemctl is-active --quiet basex.service || [[ "$(cat "$stamp" 2>/dev/null)" != "$(state)" ]]; then
    systemctl restart basex.service
    if systemctl is-enabled --quiet basex-rest-gateway.service 2>/dev/null; then
        systemctl restart basex-rest-gateway.service
    fi
fi
install -d -m 0755 /var/lib/ouvroir
state >"$stamp"
for _ in $(seq 1 90); do
    if curl -s -o /dev/null http://127.0.0.1:8080/rest && (: </dev/tcp/127.0.0.1/1984) 2>/dev/null; then
        echo "ouvroir: BaseX answers on 1984 and 8080"
        exit 0
    fi
    sleep 2
done
echo "ouvroir: BaseX did not answer on 8080 after 180 s" >&2
journalctl -u basex.service --no-pager | tail -n 50 >&2
exit 1
