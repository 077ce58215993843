#!/usr/bin/env bash
# Installs the host packages the VM harness needs (qemu, debootstrap, seed and image tools),
# only those missing, so a fresh Debian 12 machine is ready in one step. Idempotent.
set -euo pipefail

# command -> Debian package providing it
declare -A need=(
    [qemu-system-x86_64]=qemu-system-x86
    [qemu-img]=qemu-utils
    [debootstrap]=debootstrap
    [mcopy]=mtools
    [mkfs.vfat]=dosfstools
    [cloud-localds]=cloud-image-utils
    [mkfs.ext4]=e2fsprogs
    [ssh]=openssh-client
    [ssh-keygen]=openssh-client
    [curl]=curl
    [ip]=iproute2
    [flock]=util-linux
    [zstd]=zstd
)
missing=()
for cmd in "${!need[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# The sandbox test ships a container image made from this static busybox.
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
# The hardening audit copies the host's Lynis (a shell script) into each guest.
dpkg -s lynis >/dev/null 2>&1 || missing+=(lynis)
# The debian-archive keyring verifies what debootstrap downloads.
[[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)

if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    echo "host-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
