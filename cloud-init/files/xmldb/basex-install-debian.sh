#!/bin/bash
# BaseX 9.7.2 from Debian's archive (only its jar: the package depends on a full desktop JRE),
# its HTTP API jar from Maven Central (SHA-256 checked: Debian does not package it), on
# Debian's Jetty 9, servlet API and Saxon-HE.
set -euo pipefail
dest=/opt/basex-debian
cache=/var/cache/ouvroir
install -d "$cache" "$dest"
if [[ ! -f "$dest/basex.jar" ]]; then
    tmp="$(mktemp -d)"
    (cd "$tmp" && apt-get download basex && dpkg-deb -x basex_*.deb root)
    install -m 0644 "$tmp/root/usr/share/java/basex.jar" "$dest/basex.jar"
    rm -rf "$tmp"
fi
/usr/local/lib/ouvroir/fetch-verified \
    "https://repo1.maven.org/maven2/org/basex/basex-api/9.7.2/basex-api-9.7.2.jar" \
    "473674eb309cf9d08375fe50c067435fbfbc6d718fe8a9dc85df92b505922598" "$cache/basex-api-9.7.2.jar"
install -m 0644 "$cache/basex-api-9.7.2.jar" "$dest/basex-api.jar"
ln -sfn "$dest" /opt/basex
cp_="$dest/basex.jar:$dest/basex-api.jar"
for j in server servlet webapp xml security http io util; do cp_="$cp_:/usr/share/java/jetty9-$j.jar"; done
cat >/etc/ouvroir/basex.env <<ENV
BASEX_CP=$cp_:/usr/share/java/servlet-api.jar:/usr/share/java/Saxon-HE.jar
BASEX_WEBPATH=/etc/ouvroir/basex-webapp
BASEX_HEAP=1g
ENV
