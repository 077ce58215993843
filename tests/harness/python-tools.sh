#!/usr/bin/env bash
# Test harness only: a Python virtual environment from PyPI with what the unit layer runs the
# guests' Python scripts with and validates their output by: iiif-prezi (IIIF Presentation 2
# reader, tests/harness/iiif/validate.py), Pillow and PyYAML (the guests get them from Debian:
# python3-pil 11.1 and python3-yaml 6.0.2 on Debian 13). Prints the venv's python; cached.
set -euo pipefail
requirements="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/python-requirements.txt"
key="$(sha256sum "$requirements" | cut -c1-12)"
venv="/var/cache/ouvroir/python/$key"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import iiif_prezi, PIL, yaml' 2>/dev/null; then
    python3 -m venv --help >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null ||
        { apt-get update -qq >&2 && apt-get install -y -qq python3-venv >&2; }
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2
fi
echo "$venv/bin/python"
