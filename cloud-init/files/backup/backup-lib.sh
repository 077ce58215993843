# ouvroir backup library: sourced by ouvroir-backup and ouvroir-restore (installed by
# components/backup.ts as /usr/local/lib/ouvroir/backup-lib.sh). Not executable by itself.
#
# /etc/ouvroir/backup.conf (0644): what this role backs up, rendered from components/backup.ts.
# /etc/ouvroir/backup.env  (0600, root): repository, S3 keys, restic password. Nothing else
# holds them.

BACKUP_CONF="${OUVROIR_BACKUP_CONF:-/etc/ouvroir/backup.conf}"
BACKUP_ENV="${OUVROIR_BACKUP_ENV:-/etc/ouvroir/backup.env}"
BACKUP_EXCLUDES="${OUVROIR_BACKUP_EXCLUDES:-/etc/ouvroir/backup-excludes}"
BACKUP_STATE=/var/lib/ouvroir/backup
BACKUP_LOCK=/run/ouvroir-backup.lock

log() {
    echo "ouvroir-backup: $*" >&2
}

die() {
    log "ERROR: $*"
    exit 1
}

# Path-style S3 (https://host/bucket/...): Arbutus's object storage (Ceph) does not serve
# buckets as host names. restic's "auto" would pick it for a non-AWS host; said once, here.
restic() {
    command restic -o s3.bucket-lookup=path "$@"
}

load_backup_config() {
    [[ $EUID -eq 0 ]] || die "run as root (sudo)"
    [[ -r "$BACKUP_CONF" ]] || die "$BACKUP_CONF missing: the day-2 step has not configured backups"
    [[ -r "$BACKUP_ENV" ]] || die "$BACKUP_ENV missing: the day-2 step has not configured backups"
    # shellcheck source=/dev/null
    . "$BACKUP_CONF"
    set -a
    # shellcheck source=/dev/null
    . "$BACKUP_ENV"
    set +a
    export RESTIC_CACHE_DIR=/var/cache/restic
    DUMP_DIR="$BACKUP_DATA_DIR/backup-dumps"
    install -d -m 0700 "$BACKUP_STATE" "$RESTIC_CACHE_DIR"
}

# One backup or restore at a time (timer, operator, check); waits up to an hour for the other.
# The outcome of a run as textfile metrics for the node exporter (components/monitoring.ts):
# when it ran, whether it succeeded, and when the last success was (0: never).
write_backup_metrics() {
    local status="$1" dir="${OUVROIR_TEXTFILE_DIR:-/var/lib/prometheus/node-exporter}" last=0 tmp
    [[ -d "$dir" ]] || return 0
    if [[ -s "$BACKUP_STATE/last-success" ]]; then
        last="$(date -d "$(cat "$BACKUP_STATE/last-success")" +%s 2>/dev/null || echo 0)"
    fi
    tmp="$(mktemp "$dir/.ouvroir-backup.XXXXXX")" || return 0
    {
        echo "# HELP ouvroir_backup_last_run_success 1 when the last backup run succeeded."
        echo "# TYPE ouvroir_backup_last_run_success gauge"
        echo "ouvroir_backup_last_run_success $([[ "$status" == 0 ]] && echo 1 || echo 0)"
        echo "# HELP ouvroir_backup_last_run_timestamp_seconds When the last backup run ended."
        echo "# TYPE ouvroir_backup_last_run_timestamp_seconds gauge"
        echo "ouvroir_backup_last_run_timestamp_seconds $(date +%s)"
        echo "# HELP ouvroir_backup_last_success_timestamp_seconds When the last backup succeeded (0: never)."
        echo "# TYPE ouvroir_backup_last_success_timestamp_seconds gauge"
        echo "ouvroir_backup_last_success_timestamp_seconds $last"
    } >"$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$dir/ouvroir-backup.prom"
}

take_lock() {
    exec 9>"$BACKUP_LOCK"
    flock -w 3600 9 || die "another backup or restore holds $BACKUP_LOCK"
}

has_dump() {
    [[ " $BACKUP_DUMPS " == *" $1 "* ]]
}

# The SQL engine of the app role: the one whose unit is installed.
sql_engine() {
    if systemctl cat mariadb.service >/dev/null 2>&1; then
        echo mariadb
    elif systemctl cat postgresql.service >/dev/null 2>&1; then
        echo postgresql
    else
        echo none
    fi
}

# BaseX: databases live in DBPATH; CREATE BACKUP writes <db>-<timestamp>.zip there.
basex_dbpath() {
    echo "${BASEX_DBPATH:-$BACKUP_DATA_DIR/basex/data}"
}

# The short-lived BaseX JVMs (a client, a standalone restore) stop at the C1 compiler: a few
# commands gain nothing from C2 and start faster without it. Under emulation (the VM tests' TCG)
# the tiered JIT also crashed the JVM (SIGSEGV) in 3 runs of 37; C1 only, in none of 50.
BASEX_CLI_JAVA_OPTS=(-XX:TieredStopAtLevel=1)

