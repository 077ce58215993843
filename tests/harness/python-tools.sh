#!/usr/bin/env bash
# Test harness only: a Python virtual environment from PyPI with what the unit layer runs the
# guests' Python scripts with and validates their output by: iiif-prezi (IIIF Presentation 2
# reader, tests/harness/iiif/validate.py), Pillow and PyYAML (the guests get them from Debian:
# python3-pil 11.1 and python3-yaml 6.0.2 on Debian 13). Prints the venv's python; cached.
set -euo pipefail
requirements="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/python-requirements.txt"
key="$(sha256sum "$requirements" | cut -c1-12)"
base=/var/cache/ouvroir
{ mkdir -p "$base" && [[ -w "$base" ]]; } 2>/dev/null || base="${XDG_CACHE_HOME:-$HOME/.cache}/ouvroir"
venv="$base/python/$key"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import iiif_prezi, PIL, yaml' 2>/dev/null; then
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        apt-get update -qq >&2 && apt-get install -y -qq python3-venv >&2
    fi
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2
fi
echo "$venv/bin/python"
