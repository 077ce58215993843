#!/usr/bin/env bash
# Lints .github/workflows with actionlint (expressions, contexts, action inputs, runner labels,
# and the `run:` scripts through shellcheck when it is installed). Installs a pinned actionlint
# from the Go module proxy into a cache outside the repository the first time.
# Exit status: non-zero on any finding or when actionlint cannot be installed.
#   OUVROIR_TOOLS   where tools are cached (default /var/cache/ouvroir/tools)
#   ACTIONLINT_VERSION  pinned version (default below; bump it deliberately, it adds rules)
set -euo pipefail

ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
TOOLS="${OUVROIR_TOOLS:-/var/cache/ouvroir/tools}"
ACTIONLINT="$TOOLS/actionlint-$ACTIONLINT_VERSION"

cd "$(dirname "$0")/.."

if [[ ! -x "$ACTIONLINT" ]]; then
    if ! command -v go >/dev/null; then
        echo "lint-workflows: Go is needed to install actionlint $ACTIONLINT_VERSION" >&2
        exit 2
    fi
    mkdir -p "$TOOLS"
    echo "lint-workflows: installing actionlint $ACTIONLINT_VERSION into $TOOLS" >&2
    build="$(mktemp -d)"
    trap 'rm -rf "$build"' EXIT
    # Build into a scratch GOBIN, then rename: the versioned name makes a bump reinstall.
    GOBIN="$build" GOFLAGS=-mod=mod nice -n 10 \
        go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
    mv "$build/actionlint" "$ACTIONLINT"
fi

args=()
if command -v shellcheck >/dev/null; then
    args+=("-shellcheck=$(command -v shellcheck)")
else
    # Without it, actionlint silently skips the run: scripts; say so.
    echo "lint-workflows: shellcheck not installed (apt-get install shellcheck): run: scripts unchecked" >&2
    args+=("-shellcheck=")
fi

workflows=(.github/workflows/*.yml)
"$ACTIONLINT" "${args[@]}" "${workflows[@]}"
echo "lint-workflows: ${#workflows[@]} workflows clean (actionlint $ACTIONLINT_VERSION)"