# A BaseX command file run by a standalone BaseX as the basex user (the server must be stopped:
# a standalone process beside a running server could see half-written databases).
basex_offline() {
    local cmds="$1" file rc=0
    # shellcheck source=/dev/null
    . /etc/ouvroir/basex.env
    file="$(mktemp /run/ouvroir-backup-XXXXXX.bxs)"
    printf '%s\n' "$cmds" >"$file"
    chown basex "$file"
    runuser -u basex -- /usr/bin/java "${BASEX_CLI_JAVA_OPTS[@]}" -Dorg.basex.DBPATH="$(basex_dbpath)" -cp "$BASEX_CP" \
        org.basex.BaseX -c "$file" || rc=$?
    rm -f "$file"
    return $rc
}

# Commands run by the running BaseX server (port 1984) as admin, through BaseX's own client:
# the password goes on its standard input, never on a command line. Works with Debian's 9.7
# (no HTTP API) and with upstream BaseX alike.
basex_online() {
    local cmds="$1" file rc=0
    # shellcheck source=/dev/null
    . /etc/ouvroir/basex.env
    file="$(mktemp /run/ouvroir-backup-XXXXXX.bxs)"
    printf '%s\n' "$cmds" >"$file"
    # The client prompts "Password: " on stdout; the commands print nothing else we need.
    printf '%s\n' "$(cat "$BACKUP_DATA_DIR/basex/admin-password")" |
        /usr/bin/java "${BASEX_CLI_JAVA_OPTS[@]}" -cp "$BASEX_CP" org.basex.BaseXClient -p1984 -Uadmin -c "$file" >/dev/null || rc=$?
    rm -f "$file"
    return $rc
}

# The databases: directories of DBPATH holding BaseX's inf.basex.
basex_databases() {
    local dir
    for dir in "$(basex_dbpath)"/*/; do
        [[ -f "$dir/inf.basex" ]] && basename "$dir"
    done
    return 0
}

# Units matching the role's patterns that are active now (to stop and later start again).
active_units() {
    local pattern
    for pattern in $BACKUP_SERVICES; do
        systemctl list-units --state=active --plain --no-legend "$pattern" | awk '{print $1}'
    done
}

# Live database directories are never backed up (the dumps are): the role's static excludes plus
# one directory per BaseX database, listed at run time.
write_excludes() {
    local out="$1"
    cp "$BACKUP_EXCLUDES" "$out"
    if has_dump basex && [[ -d "$(basex_dbpath)" ]]; then
        find "$(basex_dbpath)" -mindepth 1 -maxdepth 1 -type d >>"$out"
    fi
}

# Account numbering, saved with each backup: a new VM may give the service accounts other ids.
save_accounts() {
    {
        getent passwd | awk -F: '{print "u", $1, $3}'
        getent group | awk -F: '{print "g", $1, $3}'
    } >"$DUMP_DIR/accounts.new"
    mv -f "$DUMP_DIR/accounts.new" "$DUMP_DIR/accounts"
}

# After a restore: files of the snapshot carry the old VM's ids; give each account's files to
# the same account here. Lists are made before any change, so swapped ids cannot chain; live
# directories (not in the snapshot, already numbered here) are left alone.
remap_owners() {
    local map="$DUMP_DIR/accounts" kind name old new flag i=0 tmp excl pattern
    [[ -f "$map" ]] || return 0
    tmp="$(mktemp -d)"
    excl="$tmp/excludes"
    write_excludes "$excl"
    local prune=()
    while read -r pattern; do
        [[ -n "$pattern" ]] && prune+=(-path "$pattern" -prune -o)
    done <"$excl"
    while read -r kind name old; do
        case "$kind" in
            u) new="$(getent passwd "$name" | cut -d: -f3 || true)" flag=-uid ;;
            g) new="$(getent group "$name" | cut -d: -f3 || true)" flag=-gid ;;
            *) continue ;;
        esac
        [[ -n "$new" && "$new" != "$old" ]] || continue
        log "$name: id $old on the old VM, $new here: files renumbered"
        find "$BACKUP_DATA_DIR" -xdev "${prune[@]}" "$flag" "$old" -print0 >"$tmp/list-$i-$kind-$new"
        i=$((i + 1))
    done <"$map"
    local f b
    for f in "$tmp"/list-*; do
        [[ -e "$f" ]] || continue
        b="$(basename "$f")"
        new="${b##*-}"
        case "$b" in
            *-u-*) xargs -0 -r chown -h "$new" <"$f" ;;
            *-g-*) xargs -0 -r chgrp -h "$new" <"$f" ;;
        esac
    done
    rm -rf "$tmp"
}
