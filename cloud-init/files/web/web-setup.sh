#!/bin/bash
# First boot (and safe to re-run): site directories on the volume, a self-signed certificate
# for every vhost that has none yet, vhosts enabled, Nginx reloaded.
set -euo pipefail
data="{{dataMount}}"
install -d -m 0755 /var/www/acme "$data/www" /etc/ouvroir/tls
while read -r name domain others; do
    [[ -n "$name" ]] || continue
    install -d -m 0755 "$data/www/$name"
    if [[ ! -e "$data/www/$name/index.html" && ! -e "$data/www/$name/index.php" ]]; then
        printf '<!doctype html><title>%s</title><p>%s is served by Ouvroir.</p>\n' \
            "$domain" "$domain" >"$data/www/$name/index.html"
    fi
    tls="/etc/ouvroir/tls/$name"
    if [[ ! -e "$tls/fullchain.pem" ]]; then
        install -d -m 0755 "$tls" "$tls/self-signed"
        san="DNS:$domain"
        for d in $others; do san="$san,DNS:$d"; done
        openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$domain" \
            -addext "subjectAltName=$san" \
            -keyout "$tls/self-signed/privkey.pem" -out "$tls/self-signed/fullchain.pem" 2>/dev/null
        chmod 0600 "$tls/self-signed/privkey.pem"
        ln -sfn self-signed/fullchain.pem "$tls/fullchain.pem"
        ln -sfn self-signed/privkey.pem "$tls/privkey.pem"
    fi
done </etc/ouvroir/sites
rm -f /etc/nginx/sites-enabled/default
for conf in /etc/nginx/sites-available/*.conf; do
    ln -sfn "$conf" "/etc/nginx/sites-enabled/$(basename "$conf")"
done
nginx -t
/usr/local/sbin/ouvroir-enable nginx.service
systemctl reload-or-restart nginx.service
