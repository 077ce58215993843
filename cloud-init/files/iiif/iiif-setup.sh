#!/bin/bash
# Images directory on the volume (readable by the image server), then the server installed.
set -euo pipefail
install -d -m 0755 "{{dataMount}}/iiif" "{{dataMount}}/iiif/images"
if [[ -x /usr/local/sbin/ouvroir-cantaloupe-install ]]; then
    /usr/local/sbin/ouvroir-cantaloupe-install
else
    install -d -o www-data -g www-data /run/lighttpd /var/log/lighttpd
    /usr/local/sbin/ouvroir-enable lighttpd.service
    systemctl restart lighttpd.service
fi
for _ in $(seq 1 90); do
    if curl -s -o /dev/null http://127.0.0.1:8182/; then
        echo "ouvroir: IIIF server answers on 8182"
        exit 0
    fi
    sleep 2
done
echo "ouvroir: IIIF server did not answer on 8182 after 180 s" >&2
exit 1
