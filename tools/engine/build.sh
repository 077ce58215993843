#!/usr/bin/env bash
# Build (or reuse) the Pulumi engine from Go modules: the CLI pinned by tools/engine/go.mod (its
# `tool` lines) and our bridged OpenStack provider (tools/engine/openstack, its own module: the
# bridge needs an older pkg/v3 than the CLI), into a cache outside the repo. The provider's schema
# is written beside it and checked against the npm SDK (tools/engine/schema-check.ts). The last line printed on stdout is the bin directory, so callers can do
#   PATH="$(bash tools/engine/build.sh | tail -1):$PATH"
# Environment:
#   OUVROIR_ENGINE_DIR          cache root (default /var/cache/ouvroir/engine)
#   OUVROIR_ENGINE_REQUIRE_ALL  1 = exit 3 when a wanted binary could not be built (default 0)
#   OUVROIR_ENGINE_GOFLAGS      extra go build flags, e.g. "-p=1" when the machine is busy
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mod_dir="$repo/tools/engine"
self="$repo/tools/engine/build.sh"
engine_root="${OUVROIR_ENGINE_DIR:-/var/cache/ouvroir/engine}"
require_all="${OUVROIR_ENGINE_REQUIRE_ALL:-0}"

# Every binary the program needs, with the module version matching the npm SDKs in
# package-lock.json. Those without a `tool` line in go.mod are the ones the Go module proxy does
# not serve (see tools/engine/README.md); they are probed and reported, never faked.
wanted=(
    "pulumi github.com/pulumi/pulumi/pkg/v3@v3.248.0"
    "pulumi-language-nodejs github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@v3.248.0"
    "pulumi-resource-random github.com/pulumi/pulumi-random/provider/v4@v4.21.2"
    "pulumi-resource-command github.com/pulumi/pulumi-command/provider@v1.2.1"
)

# Version variables stamped at link time; -X on a symbol a binary does not link is ignored, so
# one set serves every binary. The CLI's is what `pulumi version` prints.
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.248.0"

if ! command -v go > /dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then
        export PATH="/usr/local/go/bin:$PATH"
    else
        echo "engine: go is not installed (needed to build the engine from Go modules)" >&2
        exit 1
    fi
fi

os_dir="$mod_dir/openstack"
key="$(cat "$mod_dir/go.mod" "$mod_dir/go.sum" "$os_dir/go.mod" "$os_dir/go.sum" "$os_dir/main.go" \
    "$self" | sha256sum | cut -c1-16)"
key_dir="$engine_root/$key"
bin="$key_dir/bin"

# The CLI must never reach for the network on its own in tests either.
export PULUMI_SKIP_UPDATE_CHECK=true

print_status() {
    if [ -s "$key_dir/BLOCKED" ]; then
        echo "engine: INCOMPLETE: these binaries cannot be built from the Go module proxy:"
        sed 's/^/engine:   /' "$key_dir/BLOCKED"
    fi
}

finish() {
    print_status
    if [ "$require_all" = "1" ] && [ -s "$key_dir/BLOCKED" ]; then
        echo "engine: OUVROIR_ENGINE_REQUIRE_ALL=1 and the engine is incomplete" >&2
        exit 3
    fi
    echo "$bin"
}

if [ -f "$key_dir/.complete" ]; then
    echo "engine: reused $key_dir ($(find "$bin" -type f -printf '%f '))"
    finish
    exit 0
fi

mkdir -p "$engine_root"
# Two callers at once (CI steps, helpers) must not build into the same directory.
exec 9> "$engine_root/.lock"
if command -v flock > /dev/null 2>&1; then
    flock 9
fi
if [ -f "$key_dir/.complete" ]; then
    echo "engine: reused $key_dir (built by a concurrent caller)"
    finish
    exit 0
fi

gomodcache="$(go env GOMODCACHE)"
gocache="$(go env GOCACHE)"
du_mb() { if [ -d "$1" ]; then du -sm "$1" | cut -f1; else echo 0; fi; }
modcache_before="$(du_mb "$gomodcache")"
gocache_before="$(du_mb "$gocache")"

tmp="$(mktemp -d "$engine_root/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"

cd "$mod_dir"
# go.sum is committed: readonly makes a missing or changed checksum an error, not a download.
export GOFLAGS="-mod=readonly -buildvcs=false"
# Modules come from the proxy only: a module it lacks must fail here, not fall back to a VCS host.
GOPROXY="$(go env GOPROXY | sed -e 's/[,|]direct//g')"
if [ "$GOPROXY" = "direct" ]; then
    GOPROXY=off
