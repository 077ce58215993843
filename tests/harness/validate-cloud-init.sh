#!/bin/bash
# Renders the user data of every role (both package sources, and the PostgreSQL and no-volume
# variants) and validates each document with Debian's cloud-init: `cloud-init schema`, plus a
# check of the top-level keys against its JSON schema (22.4 lets unknown top-level keys pass).
# Installs cloud-init from Debian if missing (harmless on a host without systemd as PID 1).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v cloud-init >/dev/null 2>&1; then
    echo "validate-cloud-init: installing Debian's cloud-init (schema only, not run)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends cloud-init >/dev/null
fi
schema="$(/usr/bin/python3 -c 'import cloudinit.config.schema as s, os; print(os.path.join(os.path.dirname(s.__file__), "schemas", "schema-cloud-config-v1.json"))')"
[[ -f "$schema" ]] || { echo "validate-cloud-init: no schema file at $schema" >&2; exit 1; }

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
npx --no-install ts-node --transpile-only tests/harness/render-user-data.ts "$out"

failed=0
for doc in "$out"/*.yaml; do
    name="$(basename "$doc")"
    if ! cloud-init schema --config-file "$doc" >"$out/log" 2>&1; then
        echo "FAIL $name: cloud-init schema" >&2
        cat "$out/log" >&2
        failed=1
        continue
    fi
    if ! /usr/bin/python3 - "$schema" "$doc" <<'PY'
import json, sys, yaml
schema = json.load(open(sys.argv[1]))
allowed = set()
for part in schema.get("allOf", []):
    ref = part.get("$ref", "")
    if ref.startswith("#/$defs/"):
        allowed |= set(schema["$defs"][ref[len("#/$defs/"):]].get("properties", {}))
allowed |= set(schema.get("properties", {}))
doc = yaml.safe_load(open(sys.argv[2]))
unknown = sorted(set(doc) - allowed)
if unknown:
    print(f"unknown top-level keys: {unknown}", file=sys.stderr)
    sys.exit(1)
PY
    then
        echo "FAIL $name: top-level keys" >&2
        failed=1
        continue
    fi
    echo "ok   $name"
done
exit "$failed"
