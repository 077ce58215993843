#!/usr/bin/env bash
# Starts the policy pack as the Pulumi CLI would and checks that it reports violations over
# gRPC (policy/smoke.ts). Needs only the repository's node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx --no-install ts-node --transpile-only policy/smoke.ts
