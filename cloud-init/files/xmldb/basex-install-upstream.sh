#!/bin/bash
# BaseX from its upstream zip (SHA-256 checked), Saxon beside it; versions, URLs and checksums
# in settings.env.
set -euo pipefail
. /etc/ouvroir/settings.env
ver="$BASEX_VERSION"
dest="/opt/basex-$ver"
cache=/var/cache/ouvroir
install -d "$cache"
/usr/local/lib/ouvroir/fetch-verified "$BASEX_URL" "$BASEX_SHA256" "$cache/basex-$ver.zip"
if [[ ! -f "$dest/BaseX.jar" && ! -f "$dest/basex.jar" ]]; then
    tmp="$(mktemp -d)"
    unzip -q "$cache/basex-$ver.zip" -d "$tmp"
    rm -rf "$dest"
    mv "$tmp/basex" "$dest"
    rm -rf "$tmp"
fi
ln -sfn "$dest" /opt/basex
install -d /opt/basex/lib/custom
saxon="$cache/$(basename "$SAXON_URL")"
/usr/local/lib/ouvroir/fetch-verified "$SAXON_URL" "$SAXON_SHA256" "$saxon"
case "$saxon" in
    *.zip) unzip -qo -j "$saxon" '*.jar' -d /opt/basex/lib/custom ;;
    *.jar) install -m 0644 "$saxon" /opt/basex/lib/custom/ ;;
    *) echo "Saxon download must be a .zip or a .jar: $saxon" >&2; exit 1 ;;
esac
# The zip's jar is BaseX.jar (basex.jar in some releases). Not `ls a b | head`: one of the two
# is always missing, ls then fails, and pipefail ended the install there.
jar=/opt/basex/BaseX.jar
[[ -f "$jar" ]] || jar=/opt/basex/basex.jar
[[ -f "$jar" ]] || { echo "basex-install: no BaseX.jar in $BASEX_URL's basex/ folder" >&2; exit 1; }
cat >/etc/ouvroir/basex.env <<ENV
BASEX_CP=$jar:/opt/basex/lib/*:/opt/basex/lib/custom/*
BASEX_MAIN=org.basex.BaseXHTTP
BASEX_ARGS=-h8080 -p1984
BASEX_READY_PORTS="1984 8080"
BASEX_WEBPATH=/opt/basex/webapp
BASEX_HEAP=1g
ENV
