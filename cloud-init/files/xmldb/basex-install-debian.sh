#!/bin/bash
# BaseX 9.7.2 from Debian's archive: only its jar, since the package depends on a desktop JRE.
# Debian packages no BaseX HTTP API: BaseX runs as a server on 1984 and a minimal REST gateway
# (basex-rest-gateway.service) answers on 8080. Saxon-HE from Debian on the class path.
set -euo pipefail
dest=/opt/basex-debian
install -d "$dest"
if [[ ! -f "$dest/basex.jar" ]]; then
    tmp="$(mktemp -d)"
    chmod 0755 "$tmp"
    (cd "$tmp" && apt-get download basex && dpkg-deb -x basex_*.deb root)
    install -m 0644 "$tmp/root/usr/share/java/basex.jar" "$dest/basex.jar"
    rm -rf "$tmp"
fi
ln -sfn "$dest" /opt/basex
cat >/etc/ouvroir/basex.env <<ENV
BASEX_CP=$dest/basex.jar:/usr/share/java/Saxon-HE.jar
BASEX_MAIN=org.basex.BaseXServer
BASEX_ARGS=-p1984
BASEX_READY_PORTS=1984
BASEX_WEBPATH=/opt/basex/webapp
BASEX_HEAP=1g
ENV
/usr/local/sbin/ouvroir-enable basex-rest-gateway.service
