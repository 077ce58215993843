#!/usr/bin/env bash
# Runs the README's quick start (the sh block between <!-- quick-start --> markers) literally,
# one command at a time, on a clean clone of this checkout's HEAD beside the same ../shared.
# Fails on the first command that fails, or when the block is missing or empty.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
block="$(awk '/^<!-- quick-start -->$/{f=1; next} /^<!-- \/quick-start -->$/{f=0} f' "$repo/README.md" |
    sed -n '/^```sh$/,/^```$/p' | sed '/^```/d')"
# The commands: each line without its comment; comment-only lines are the previous one's notes.
mapfile -t commands < <(sed -E 's/[[:space:]]+#.*$//; /^[[:space:]]*(#.*)?$/d' <<<"$block")
((${#commands[@]} > 0)) || { echo "quick-start: no commands between the README's markers" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/ouvroir-infra"
[[ -d "$repo/../shared" ]] && ln -s "$(cd "$repo/../shared" && pwd)" "$work/shared"
cd "$work/ouvroir-infra"
for c in "${commands[@]}"; do
    start=$(date +%s)
    echo "quick-start: \$ $c"
    bash -c "$c" </dev/null
    echo "quick-start: ok in $(($(date +%s) - start)) s"
done
echo "quick-start: ${#commands[@]} commands passed on a clean clone of $(git rev-parse --short HEAD)"
