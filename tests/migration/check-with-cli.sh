#!/usr/bin/env bash
# The migration export against a real Pulumi CLI: imports the committed dev fixture into a
# scratch file backend (`pulumi stack import`), then runs `npm run export -- dev`, which calls
# `pulumi stack export` itself, and checks with --compare that the inventory is the fixture's.
# Proves the fixture is a state the CLI accepts and the stack-name path of the command works.
#   OUVROIR_PULUMI  the pulumi binary (default: pulumi on PATH, else the engine cache's)
# Exit: 0 ok, 1 mismatch or failure, 2 no Pulumi CLI found.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

pulumi="${OUVROIR_PULUMI:-$(command -v pulumi || true)}"
if [[ -z "$pulumi" ]]; then
    pulumi="$(find /var/cache/ouvroir/engine -path '*/bin/pulumi' -type f 2>/dev/null | head -n1 || true)"
fi
if [[ -z "$pulumi" || ! -x "$pulumi" ]]; then
    echo "check-with-cli: no Pulumi CLI (set OUVROIR_PULUMI or run tools/engine/build.sh)" >&2
    exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
PATH="$(dirname "$pulumi"):$PATH"
export PATH
export PULUMI_HOME="$work/home" PULUMI_CONFIG_PASSPHRASE=fixture PULUMI_SKIP_UPDATE_CHECK=1
export PULUMI_BACKEND_URL="file://$work/state"
mkdir -p "$work/state" "$work/project"
cp Pulumi.yaml "$work/project/"

cd "$work/project"
pulumi stack init dev --secrets-provider passphrase >/dev/null 2>&1
# The fixture was encrypted with another salt: let the CLI re-key it from this stack's provider.
node -e '
const fs = require("fs");
const [fixture, stackFile, out] = process.argv.slice(1);
const doc = JSON.parse(fs.readFileSync(fixture, "utf8"));
const salt = /encryptionsalt:\s*(\S+)/.exec(fs.readFileSync(stackFile, "utf8"))[1];
const sig = "4dabf18193072939515e22adb298388d";
const strip = (v) => Array.isArray(v) ? v.map(strip)
    : v && typeof v === "object" ? (sig in v ? { [sig]: v[sig], plaintext: "\"(secret)\"" }
        : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)]))) : v;
doc.deployment.resources = strip(doc.deployment.resources);
doc.deployment.secrets_providers = { type: "passphrase", state: { salt } };
fs.writeFileSync(out, JSON.stringify(doc));
' "$repo/tests/migration/fixtures/dev-export.json" Pulumi.dev.yaml "$work/import.json"
pulumi stack import --stack dev --file "$work/import.json" >/dev/null
echo "check-with-cli: $(pulumi version): dev imported ($(pulumi stack --stack dev | grep -c '─') resources)"

cd "$repo"
npm run -s export -- tests/migration/fixtures/dev-export.json --inventory "$work/fixture.json" 2>/dev/null
# The stack-name form: the command runs `pulumi stack export --stack dev` itself.
(cd "$work/project" && npx --prefix "$repo" ts-node --transpile-only "$repo/tools/export-inventory.ts" \
    dev --source-config "$repo/Pulumi.dev.yaml" --inventory "$work/cli.json" --compare "$work/fixture.json")
echo "check-with-cli: OK"
