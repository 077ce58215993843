#!/bin/bash
# Images directory on the volume (readable by the image server), then the server installed.
set -euo pipefail
install -d -m 0755 "{{dataMount}}/iiif" "{{dataMount}}/iiif/images" "{{dataMount}}/iiif/manifests"
if [[ -x /usr/local/sbin/ouvroir-cantaloupe-install ]]; then
    /usr/local/sbin/ouvroir-cantaloupe-install
else
    install -d -o www-data -g www-data /run/lighttpd /var/log/lighttpd
    /usr/local/sbin/ouvroir-enable lighttpd.service
    systemctl restart lighttpd.service
fi
# The manifests: written now, then by the timer when images are added; served on 8183.
systemctl daemon-reload
/usr/local/sbin/ouvroir-iiif-manifests --force
/usr/local/sbin/ouvroir-enable ouvroir-iiif-manifests.timer ouvroir-iiif-manifests-http.service
systemctl restart ouvroir-iiif-manifests-http.service
systemctl start ouvroir-iiif-manifests.timer
for _ in $(seq 1 90); do
    if curl -s -o /dev/null http://127.0.0.1:8182/ &&
        curl -sf -o /dev/null http://127.0.0.1:8183/collection.json; then
        echo "ouvroir: IIIF server answers on 8182, its manifests on 8183"
        exit 0
    fi
    sleep 2
done
echo "ouvroir: IIIF server (8182) or its manifests (8183) did not answer after 180 s" >&2
exit 1
