#!/bin/bash
# certbot deploy hook: point the vhost's certificate links at the new lineage, reload Nginx.
set -euo pipefail
name="$(basename "$RENEWED_LINEAGE")"
tls="/etc/ouvroir/tls/$name"
install -d -m 0755 "$tls"
ln -sfn "$RENEWED_LINEAGE/fullchain.pem" "$tls/fullchain.pem"
ln -sfn "$RENEWED_LINEAGE/privkey.pem" "$tls/privkey.pem"
nginx -t && systemctl reload nginx.service
