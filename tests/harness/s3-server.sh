#!/usr/bin/env bash
# A real S3-compatible server on this host for the backup tests: rclone's `serve s3` over a
# local directory, with SigV4 keys and one bucket. Built once from the Go module proxy (a slim
# main with only the local backend and the serve commands, not all ~70 cloud backends) into a
# cache outside the repo; later runs reuse the binary.
#
#   tests/harness/s3-server.sh install   build (or reuse) the binary; prints its path
#   tests/harness/s3-server.sh start     start it (idempotent); prints the settings as KEY=value lines
#   tests/harness/s3-server.sh stop      stop it and keep the stored objects
#   tests/harness/s3-server.sh status    exit 0 when it answers
#
# Environment (defaults in brackets):
#   OUVROIR_S3_ADDR     listen address [10.209.0.1:9000 when the VM bridge ouvbr0 holds
#                       10.209.0.1, else 127.0.0.1:9000]; never a wildcard address
#   OUVROIR_S3_DIR      objects and pid file [/var/cache/ouvroir/s3]
#   OUVROIR_S3_BUCKET   [ouvroir-backups]
#   OUVROIR_S3_ACCESS_KEY / OUVROIR_S3_SECRET_KEY   [fixed test keys: a test server only]
#   OUVROIR_TOOLS_DIR   [/var/cache/ouvroir/tools]
set -euo pipefail

RCLONE_VERSION="v1.76.0"
tools="${OUVROIR_TOOLS_DIR:-/var/cache/ouvroir/tools}"
build_dir="$tools/rclone-s3-$RCLONE_VERSION"
bin="$build_dir/rclone-s3"
state="${OUVROIR_S3_DIR:-/var/cache/ouvroir/s3}"
bucket="${OUVROIR_S3_BUCKET:-ouvroir-backups}"
access_key="${OUVROIR_S3_ACCESS_KEY:-ouvroirtestaccess}"
secret_key="${OUVROIR_S3_SECRET_KEY:-ouvroirtestsecret0123456789}"
pidfile="$state/server.pid"
logfile="$state/server.log"

default_addr() {
    if ip -br addr show dev ouvbr0 2>/dev/null | grep -q ' 10\.209\.0\.1/'; then
        echo "10.209.0.1:9000"
    else
        echo "127.0.0.1:9000"
    fi
}
addr="${OUVROIR_S3_ADDR:-$(default_addr)}"
case "$addr" in
    0.0.0.0:* | :* | \[::\]:*)
        echo "s3-server: refusing wildcard address $addr" >&2
        exit 2
        ;;
esac

install_bin() {
    if [[ -x "$bin" ]]; then
        echo "$bin"
        return
    fi
    if ! command -v go >/dev/null 2>&1; then
        if [[ -x /usr/local/go/bin/go ]]; then
            export PATH="/usr/local/go/bin:$PATH"
        else
            echo "s3-server: go is not installed (needed to build rclone from Go modules)" >&2
            exit 1
        fi
    fi
    local src="$build_dir/src"
    mkdir -p "$src"
    # Only what `serve s3` over a directory needs: the full rclone links every cloud SDK.
    cat >"$src/main.go" <<'GO'
// rclone with the local backend and the serve commands only, for the backup tests.
package main

import (
	_ "github.com/rclone/rclone/backend/local"
	"github.com/rclone/rclone/cmd"
	_ "github.com/rclone/rclone/cmd/serve"
	_ "github.com/rclone/rclone/cmd/serve/s3"
)

func main() {
	cmd.Main()
}
GO
    cat >"$src/go.mod" <<GOMOD
module ouvroir.local/rclone-s3

go 1.24

require github.com/rclone/rclone $RCLONE_VERSION
GOMOD
    echo "s3-server: building rclone $RCLONE_VERSION (serve s3 only) into $build_dir" >&2
    local started=$SECONDS
    (
        cd "$src"
        GOFLAGS="-mod=mod" nice -n 10 go mod tidy >&2
        CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w" -o "$bin.tmp" . >&2
    )
    mv -f "$bin.tmp" "$bin"
    echo "s3-server: built in $((SECONDS - started)) s" >&2
    echo "$bin"
}

answers() {
    # Any HTTP status means the server is up (anonymous requests get 403).
    curl -s -o /dev/null -m 5 "http://$addr/" 2>/dev/null
}

print_settings() {
    echo "S3_ENDPOINT=http://$addr"
    echo "S3_BUCKET=$bucket"
    echo "S3_ACCESS_KEY=$access_key"
    echo "S3_SECRET_KEY=$secret_key"
}

running_pid() {
    [[ -f "$pidfile" ]] || return 1
    local pid
    pid="$(cat "$pidfile")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
    install_bin >/dev/null
    mkdir -p "$state/objects/$bucket"
    if running_pid >/dev/null && answers; then
        print_settings
        return
    fi
    # Something else answers there (another run's server, with its own directory and keys):
    # ours could not bind, and the other would serve the test. Refuse instead.
    if answers; then
        echo "s3-server: $addr already answers, but not with this server ($pidfile); stop it or set OUVROIR_S3_ADDR" >&2
        exit 1
    fi
    # setsid: its own session, so a test runner's process group signals do not reach it.
    RCLONE_AUTH_KEY="\"$access_key,$secret_key\"" setsid "$bin" serve s3 "$state/objects" \
        --addr "$addr" --config /dev/null --log-level NOTICE \
        >"$logfile" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 50); do
        if kill -0 "$(cat "$pidfile")" 2>/dev/null && answers; then
            print_settings
            return
        fi
        sleep 0.2
    done
    echo "s3-server: no answer on $addr after 10 s" >&2
    tail -n 20 "$logfile" >&2
    exit 1
}

stop() {
    local pid
    if pid="$(running_pid)"; then
        kill "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$pidfile"
}

case "${1:-}" in
    install) install_bin ;;
    start) start ;;
    stop) stop ;;
    status) running_pid >/dev/null && answers ;;
    *)
        echo "usage: $0 install|start|stop|status" >&2
        exit 2
        ;;
esac
