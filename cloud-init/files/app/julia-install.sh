#!/bin/bash
# Julia {{juliaVersion}} from its upstream tarball (SHA-256 checked).
set -euo pipefail
ver="{{juliaVersion}}"
cache=/var/cache/ouvroir
install -d "$cache"
/usr/local/lib/ouvroir/fetch-verified "{{juliaUrl}}" "{{juliaSha256}}" "$cache/julia-$ver.tar.gz"
if [[ ! -x "/opt/julia-$ver/bin/julia" ]]; then
    install -d "/opt/julia-$ver"
    tar -xzf "$cache/julia-$ver.tar.gz" -C "/opt/julia-$ver" --strip-components=1
fi
ln -sfn "/opt/julia-$ver/bin/julia" /usr/local/bin/julia
