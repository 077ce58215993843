#!/bin/bash
# Cantaloupe from its upstream zip (SHA-256 checked), as a systemd service; version, URL and
# checksum in settings.env.
set -euo pipefail
. /etc/ouvroir/settings.env
ver="$CANTALOUPE_VERSION"
dest="/opt/cantaloupe-$ver"
cache=/var/cache/ouvroir
install -d "$cache"
/usr/local/lib/ouvroir/fetch-verified "$CANTALOUPE_URL" "$CANTALOUPE_SHA256" "$cache/cantaloupe-$ver.zip"
if [[ ! -d "$dest" ]]; then
    tmp="$(mktemp -d)"
    unzip -q "$cache/cantaloupe-$ver.zip" -d "$tmp"
    mv "$tmp"/cantaloupe-* "$dest"
    rm -rf "$tmp"
fi
jar="$(ls "$dest"/cantaloupe-*.jar | head -n1)"
ln -sfn "$jar" "$dest/cantaloupe.jar"
ln -sfn "$dest" /opt/cantaloupe
if ! id cantaloupe >/dev/null 2>&1; then
    useradd --system --home-dir /opt/cantaloupe --shell /usr/sbin/nologin cantaloupe
fi
install -d -o cantaloupe -g cantaloupe -m 0755 "{{dataMount}}/iiif/cache"
/usr/local/sbin/ouvroir-enable cantaloupe.service
systemctl restart cantaloupe.service
