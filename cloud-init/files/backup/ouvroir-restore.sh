#!/bin/bash
# ouvroir-restore: puts this VM's data volume back from an off-site restic snapshot (installed by
# components/backup.ts as /usr/local/sbin/ouvroir-restore).
#
#   ouvroir-restore [SNAPSHOT]   default: the latest snapshot of this host
#
# Stops the role's services, restores the data volume's files, renumbers their owners for this
# VM's accounts (a new VM may number them differently), reloads the dumps (BaseX
# RESTORE, SQL import) and starts the services again. Files created after the snapshot are
# kept (restic 0.14 restores, it does not delete); databases are reset to their dumps.
set -euo pipefail
# shellcheck source=backup-lib.sh
. /usr/local/lib/ouvroir/backup-lib.sh

snapshot="${1:-latest}"
load_backup_config
take_lock
started=$(date +%s)

# Fail before stopping anything when the snapshot is not there (restic lists nothing, exit 0).
if ! restic snapshots --json --host "$BACKUP_HOST" "$snapshot" 2>/dev/null | grep -q '"id"'; then
    die "no snapshot '$snapshot' for host $BACKUP_HOST in $RESTIC_REPOSITORY (see: ouvroir-backup snapshots)"
fi

mapfile -t units < <(active_units)
if [[ ${#units[@]} -gt 0 ]]; then
    log "stopping ${units[*]}"
    systemctl stop "${units[@]}"
fi
# A failed restore leaves the services stopped: half-restored data must not be served or written.
trap 'log "restore FAILED: ${units[*]:-no service} left stopped; fix the cause and run ouvroir-restore again"' ERR

log "restoring snapshot $snapshot of $BACKUP_HOST into $BACKUP_DATA_DIR"
# restic 0.14 (Debian 12) does not replace an existing symlink ("file exists"), and a rebuilt
# VM's setup has already made some (an app's venv): remove those the snapshot brings back.
# cloud-init's python3 is on every VM.
restic ls --json --host "$BACKUP_HOST" "$snapshot" | python3 -c '
import json, os, sys
root = sys.argv[1].rstrip("/") + "/"
for line in sys.stdin:
    node = json.loads(line)
    path = node.get("path", "")
    if node.get("type") == "symlink" and path.startswith(root) and os.path.islink(path):
        os.unlink(path)
' "$BACKUP_DATA_DIR"
restic restore "$snapshot" --host "$BACKUP_HOST" --target / --include "$BACKUP_DATA_DIR"

remap_owners

if has_dump basex; then
    dbpath="$(basex_dbpath)"
    cmds=""
    shopt -s nullglob
    for zip in "$DUMP_DIR"/basex/*.zip; do
        # The archive's full name (database-timestamp): "my" never picks "my-db"'s archive.
        name="$(basename "$zip" .zip)"
        install -o basex -g basex -m 0640 "$zip" "$dbpath/"
        cmds+="RESTORE $name"$'\n'
    done
    shopt -u nullglob
    if [[ -n "$cmds" ]]; then
        systemctl stop basex.service
        log "BaseX: $(echo -n "$cmds" | grep -c .) database(s) to restore"
        basex_offline "$cmds"
        for zip in "$DUMP_DIR"/basex/*.zip; do
            rm -f "$dbpath/$(basename "$zip")"
        done
    fi
fi

if has_dump sql; then
    case "$(sql_engine)" in
        mariadb)
            dump="$DUMP_DIR/sql/all-databases.sql"
            [[ -f "$dump" ]] || die "no MariaDB dump in the snapshot ($dump)"
            systemctl start mariadb.service
            mariadb <"$dump"
            mariadb -e "FLUSH PRIVILEGES"
            log "MariaDB: dump imported ($(stat -c %s "$dump") bytes)"
            ;;
        postgresql)
            dump="$DUMP_DIR/sql/postgresql.sql"
            [[ -f "$dump" ]] || die "no PostgreSQL dump in the snapshot ($dump)"
            systemctl start postgresql.service
            # The dump recreates roles that exist already (postgres): those errors are expected.
            runuser -u postgres -- psql -X -q -d postgres <"$dump" >/dev/null
            log "PostgreSQL: dump imported ($(stat -c %s "$dump") bytes)"
            ;;
        *) die "the role has an SQL dump but neither mariadb nor postgresql is installed" ;;
    esac
fi

if [[ ${#units[@]} -gt 0 ]]; then
    log "starting ${units[*]}"
    systemctl start "${units[@]}"
fi
# The role's own setup (idempotent) enables what the restored data brings (apps, sites).
for hook in $BACKUP_AFTER_RESTORE; do
    if [[ -x "$hook" ]]; then
        log "running $hook"
        "$hook"
    fi
done
log "restore of $snapshot finished in $(($(date +%s) - started)) s"
