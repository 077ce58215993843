#!/bin/bash
# Julia from its upstream tarball (SHA-256 checked); version, URL and checksum in settings.env.
set -euo pipefail
. /etc/ouvroir/settings.env
ver="$JULIA_VERSION"
cache=/var/cache/ouvroir
install -d "$cache"
/usr/local/lib/ouvroir/fetch-verified "$JULIA_URL" "$JULIA_SHA256" "$cache/julia-$ver.tar.gz"
if [[ ! -x "/opt/julia-$ver/bin/julia" ]]; then
    install -d "/opt/julia-$ver"
    tar -xzf "$cache/julia-$ver.tar.gz" -C "/opt/julia-$ver" --strip-components=1
fi
ln -sfn "/opt/julia-$ver/bin/julia" /usr/local/bin/julia
