#!/bin/bash
# App server: SQL data on the volume, the apps account, the demo apps (copied only if absent).
set -euo pipefail
data="{{dataMount}}"
. /etc/ouvroir/settings.env
engine="$SQL_ENGINE"

# Run at first boot and at every day-2 push: the server is stopped only to move its data to
# the volume or to change its settings; otherwise it keeps running (a reload for pg_hba).
if [[ "$engine" == "mariadb" ]]; then
    conf=/etc/mysql/mariadb.conf.d/60-ouvroir.cnf
    want="$(cat <<CNF
# ouvroir: data on the volume. Only the roles in SQL_CLIENTS reach the port (security group
# and host firewall); accounts for them name their hosts.
[mysqld]
datadir = $data/mysql
bind-address = 0.0.0.0
CNF
)"
    if [[ ! -d "$data/mysql/mysql" || "$(cat "$conf" 2>/dev/null)" != "$want" ]]; then
        systemctl stop mariadb.service
        if [[ ! -d "$data/mysql/mysql" ]]; then
            install -d -o mysql -g mysql -m 0750 "$data/mysql"
            rsync -a /var/lib/mysql/ "$data/mysql/"
        fi
        printf '%s\n' "$want" >"$conf"
    fi
    /usr/local/sbin/ouvroir-enable mariadb.service
    systemctl start mariadb.service
    mariadb -e "SELECT 1" >/dev/null
else
    ver="$(ls /etc/postgresql | sort -V | tail -n1)"
    # guard: another release's cluster (begin)
    # A volume from a VM of another Debian release holds another PostgreSQL major's cluster
    # (Debian 12: 15, Debian 13: 17), which this one cannot read: stop loudly rather than start
    # an empty cluster beside it (the apps would see empty databases; the old data stays).
    if [[ ! -f "$data/postgresql/$ver/main/PG_VERSION" ]]; then
        for other in "$data"/postgresql/*/main/PG_VERSION; do
            [[ -f "$other" ]] || continue
            echo "ouvroir-app-setup: ${other%/PG_VERSION} is PostgreSQL $(cat "$other")'s cluster; this VM has PostgreSQL $ver, which cannot read it. Nothing was started; the data is untouched. Load its dump into PostgreSQL $ver: docs/backup.md, \"PostgreSQL after a Debian release change\"." >&2
            exit 1
        done
    fi
    # guard: another release's cluster (end)
    conf="/etc/postgresql/$ver/main/conf.d/60-ouvroir.conf"
    want="$(cat <<CONF
# ouvroir: data on the volume. Only the roles in SQL_CLIENTS reach the port (security group,
# host firewall and pg_hba.conf).
data_directory = '$data/postgresql/$ver/main'
listen_addresses = '*'
CONF
)"
    if [[ ! -f "$data/postgresql/$ver/main/PG_VERSION" || "$(cat "$conf" 2>/dev/null)" != "$want" ]]; then
        systemctl stop postgresql.service
        if [[ ! -f "$data/postgresql/$ver/main/PG_VERSION" ]]; then
            install -d -o postgres -g postgres -m 0700 "$data/postgresql" "$data/postgresql/$ver"
            rsync -a "/var/lib/postgresql/$ver/main" "$data/postgresql/$ver/"
        fi
        printf '%s\n' "$want" >"$conf"
    fi
    hba="/etc/postgresql/$ver/main/pg_hba.conf"
    # Our block is rewritten on every run: its hosts are exactly SQL_CLIENTS (none: local only).
    new="$(mktemp)"
    sed '/^# ouvroir begin$/,/^# ouvroir end$/d; /^# ouvroir$/,+1d' "$hba" >"$new"
    {
        echo "# ouvroir begin"
        for ip in $SQL_CLIENTS; do echo "host all all $ip/32 scram-sha-256"; done
        echo "# ouvroir end"
    } >>"$new"
    reload=0
    if ! cmp -s "$new" "$hba"; then
        cat "$new" >"$hba"
        reload=1
    fi
    rm -f "$new"
    /usr/local/sbin/ouvroir-enable postgresql.service
    systemctl start postgresql.service
    if [[ $reload == 1 ]]; then systemctl reload postgresql.service; fi
    runuser -u postgres -- psql -tAc "SELECT 1" >/dev/null
fi

if ! id ouvroir-apps >/dev/null 2>&1; then
    useradd --system --home-dir "$data/apps" --shell /usr/sbin/nologin ouvroir-apps
fi
install -d -o ouvroir-apps -g ouvroir-apps -m 0755 "$data/apps"
demo=/usr/local/share/ouvroir/demo-apps
if [[ ! -d "$data/apps/hello-python" ]]; then
    install -d -o ouvroir-apps -g ouvroir-apps "$data/apps/hello-python"
    install -m 0644 "$demo/hello-python.py" "$data/apps/hello-python/app.py"
    runuser -u ouvroir-apps -- python3 -m venv --without-pip "$data/apps/hello-python/venv"
    printf '#!/bin/sh\nexec ./venv/bin/python app.py\n' >"$data/apps/hello-python/run"
    echo "PORT=8001" >"$data/apps/hello-python/app.env"
    chmod 0755 "$data/apps/hello-python/run"
fi
if [[ ! -d "$data/apps/hello-node" ]]; then
    install -d -o ouvroir-apps -g ouvroir-apps "$data/apps/hello-node"
    install -m 0644 "$demo/hello-node.js" "$data/apps/hello-node/server.js"
    printf '#!/bin/sh\nexec node server.js\n' >"$data/apps/hello-node/run"
    echo "PORT=8002" >"$data/apps/hello-node/app.env"
    chmod 0755 "$data/apps/hello-node/run"
fi
# The declared apps: their env files and databases (ouvroir-app-databases).
/usr/local/sbin/ouvroir-app-databases

apps=()
for app in "$data"/apps/*/; do
    # Only directories with a run script are apps (data kept beside them is not), and not the
    # ones taken out of the list.
    if [[ -x "$app/run" && ! -e "$app/.removed" ]]; then
        apps+=("ouvroir-app@$(basename "$app").service")
    fi
done
if [[ ${#apps[@]} -gt 0 ]]; then
    /usr/local/sbin/ouvroir-enable "${apps[@]}"
    systemctl start "${apps[@]}"
fi
