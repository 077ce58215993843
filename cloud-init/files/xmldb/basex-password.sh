#!/bin/bash
# Sets BaseX's admin password from {{dataMount}}/basex/admin-password (0600, root), generating
# it on first boot. No secret travels in user data; day-2 may replace the file, then restart.
set -euo pipefail
dir="{{dataMount}}/basex"
pwfile="$dir/admin-password"
stamp="$dir/data/.admin-password.applied"
install -d -o basex -g basex -m 0750 "$dir" "$dir/data" "$dir/repo"
if [[ ! -s "$pwfile" ]]; then
    (umask 077 && openssl rand -base64 32 | tr -dc 'A-Za-z0-9' >"$pwfile")
fi
chown root:root "$pwfile"
chmod 0600 "$pwfile"
sum="$(sha256sum "$pwfile" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$sum" ]]; then
    exit 0
fi
cmd="$(mktemp /run/ouvroir-basex-XXXXXX.bxs)"
trap 'rm -f "$cmd"' EXIT
printf 'ALTER PASSWORD admin %s\n' "$(cat "$pwfile")" >"$cmd"
chown basex "$cmd"
chmod 0400 "$cmd"
# C1 only: a one-command JVM starts faster (and the tiered JIT crashed under the tests' TCG).
runuser -u basex -- /usr/bin/java -XX:TieredStopAtLevel=1 -Dorg.basex.DBPATH="$dir/data" -cp "$BASEX_CP" org.basex.BaseX -c "$cmd"
echo "$sum" >"$stamp"
chown basex:basex "$stamp"
echo "ouvroir: BaseX admin password applied"
