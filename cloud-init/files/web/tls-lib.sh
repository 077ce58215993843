# Sourced by ouvroir-web-setup and ouvroir-certbot: the names a vhost's certificate must carry.

# tls_names DOMAIN...: the names, sorted, one line, space-separated (empty names dropped).
tls_names() {
    printf '%s\n' "$@" | sed '/^$/d' | sort -u | tr '\n' ' '
}

# cert_names FILE: the DNS names of a certificate (its subjectAltName), as tls_names gives them.
cert_names() {
    local names
    names="$(openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
        tr ',' '\n' | sed -n 's/^ *DNS://p')" || true
    # shellcheck disable=SC2086
    tls_names $names
}
