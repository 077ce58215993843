#!/usr/bin/env bash
# Writes a small tiled TIFF (what Debian's IIPImage serves) for the IIIF test: a 640x480
# gradient, made from a generated PPM with libtiff's tools. Usage: test-image.sh OUT.tif
set -euo pipefail

out="${1:?usage: test-image.sh OUT.tif}"
if ! command -v tiffcp >/dev/null || ! command -v ppm2tiff >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libtiff-tools >/dev/null
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
w=640 h=480
python3 - "$tmp/in.ppm" "$w" "$h" <<'EOF'
import sys
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "wb") as f:
    f.write(b"P6 %d %d 255\n" % (w, h))
    f.write(bytes(v for y in range(h) for x in range(w)
                  for v in (x * 255 // w, y * 255 // h, 128)))
EOF
ppm2tiff "$tmp/in.ppm" "$tmp/strip.tif"
tiffcp -t -w 256 -l 256 -c none "$tmp/strip.tif" "$out"
