#!/usr/bin/env bash
# Contract test against the real Claude Code CLI (make test-contract).
#
# Installs the pinned @anthropic-ai/claude-code into a cache directory once,
# builds mockcli, and runs `go test -tags contract ./contract/...` with
# HOTLINE_CONTRACT_CLI pointing at the CLI. Everything talks to a fake
# Anthropic API on loopback; no network beyond the npm registry is needed,
# and that only for the first install.
#
# Environment:
#   CLAUDE_CODE_VERSION      pinned CLI version (default 2.1.332, the version
#                            ../shared/protocol was recorded from)
#   HOTLINE_CACHE            cache root (default ~/.cache/hotline)
#   HOTLINE_CONTRACT_CLI     use this CLI binary instead of installing one
#   HOTLINE_MOCKCLI          use this mockcli binary instead of building one
#   HOTLINE_CONTRACT_GOLDEN  "warn": log mockcli differences without failing
#   HOTLINE_CONTRACT_REPORT  write mockcli differences to this file
# Extra arguments go to `go test` (e.g. -run Golden -v).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${CLAUDE_CODE_VERSION:-2.1.332}"
CACHE="${HOTLINE_CACHE:-${HOME:-/root}/.cache/hotline}"
DIR="$CACHE/claude-code-$VERSION"
GO="${GO:-go}"

log() { echo "contract: $*" >&2; }

# Temporary paths removed on exit, whatever happens.
TMPS=()
cleanup() { [ ${#TMPS[@]} -eq 0 ] || rm -rf "${TMPS[@]}"; }
trap cleanup EXIT

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1; then sudo "$@"
	else log "need root to run: $*"; exit 1
	fi
}

ensure_npm() {
	command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 && return
	log "node/npm missing: installing Debian's nodejs and npm"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
}

# works BIN: BIN runs and reports the pinned version.
works() {
	[ -x "$1" ] && "$1" --version 2>/dev/null | grep -q "^$VERSION "
}

# resolve PREFIX: print the path of a working native CLI under PREFIX. The
# package's postinstall copies the platform binary over bin/claude.exe; where
# npm skipped install scripts, the platform package's binary is used as is.
resolve() {
	local p="$1" c
	for c in "$p/node_modules/.bin/claude" "$p"/node_modules/@anthropic-ai/claude-code-linux-*/claude; do
		if works "$c"; then echo "$c"; return 0; fi
	done
	if [ -f "$p/node_modules/@anthropic-ai/claude-code/install.cjs" ]; then
		(cd "$p/node_modules/@anthropic-ai/claude-code" && node install.cjs >&2) || true
		c="$p/node_modules/.bin/claude"
		if works "$c"; then echo "$c"; return 0; fi
	fi
	return 1
}

install_cli() {
	if works "$DIR/claude"; then return; fi
	ensure_npm
	mkdir -p "$CACHE"
	local tmp bin
	tmp="$(mktemp -d "$CACHE/.claude-code-$VERSION.XXXXXX")"
	TMPS+=("$tmp")
	chmod 755 "$tmp"
	log "installing @anthropic-ai/claude-code@$VERSION into $DIR"
	local pkg="@anthropic-ai/claude-code@$VERSION"
	# The postinstall only copies the platform binary into place; where it
	# fails (an old node), resolve finds the binary without it.
	if ! npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error "$pkg" >&2; then
		log "npm install with scripts failed; retrying with --ignore-scripts"
		npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error --ignore-scripts "$pkg" >&2
	fi
	if ! bin="$(resolve "$tmp")"; then
		log "the installed package has no working claude binary for $(uname -sm)"
		exit 1
	fi
	ln -s "${bin#"$tmp"/}" "$tmp/claude"
	# Another run may have won the race; its copy is as good as ours.
	rm -rf "$DIR.old"
	[ -e "$DIR" ] && mv "$DIR" "$DIR.old"
	mv "$tmp" "$DIR"
	rm -rf "$DIR.old"
	works "$DIR/claude" || { log "installed CLI does not run"; exit 1; }
}

if [ -z "${HOTLINE_CONTRACT_CLI:-}" ]; then
	install_cli
	HOTLINE_CONTRACT_CLI="$DIR/claude"
fi
export HOTLINE_CONTRACT_CLI
log "CLI: $HOTLINE_CONTRACT_CLI ($("$HOTLINE_CONTRACT_CLI" --version))"

if [ -z "${HOTLINE_MOCKCLI:-}" ]; then
	bindir="$(mktemp -d)"
	TMPS+=("$bindir")
	# A broken mockcli fails only the golden test (which then reports the
	# build error), not the real-CLI tests.
	if "$GO" build -o "$bindir/mockcli" ./mockcli; then
		export HOTLINE_MOCKCLI="$bindir/mockcli"
	else
		log "mockcli does not build; the golden comparison will fail"
	fi
else
	export HOTLINE_MOCKCLI
fi

"$GO" test -race -count=1 -timeout 10m -tags contract "$@" ./contract/...
