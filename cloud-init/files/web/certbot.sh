#!/bin/bash
# Ask Let's Encrypt for a certificate per vhost (HTTP-01 through /var/www/acme). Until one is
# issued the self-signed one stays; the timer tries again daily. Renewals: certbot's own timer.
set -uo pipefail
. /etc/ouvroir/settings.env
. /usr/local/lib/ouvroir/tls-lib.sh
email="$LETSENCRYPT_EMAIL"
[[ -n "$email" ]] || { echo "ouvroir-certbot: no letsencryptEmail, self-signed only"; exit 0; }
status=0
while read -r name domains; do
    [[ -n "$name" && -n "$domains" ]] || continue
    # Issued already for these very names (a changed publicHostname or domain list asks again).
    live="/etc/letsencrypt/live/$name/fullchain.pem"
    # shellcheck disable=SC2086
    [[ -e "$live" && "$(cert_names "$live")" == "$(tls_names $domains)" ]] && continue
    args=()
    for d in $domains; do args+=(-d "$d"); done
    if ! certbot certonly --non-interactive --agree-tos -m "$email" --webroot -w /var/www/acme \
        --cert-name "$name" "${args[@]}" --deploy-hook /usr/local/sbin/ouvroir-cert-deploy; then
        echo "ouvroir-certbot: no certificate for $name yet (DNS? port 80?); keeping self-signed" >&2
        status=1
    fi
done </etc/ouvroir/sites
exit "$status"
