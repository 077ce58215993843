#!/bin/bash
# Run by the applier at first boot and at every day-2 push: site directories on the volume, a
# self-signed certificate for every vhost that has none for its current names, vhosts enabled,
# Nginx reloaded.
set -euo pipefail
. /etc/ouvroir/settings.env
. /usr/local/lib/ouvroir/tls-lib.sh
data="{{dataMount}}"
install -d -m 0755 /var/www/acme "$data/www" /etc/ouvroir/tls
while read -r name domain others; do
    [[ -n "$name" ]] || continue
    # No public host name yet: the default vhost's certificate names the instance.
    [[ -n "$domain" ]] || domain="$OUVROIR_HOSTNAME"
    install -d -m 0755 "$data/www/$name"
    if [[ ! -e "$data/www/$name/index.html" && ! -e "$data/www/$name/index.php" ]]; then
        printf '<!doctype html><title>%s</title><p>%s is served by Ouvroir.</p>\n' \
            "$domain" "$domain" >"$data/www/$name/index.html"
    fi
    tls="/etc/ouvroir/tls/$name"
    # shellcheck disable=SC2086
    want="$(tls_names "$domain" $others)"
    # A new vhost, or its names changed (publicHostname, a site's domains): a self-signed
    # certificate for the current names until certbot replaces it.
    if [[ ! -e "$tls/fullchain.pem" || "$(cert_names "$tls/fullchain.pem")" != "$want" ]]; then
        install -d -m 0755 "$tls" "$tls/self-signed"
        san="DNS:$domain"
        for d in $others; do san="$san,DNS:$d"; done
        openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$domain" \
            -addext "subjectAltName=$san" \
            -keyout "$tls/self-signed/privkey.pem" -out "$tls/self-signed/fullchain.pem"
        chmod 0600 "$tls/self-signed/privkey.pem"
        ln -sfn self-signed/fullchain.pem "$tls/fullchain.pem"
        ln -sfn self-signed/privkey.pem "$tls/privkey.pem"
        echo "ouvroir-web-setup: $name: self-signed certificate for $want"
    fi
done </etc/ouvroir/sites
rm -f /etc/nginx/sites-enabled/default
for conf in /etc/nginx/sites-available/*.conf; do
    ln -sfn "$conf" "/etc/nginx/sites-enabled/$(basename "$conf")"
done
# Debian names php-fpm's unit after PHP's version: the restart drop-in follows the installed one.
for unit in /usr/lib/systemd/system/php*-fpm.service; do
    [[ -e "$unit" ]] || continue
    dropin="/etc/systemd/system/$(basename "$unit").d/10-ouvroir-restart.conf"
    if ! cmp -s /usr/local/lib/ouvroir/restart-on-failure.conf "$dropin"; then
        install -D -m 0644 /usr/local/lib/ouvroir/restart-on-failure.conf "$dropin"
        systemctl daemon-reload
    fi
done
nginx -t
/usr/local/sbin/ouvroir-enable nginx.service
systemctl reload-or-restart nginx.service
