#!/bin/bash
# ouvroir-backup: off-site backup of this VM's data volume with restic (installed by
# components/backup.ts as /usr/local/sbin/ouvroir-backup; run daily by ouvroir-backup.timer).
#
#   ouvroir-backup [run]         consistent dumps, restic backup of the data volume, retention
#   ouvroir-backup dump          the dumps only (into <data>/backup-dumps)
#   ouvroir-backup check         restic check, reading a random 5 % of the packs
#   ouvroir-backup snapshots     this VM's snapshots
#   ouvroir-backup restic ARGS   any restic command against this VM's repository
#
# Databases are never copied as live files: BaseX databases go through CREATE BACKUP (run by
# the server, which holds each database's lock) and SQL
# through mariadb-dump --single-transaction / pg_dumpall; their live directories are excluded.
set -euo pipefail
# shellcheck source=backup-lib.sh
. /usr/local/lib/ouvroir/backup-lib.sh

dump_basex() {
    local dbpath dest new db zip dbs
    dbpath="$(basex_dbpath)"
    dest="$DUMP_DIR/basex"
    new="$DUMP_DIR/basex.new"
    rm -rf "$new"
    install -d -m 0700 "$new"
    # A restart in progress (day-2, the timer racing an operator) ends once BaseX accepts
    # connections (basex.service's ExecStartPost): wait for it rather than fail the night's dump.
    local _
    for _ in $(seq 1 300); do
        [[ "$(systemctl is-active basex.service || true)" == activating ]] || break
        sleep 1
    done
    systemctl is-active --quiet basex.service || die "basex.service is not running: no consistent dump"
    # Stale archives of an interrupted run would be taken for this run's.
    find "$dbpath" -maxdepth 1 -name '*.zip' -delete
    dbs="$(basex_databases)"
    for db in $dbs; do
        # The server holds the database's lock while it writes the archive: a consistent copy.
        basex_online "CREATE BACKUP $db" || die "BaseX could not back up database $db"
        zip="$(find "$dbpath" -maxdepth 1 -name "$db-*.zip" -newer "$new" -print | sort | tail -n1)"
        [[ -n "$zip" ]] || die "BaseX made no backup archive for database $db"
        mv "$zip" "$new/"
        log "BaseX database $db: $(basename "$zip") ($(stat -c %s "$new/$(basename "$zip")") bytes)"
    done
    # The previous dumps are replaced only once every database has its new one.
    rm -rf "$dest"
    mv "$new" "$dest"
    log "BaseX: $(echo "$dbs" | grep -c . || true) database(s) dumped"
}

dump_sql() {
    local engine dest
    engine="$(sql_engine)"
    dest="$DUMP_DIR/sql"
    install -d -m 0700 "$dest"
    case "$engine" in
        mariadb)
            # One transaction: a consistent InnoDB view without locking the applications out.
            mariadb-dump --single-transaction --all-databases --routines --events --triggers \
                --flush-privileges >"$dest/all-databases.sql.new"
            rm -f "$dest/postgresql.sql"
            mv -f "$dest/all-databases.sql.new" "$dest/all-databases.sql"
            ;;
        postgresql)
            runuser -u postgres -- pg_dumpall --clean --if-exists >"$dest/postgresql.sql.new"
            rm -f "$dest/all-databases.sql"
            mv -f "$dest/postgresql.sql.new" "$dest/postgresql.sql"
            ;;
        *) die "the role has an SQL dump but neither mariadb nor postgresql is installed" ;;
    esac
    log "SQL ($engine): $(du -b "$dest" | cut -f1) bytes dumped"
}

dumps() {
    install -d -m 0700 "$DUMP_DIR"
    save_accounts
    has_dump basex && dump_basex
    has_dump sql && dump_sql
    return 0
}

backup() {
    local started excludes summary
    started=$(date +%s)
    dumps
    excludes="$(mktemp)"
    write_excludes "$excludes"
    summary="$BACKUP_STATE/last-summary.json"
    restic backup --json --host "$BACKUP_HOST" --tag ouvroir --one-file-system --exclude-caches \
        --exclude-file "$excludes" "$BACKUP_DATA_DIR" >"$BACKUP_STATE/last-backup.json"
    rm -f "$excludes"
    grep '"message_type":"summary"' "$BACKUP_STATE/last-backup.json" >"$summary" || true
    log "backup done: $(cat "$summary")"
    restic forget --host "$BACKUP_HOST" --tag ouvroir --prune \
        --keep-daily "$BACKUP_KEEP_DAILY" --keep-weekly "$BACKUP_KEEP_WEEKLY" \
        --keep-monthly "$BACKUP_KEEP_MONTHLY"
    date -u +%FT%TZ >"$BACKUP_STATE/last-success"
    log "run finished in $(($(date +%s) - started)) s"
}

main() {
    local cmd="${1:-run}"
    [[ $# -gt 0 ]] && shift
    # A run reports its outcome to the monitoring host (BackupFailed, BackupMissing), whatever
    # stops it: its settings or keys missing too.
    [[ "$cmd" == run ]] && trap 'write_backup_metrics $?' EXIT
    load_backup_config
    case "$cmd" in
        run)
            take_lock
            backup
            ;;
        dump)
            take_lock
            dumps
            ;;
        check)
            take_lock
            restic check --read-data-subset 5%
            ;;
        snapshots) restic snapshots --host "$BACKUP_HOST" "$@" ;;
        restic) restic "$@" ;;
        *) die "unknown command $cmd (run, dump, check, snapshots, restic)" ;;
    esac
}

main "$@"
