#!/bin/bash
# Usage: fetch-verified URL SHA256 DEST
# Downloads URL to DEST only if its SHA-256 matches; otherwise fails loudly and leaves nothing.
set -euo pipefail
url="$1" sum="$2" dest="$3"
if [[ ! "$sum" =~ ^[0-9a-f]{64}$ ]]; then
    echo "fetch-verified: refusing $url: '$sum' is not a SHA-256" >&2
    exit 2
fi
if [[ -f "$dest" ]] && echo "$sum  $dest" | sha256sum -c --status; then
    exit 0
fi
tmp="$(mktemp "${dest}.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
curl -fsSL --retry 5 --retry-delay 3 --connect-timeout 20 -o "$tmp" "$url"
if ! echo "$sum  $tmp" | sha256sum -c --status; then
    echo "fetch-verified: SHA-256 MISMATCH for $url (expected $sum, got $(sha256sum "$tmp" | cut -d' ' -f1))" >&2
    exit 1
fi
mv "$tmp" "$dest"
trap - EXIT
echo "fetch-verified: $url OK"
