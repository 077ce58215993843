#!/usr/bin/env bash
# Builds the Debian base image the VM tests, `npm run local` and the boot benchmark boot:
# debootstrap minbase + kernel + cloud-init, nothing role-specific (cloud-init must install the
# roles). The release is $OUVROIR_VM_DEBIAN: 13 ("trixie", the default, as the program's) or 12
# ("bookworm"). Cached in $OUVROIR_VM_CACHE (default /var/cache/ouvroir/vm) under a key hashed
# from this script and the release, so it is rebuilt only when either changes. Prints the image
# directory on stdout:
#   <dir>/base.qcow2  <dir>/vmlinuz  <dir>/initrd.img
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
release="${OUVROIR_VM_DEBIAN:-13}"
case "$release" in
    13) suite=trixie ;;
    12) suite=bookworm ;;
    *) echo "build-image: OUVROIR_VM_DEBIAN must be 13 or 12, not '$release'" >&2; exit 2 ;;
esac
cache="${OUVROIR_VM_CACHE:-/var/cache/ouvroir/vm}"
# The host's own CAs (a TLS-inspecting egress proxy, as on these machines) are the guests' too:
# guests reach the same Maven Central through it. They are part of the key.
host_cas=(/usr/local/share/ca-certificates/*.crt)
[[ -e "${host_cas[0]}" ]] || host_cas=()
key="$(cat "${BASH_SOURCE[0]}" "${host_cas[@]}" | sha256sum | cut -c1-12)"
out="$cache/base-$suite-$key"

[[ $EUID -eq 0 ]] || { echo "build-image: run as root (debootstrap, chroot)" >&2; exit 1; }
if [[ -f "$out/.done" ]]; then
    echo "$out"
    exit 0
fi

bash "$here/host-deps.sh"
mkdir -p "$cache/debs"
# Two callers (a test and another helper's boot) must not build into the same directory.
exec 9>"$cache/.build.lock"
flock 9
if [[ -f "$out/.done" ]]; then
    echo "$out"
    exit 0
fi

# The guest uses the same Debian mirror as the host's apt configuration (the only one reachable).
# Only the URIs of active entries: comments may name mirrors (snapshot.debian.org) not reachable.
uris="$(grep -hE '^[[:space:]]*(URIs:|deb[[:space:]])' /etc/apt/sources.list.d/*.sources \
    /etc/apt/sources.list 2>/dev/null | grep -oE 'https?://[^[:space:]]+' | sed 's#/$##' || true)"
mirror="$(grep -E '/debian$' <<<"$uris" | head -n1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
security="$(grep -E '/debian-security$' <<<"$uris" | head -n1 || true)"
security="${security:-${mirror}-security}"

work="$(mktemp -d "$cache/build.XXXXXX")"
cleanup() {
    for m in dev/pts dev sys proc; do
        mountpoint -q "$work/root/$m" 2>/dev/null && umount -l "$work/root/$m"
    done
    rm -rf "$work"
}
trap cleanup EXIT
root="$work/root"
echo "build-image: debootstrap from $mirror into $root" >&2

# What a Debian cloud image carries beside minbase; role packages are cloud-init's job.
# python3-cffi-backend: debootstrap cannot pick a provider of a virtual package (cloud-init
# would stay unconfigured); dbus: non-root `systemctl --user` (rootless Docker) needs it.
include=(
    linux-image-amd64 systemd-sysv dbus udev kmod
    cloud-init cloud-guest-utils python3-cffi-backend
    openssh-server sudo ca-certificates locales
    ifupdown isc-dhcp-client netbase iproute2 iputils-ping
    e2fsprogs less
)
nice -n 10 debootstrap --variant=minbase --cache-dir="$cache/debs" \
    --include="$(IFS=,; echo "${include[*]}")" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 40 "$work/debootstrap.log" >&2; exit 1; }

# debootstrap writes only "<suite> main": the cloud image carries -updates and -security too.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# debootstrap copies the host's name and leaves fstab unconfigured.
echo debian >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
echo 'LABEL=rootfs / ext4 defaults,errors=remount-ro 0 1' >"$root/etc/fstab"
# cloud-init's locale module fails on minbase (Debian's locale-gen ignores its argument).
echo 'en_US.UTF-8 UTF-8' >"$root/etc/locale.gen"
chroot "$root" locale-gen >/dev/null
echo 'LANG=en_US.UTF-8' >"$root/etc/default/locale"
# Networking comes from cloud-init's network config (NoCloud seed), as on the cloud.
cat >"$root/etc/network/interfaces" <<'EOF'
source /etc/network/interfaces.d/*
auto lo
iface lo inet loopback
EOF
if ((${#host_cas[@]})); then
    cp "${host_cas[@]}" "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null
fi
# Up to date with -updates and -security, like the cloud's monthly images: otherwise every
# guest upgrades the same packages again (ca-certificates alone costs minutes under TCG).
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
chroot "$root" apt-get update -qq
DEBIAN_FRONTEND=noninteractive nice -n 10 chroot "$root" apt-get -y -qq \
    -o Dpkg::Options::=--force-confold --no-install-recommends dist-upgrade >&2
rm -f "$root/usr/sbin/policy-rc.d"
umount "$root/dev/pts" "$root/dev" "$root/sys" "$root/proc"
# A fresh machine-id per boot (systemd creates it when the file is empty).
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
# Host keys are made per instance by cloud-init; a shared key in a base image is a defect.
rm -f "$root"/etc/ssh/ssh_host_*
# The package lists stay: a guest's `apt-get update` then fetches only the indexes that changed
# since (-security, -updates) instead of all of them, and decompresses less under TCG.
chroot "$root" apt-get clean
rm -rf "$root"/var/log/*.log "$root"/tmp/*

cp "$(readlink -f "$root/vmlinuz")" "$work/vmlinuz"
cp "$(readlink -f "$root/initrd.img")" "$work/initrd.img"
chmod 0644 "$work/vmlinuz" "$work/initrd.img"

# No loop mount: mkfs.ext4 populates the filesystem from the directory.
mkfs.ext4 -q -L rootfs -d "$root" "$work/base.raw" 8G >&2
qemu-img convert -O qcow2 "$work/base.raw" "$work/base.qcow2"
rm -f "$work/base.raw"
rm -rf "$root"

mkdir -p "$out"
mv "$work/base.qcow2" "$work/vmlinuz" "$work/initrd.img" "$work/debootstrap.log" "$out/"
chmod 0444 "$out/base.qcow2"
date -u +%FT%TZ >"$out/.done"
# Older images (earlier versions of this script) are only disk space, once no VM can still be
# booting from them.
find "$cache" -maxdepth 1 -name "base-$suite-*" ! -name "base-$suite-$key" -mmin +360 -exec rm -rf {} +
echo "build-image: $out" >&2
echo "$out"
