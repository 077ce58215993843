#!/usr/bin/env bash
# Lints .github/workflows with actionlint (expressions, contexts, action inputs, runner labels,
# and the `run:` scripts through shellcheck when it is installed). Installs a pinned actionlint
# from the Go module proxy into a cache outside the repository the first time.
# Exit status: non-zero on any finding or when actionlint cannot be installed.
#   OUVROIR_TOOLS   where tools are cached (default /var/cache/ouvroir/tools)
#   ACTIONLINT_VERSION  pinned version (default below; bump it deliberately, it adds rules)
#   OUVROIR_NO_APT      set: never apt-get install shellcheck (default: install it when root)
set -euo pipefail

ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
TOOLS="${OUVROIR_TOOLS:-/var/cache/ouvroir/tools}"
ACTIONLINT="$TOOLS/actionlint-$ACTIONLINT_VERSION"

cd "$(dirname "$0")/../.."

if [[ ! -x "$ACTIONLINT" ]]; then
    if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
        export PATH="/usr/local/go/bin:$PATH"
    fi
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

# The workflows' run: scripts go through shellcheck: Debian's package, installed when we are root
# (CI on a fresh machine); OUVROIR_NO_APT=1 forbids it.
if ! command -v shellcheck >/dev/null && [[ $EUID -eq 0 && -z "${OUVROIR_NO_APT:-}" ]] &&
    command -v apt-get >/dev/null; then
    echo "lint-workflows: installing shellcheck (Debian package)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1; } ||
        echo "lint-workflows: could not install shellcheck" >&2
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
