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
# The apps declared in config (/etc/ouvroir/apps: "name port database" lines): each its
# directory and env file (0600, root: systemd reads it and hands it to the app alone), and with a
# database its own database and user, no one else's. The password: the stack's secret, written by
# day-2 to /etc/ouvroir/app-db/NAME; before the first push (first boot), one made here.
secrets=/etc/ouvroir/app-db
known=/var/lib/ouvroir/apps.known
install -d -m 0700 "$secrets"
install -d -m 0755 /var/lib/ouvroir
touch "$known"
sql() {
    if [[ "$engine" == "mariadb" ]]; then
        mariadb --batch --skip-column-names
    else
        runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -tA
    fi
}
declared=" "
while read -r name port db; do
    [[ -n "$name" ]] || continue
    declared+="$name "
    dir="$data/apps/$name"
    install -d -o ouvroir-apps -g ouvroir-apps -m 0750 "$dir"
    rm -f "$dir/.removed"
    env=("PORT=$port")
    if [[ "$db" == 1 ]]; then
        pwfile="$secrets/$name"
        if [[ ! -s "$pwfile" ]]; then
            # 24 random bytes in hex; every reader takes all its input (no SIGPIPE under pipefail).
            (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$pwfile")
        fi
        pw="$(cat "$pwfile")"
        # Letters and digits only (the stack's secrets are made so): safe inside SQL quotes.
        [[ "$pw" =~ ^[A-Za-z0-9]+$ ]] || { echo "app-setup: $pwfile must hold letters and digits only" >&2; exit 1; }
        # The statements, and the password, go to the client on stdin, never in its arguments.
        if [[ "$engine" == "mariadb" ]]; then
            sql <<SQL
CREATE DATABASE IF NOT EXISTS \`$name\`;
CREATE USER IF NOT EXISTS '$name'@'localhost' IDENTIFIED BY '$pw';
ALTER USER '$name'@'localhost' IDENTIFIED BY '$pw' ACCOUNT UNLOCK;
GRANT ALL PRIVILEGES ON \`$name\`.* TO '$name'@'localhost';
SQL
            dbport=3306 scheme=mysql
        else
            sql <<SQL
SELECT format('CREATE ROLE %I', '$name') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$name')\gexec
ALTER ROLE "$name" LOGIN PASSWORD '$pw';
SELECT format('CREATE DATABASE %I OWNER %I', '$name', '$name') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$name')\gexec
REVOKE ALL ON DATABASE "$name" FROM PUBLIC;
SQL
            dbport=5432 scheme=postgresql
        fi
        env+=("DATABASE_URL=$scheme://$name:$pw@localhost:$dbport/$name" "DB_HOST=localhost"
            "DB_PORT=$dbport" "DB_NAME=$name" "DB_USER=$name" "DB_PASSWORD=$pw")
    fi
    new="$(mktemp)"
    printf '%s\n' "${env[@]}" >"$new"
    if ! cmp -s "$new" "$dir/app.env"; then
        install -m 0600 -o root -g root "$new" "$dir/app.env"
        systemctl try-restart "ouvroir-app@$name.service"
    fi
    rm -f "$new"
done </etc/ouvroir/apps
# An app taken out of the list: stopped, its user may no longer log in; its database and files
# stay. Its database goes only when dropAppDatabases names it too (/etc/ouvroir/apps-drop).
drop=" $(tr '\n' ' ' </etc/ouvroir/apps-drop 2>/dev/null || true) "
while read -r old; do
    [[ -n "$old" && "$declared" != *" $old "* ]] || continue
    if [[ -d "$data/apps/$old" && ! -e "$data/apps/$old/.removed" ]]; then
        touch "$data/apps/$old/.removed"
        systemctl disable --now "ouvroir-app@$old.service" 2>/dev/null || true
        echo "app-setup: app $old taken out of the list: stopped, its database kept"
    fi
    if [[ "$drop" == *" $old "* ]]; then
        if [[ "$engine" == "mariadb" ]]; then
            printf '%s\n' "DROP DATABASE IF EXISTS \`$old\`;" "DROP USER IF EXISTS '$old'@'localhost';" | sql
        else
            printf '%s\n' "DROP DATABASE IF EXISTS \"$old\" WITH (FORCE);" "DROP ROLE IF EXISTS \"$old\";" | sql
        fi
        rm -f "$secrets/$old"
        echo "app-setup: database and user of app $old dropped, as dropAppDatabases asks"
    elif [[ "$engine" == "mariadb" ]]; then
        echo "ALTER USER IF EXISTS '$old'@'localhost' ACCOUNT LOCK;" | sql
    else
        echo "SELECT format('ALTER ROLE %I NOLOGIN', '$old') WHERE EXISTS (SELECT FROM pg_roles WHERE rolname = '$old')\gexec" | sql
    fi
done <"$known"
{
    tr ' ' '\n' <<<"$declared"
    while read -r old; do [[ "$drop" == *" $old "* ]] || echo "$old"; done <"$known"
} | sed '/^$/d' | sort -u >"$known.new"
mv -f "$known.new" "$known"

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
