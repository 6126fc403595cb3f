#!/usr/bin/env bash
# Validates docker-compose.yml against the Compose Specification without a Docker engine.
#
#   bash scripts/validate-compose.sh
#
# The check is deploy/compose-check: a small Go program around compose-go, the library Docker
# Compose v2 itself loads files with (`docker compose config` runs the same code). It validates
# against the Compose Specification's JSON schema embedded in compose-go, interpolates variables,
# applies profiles and checks references (depends_on, networks, volumes); compose-go warnings
# (obsolete attributes) fail it too. Go and its modules come from the machine's Go toolchain and
# the Go module proxy, pinned by deploy/compose-check/go.sum.
#
# Runs, each with a clean environment so the caller's shell cannot change the result:
#   1. the default services, no variables set (what `docker compose up` starts);
#   2. every profile (live, ncsa, monitoring);
#   3. every profile with every setting of deploy/.env.example uncommented (CURVE keys included),
#      which also proves that file parses as a Compose env file.
# Then, when they are installed: shellcheck on the deploy scripts, and `docker compose config -q`
# (the real CLI plugin needs no engine for that).
#
# Environment: ZLG_CACHE (default ~/.cache/zeek-log-gateway) holds the built checker.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

log() { printf '== %s\n' "$*"; }
die() {
  printf 'validate-compose: %s\n' "$*" >&2
  exit 1
}

command -v go >/dev/null || die "Go is needed to build deploy/compose-check (https://go.dev/dl, or Debian's golang-go)"
CACHE=${ZLG_CACHE:-$HOME/.cache/zeek-log-gateway}
BIN=$CACHE/compose-check
mkdir -p "$CACHE"
log "building deploy/compose-check ($(go version | awk '{print $3}'))"
(cd deploy/compose-check && GOFLAGS=-mod=readonly go build -o "$BIN" .) ||
  die "could not build deploy/compose-check (the first build fetches compose-go from the Go module proxy)"

TMP=$(mktemp -d -t zlg-compose-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# Every `#NAME=value` line of the example, uncommented.
sed -n 's/^#\([A-Z][A-Z0-9_]*=.*\)$/\1/p' deploy/.env.example >"$TMP/example.env"
[ -s "$TMP/example.env" ] || die "deploy/.env.example has no settings"

check() {
  local what=$1
  shift
  log "$what"
  env -i PATH="$PATH" HOME="$HOME" "$BIN" -f "$ROOT/docker-compose.yml" "$@"
}
check "default services, no variables" -env-file /dev/null
check "every profile, no variables" -env-file /dev/null -profile '*'
check "every profile, every setting of deploy/.env.example" -env-file "$TMP/example.env" -profile '*'

if command -v shellcheck >/dev/null; then
  log "shellcheck"
  shellcheck -x deploy/*.sh deploy/zeek/*.sh deploy/standins/*.sh deploy/standins/*/*.sh deploy/standins/kafka/bin/*.sh \
    scripts/validate-compose.sh scripts/docker.sh
  echo "deploy scripts: no findings"
else
  log "shellcheck not installed: skipped"
fi

if command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
  log "docker compose config -q ($(docker compose version --short 2>/dev/null || echo '?'))"
  env -i PATH="$PATH" HOME="$HOME" docker compose --env-file "$TMP/example.env" --profile '*' -f docker-compose.yml config -q
  echo "docker compose accepts it"
else
  log "no docker compose CLI plugin: skipped (compose-check above runs the same loader)"
fi
log "docker-compose.yml is valid"
