#!/bin/bash
# App server: the apps declared in config, run by ouvroir-app-setup after the SQL server is up.
set -euo pipefail
data="{{dataMount}}"
. /etc/ouvroir/settings.env
engine="$SQL_ENGINE"

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