fi
export GOPROXY
started="$(date +%s)"
echo "engine: cold build into $key_dir ($(go version))"

# The binary name is what `go build` would pick: the last path element, minus a /vN suffix.
binary_name() {
    local base
    base="$(basename "$1")"
    if [[ "$base" =~ ^v[0-9]+$ ]]; then
        base="$(basename "$(dirname "$1")")"
    fi
    echo "$base"
}

# CPU seconds used so far by this shell's children (the second line of `times`): a figure that,
# unlike wall time, does not depend on what else the machine is doing. `times` must run in this
# shell, not in a $(...) subshell, so the result goes to the variable cpu.
cpu=0
read_cpu() {
    times > "$tmp/times"
    cpu="$(sed -n 2p "$tmp/times" | awk 'function sec(t,  m) {
        m = t; sub(/m.*/, "", m); sub(/^[0-9]+m/, "", t); sub(/s$/, "", t); return m * 60 + t
    } { printf "%d", sec($1) + sec($2) }')"
}

mapfile -t tools < <(go list tool)
for pkg in "${tools[@]}"; do
    name="$(binary_name "$pkg")"
    t0="$(date +%s)"
    read_cpu
    cpu0="$cpu"
    # shellcheck disable=SC2086 # OUVROIR_ENGINE_GOFLAGS is a list of flags
    nice -n 10 go build -trimpath -ldflags "$ldflags" ${OUVROIR_ENGINE_GOFLAGS:-} \
        -o "$tmp/bin/$name" "$pkg"
    size="$(du -m "$tmp/bin/$name" | cut -f1)"
    read_cpu
    echo "engine: built $name in $(($(date +%s) - t0)) s wall," \
        "$((cpu - cpu0)) s CPU (${size} MB)"
done

# Our bridged OpenStack provider (tools/engine/README.md says what it is and how it is checked),
# then its Pulumi schema beside it: the provider serves it to the engine (GetSchema).
t0="$(date +%s)"
read_cpu
cpu0="$cpu"
# shellcheck disable=SC2086 # OUVROIR_ENGINE_GOFLAGS is a list of flags
(cd "$os_dir" && nice -n 10 go build -trimpath -ldflags "-s -w" ${OUVROIR_ENGINE_GOFLAGS:-} \
    -o "$tmp/bin/pulumi-resource-openstack" .)
read_cpu
echo "engine: built pulumi-resource-openstack in $(($(date +%s) - t0)) s wall," \
    "$((cpu - cpu0)) s CPU ($(du -m "$tmp/bin/pulumi-resource-openstack" | cut -f1) MB)"
# The schema generator warns that it cannot find the upstream docs (not needed at run time).
"$tmp/bin/pulumi-resource-openstack" schema > "$tmp/bin/pulumi-resource-openstack.schema.json" \
    2> "$tmp/schema.log" || { cat "$tmp/schema.log" >&2; exit 1; }
echo "engine: $("$tmp/bin/pulumi-resource-openstack" -version): schema of" \
    "$(grep -c '"inputProperties"' "$tmp/bin/pulumi-resource-openstack.schema.json") resources written"

# Probe each wanted binary that go.mod cannot name, from a scratch module so ours is untouched,
# and record the proxy's own answer.
: > "$tmp/BLOCKED"
for entry in "${wanted[@]}"; do
    name="${entry%% *}"
    modver="${entry#* }"
    if [ -x "$tmp/bin/$name" ]; then
        continue
    fi
    answer="$(cd "$tmp" && { GOFLAGS=-mod=mod go list -m -json "$modver" 2>&1 || true; } |
        tr -s '\t\n' '  ' | sed -e "s|^go: $modver: ||")"
    echo "$name: $modver: $answer" >> "$tmp/BLOCKED"
done

elapsed="$(($(date +%s) - started))"
mkdir -p "$key_dir"
rm -rf "$bin"
mv "$tmp/bin" "$bin"
mv "$tmp/BLOCKED" "$key_dir/BLOCKED"
touch "$key_dir/.complete"

echo "engine: cold build took ${elapsed} s"
echo "engine: disk: binaries $(du_mb "$bin") MB;" \
    "GOMODCACHE +$(($(du_mb "$gomodcache") - modcache_before)) MB (now $(du_mb "$gomodcache") MB);" \
    "GOCACHE +$(($(du_mb "$gocache") - gocache_before)) MB (now $(du_mb "$gocache") MB)"
finish
