#!/bin/bash
# Grow the data volume's filesystem to the size of its device (after a Cinder extend).
# Run at every boot and on the kernel's resize event; opens the device for writing only when
# the device is larger than the filesystem.
set -euo pipefail
dev="$(blkid -L '{{dataLabel}}' || true)"
if [[ -z "$dev" ]]; then
    echo "ouvroir-grow-data: no filesystem labelled {{dataLabel}}; nothing to grow"
    exit 0
fi
if ! findmnt -rn -S "$dev" >/dev/null; then
    echo "ouvroir-grow-data: $dev is not mounted; resize2fs only online"
    exit 0
fi
device_bytes="$(blockdev --getsize64 "$dev")"
# The product in bash (64-bit): mawk's printf "%d" stops at 2^31 - 1.
read -r blocks block_size < <(dumpe2fs -h "$dev" 2>/dev/null | awk -F: '
    /^Block count/ { n = $2 + 0 } /^Block size/ { s = $2 + 0 } END { print n, s }')
fs_bytes=$((blocks * block_size))
if (( device_bytes <= fs_bytes )); then
    echo "ouvroir-grow-data: $dev already fills its device ($fs_bytes bytes)"
    exit 0
fi
echo "ouvroir-grow-data: growing $dev from $fs_bytes to $device_bytes bytes"
resize2fs "$dev"
