#!/bin/bash
# Grow the data volume's filesystem to the size of its device (after a Cinder extend).
# Run at every boot and on udev "change" events of the device; a no-op when already full size.
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
resize2fs "$dev"
