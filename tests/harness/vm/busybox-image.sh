#!/usr/bin/env bash
# Writes a tiny container image as a root-filesystem tarball (for `docker import`) from Debian's
# static busybox: no registry is reachable here, so the sandbox test brings its own image.
# Usage: busybox-image.sh OUT.tar
set -euo pipefail

out="${1:?usage: busybox-image.sh OUT.tar}"
if ! dpkg -s busybox-static >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >/dev/null
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in sh echo cat ls id uname sleep wget httpd hostname; do
    ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
tar --owner=0 --group=0 -C "$root" -cf "$out" .
