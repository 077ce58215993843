#!/usr/bin/env bash
# The VM layer of CI: host packages, the cached base image, then every role's VM test.
# Caches stay in /var/cache/ouvroir/vm (reused when present). Run from the repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
start=$SECONDS
bash tests/harness/vm/host-deps.sh
bash tests/harness/vm/build-image.sh >/dev/null
echo "vm: base image ready after $((SECONDS - start)) s"
npm run test:vm
echo "vm: done after $((SECONDS - start)) s"
