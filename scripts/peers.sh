#!/usr/bin/env bash
# Builds and installs the peers the benchmark compares the gateway with (`npm run bench:peers`),
# outside the repository: nothing here is vendored, built binaries are cached.
#
#   bash scripts/peers.sh [build|status|env]
#
#   build   (default) install what is missing, idempotent:
#           - Redpanda Connect, a small custom binary with only the components the benchmark uses
#             (zmq4 input, kafka_franz, amqp_0_9), built with cgo and the x_benthos_extra tag from the
#             Go module proxy against Debian's libzmq; cached under $PEERS_CACHE/redpanda-connect/<hash>
#             of the recipe (main.go + go.mod), so a changed recipe builds anew and an unchanged one never.
#           - rsyslog with imczmq (rsyslog-czmq) and omkafka (rsyslog-kafka) from Debian.
#   status  say what is there, build nothing
#   env     print RPCONNECT=<path> and RSYSLOGD=<path> (empty when missing), for the benchmark
#
# The recipes and configs are read in place from ../shared/peers (ZLG_PEERS overrides).
# PEERS_CACHE defaults to ${XDG_CACHE_HOME:-~/.cache}/zeek-log-gateway/peers.
# A Go build on a small shared machine is slow (minutes): GO_BUILD_P (default 2) sets `go build -p`.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
RECIPES=${ZLG_PEERS:-$REPO/../shared/peers}
PEERS_CACHE=${PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zeek-log-gateway/peers}
RSYSLOG_PACKAGES=(rsyslog rsyslog-czmq rsyslog-kafka)
GO_BUILD_PACKAGES=(libzmq3-dev pkg-config)

log() { echo "[peers] $*" >&2; }

recipe_hash() {
  cat "$RECIPES/redpanda-connect/main.go" "$RECIPES/redpanda-connect/go.mod" | sha256sum | cut -c1-16
}

rpconnect_path() {
  echo "$PEERS_CACHE/redpanda-connect/$(recipe_hash)/rpconnect"
}

rsyslogd_path() {
  local p
  for p in /usr/sbin/rsyslogd /sbin/rsyslogd; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
  echo ""
}

rsyslog_modules_present() {
  local dir
  for dir in /usr/lib/x86_64-linux-gnu/rsyslog /usr/lib/rsyslog /usr/lib/*/rsyslog; do
    [ -f "$dir/imczmq.so" ] && [ -f "$dir/omkafka.so" ] && return 0
  done
  return 1
}

apt_install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing with apt-get: ${missing[*]}"
  local sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}" || {
    "${sudo_cmd[@]}" apt-get update
    "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
  }
}

build_rpconnect() {
  local out dir
  out=$(rpconnect_path)
  if [ -x "$out" ]; then
    log "Redpanda Connect: cached $out"
    return 0
  fi
  command -v go >/dev/null || { log "Redpanda Connect: no Go toolchain on PATH"; return 1; }
  apt_install_missing "${GO_BUILD_PACKAGES[@]}"
  dir=$(dirname "$out")
  mkdir -p "$dir/src"
  cp "$RECIPES/redpanda-connect/main.go" "$RECIPES/redpanda-connect/go.mod" "$dir/src/"
  log "Redpanda Connect: building in $dir/src (minutes on a small machine; log in $dir/build.log)"
  (
    cd "$dir/src"
    # the checksum database is not reachable here; the module proxy is
    export GOSUMDB=off GOFLAGS=-mod=mod CGO_ENABLED=1
    go mod tidy -e
    nice -n 10 go build -p "${GO_BUILD_P:-2}" -tags x_benthos_extra -o "$out.tmp" .
  ) >"$dir/build.log" 2>&1 || {
    log "Redpanda Connect: build failed, last lines of $dir/build.log:"
    tail -20 "$dir/build.log" >&2
    return 1
  }
  mv "$out.tmp" "$out"
  log "Redpanda Connect: built $out ($("$out" --version 2>/dev/null | head -1))"
}

install_rsyslog() {
  apt_install_missing "${RSYSLOG_PACKAGES[@]}"
  rsyslog_modules_present || { log "rsyslog: imczmq/omkafka modules not found after install"; return 1; }
  log "rsyslog: $(rsyslogd_path) with imczmq and omkafka"
}

print_env() {
  local rp
  rp=$(rpconnect_path)
  [ -x "$rp" ] || rp=""
  local rs
  rs=$(rsyslogd_path)
  rsyslog_modules_present || rs=""
  echo "RPCONNECT=$rp"
  echo "RSYSLOGD=$rs"
}

[ -d "$RECIPES/redpanda-connect" ] || { log "no recipes at $RECIPES (set ZLG_PEERS)"; exit 2; }
case "${1:-build}" in
  build)
    rc=0
    install_rsyslog || rc=1
    build_rpconnect || rc=1
    exit $rc
    ;;
  status) print_env | sed 's/^/[peers] /' >&2 ;;
  env) print_env ;;
  *)
    echo "usage: $0 [build|status|env]" >&2
    exit 2
    ;;
esac
