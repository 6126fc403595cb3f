#!/usr/bin/env bash
# A local Docker engine for the container tests (npm run test:container) and for trying the
# compose stack on a machine without one.
#
#   bash scripts/docker.sh up|down|status
#     up      the engine, the compose CLI and the stand-in images, each only if missing:
#             - an engine: one that already answers `docker info` is used as it is; otherwise
#               Debian's docker.io is installed (apt-get) and dockerd started with its own data
#               directory ($ZLG_DOCKER_ROOT, default /var/lib/zeek-log-gateway-docker)
#             - `docker compose` (v2): built once from the Go module proxy into
#               $ZLG_CACHE/docker-compose-<version> and linked as a CLI plugin
#             - the stand-in images for what cannot be pulled here (deploy/standins/build.sh)
#     down    stops the dockerd this script started (its containers stop with it); an engine it
#             did not start is left alone
#     status  what runs
#
# Needs root (apt-get, dockerd). State: $ZLG_STATE/docker (dockerd.pid, dockerd.log).
# Env: ZLG_COMPOSE_VERSION (default below), ZLG_DOCKER_ROOT, ZLG_STANDINS=0 (up without images).
set -euo pipefail
LOG_TAG=docker
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/certs.sh
source "$HERE/certs.sh"

COMPOSE_VERSION=${ZLG_COMPOSE_VERSION:-v2.40.3}
DATA_ROOT=${ZLG_DOCKER_ROOT:-/var/lib/zeek-log-gateway-docker}
DDIR=$ZLG_STATE/docker
PID_FILE=$DDIR/dockerd.pid
DLOG=$DDIR/dockerd.log
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins

engine_answers() { docker info >/dev/null 2>&1; }

# our_dockerd: the pid of the dockerd this script started, if it still runs.
our_dockerd() {
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [[ -n $pid ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "^dockerd .*--data-root $DATA_ROOT" && echo "$pid"
}

engine_up() {
  if engine_answers; then
    log "engine: $(docker version --format 'server {{.Server.Version}}, client {{.Client.Version}}') already answers"
    return 0
  fi
  command -v dockerd >/dev/null || apt_install docker.io
  [[ $(id -u) == 0 ]] || die "starting dockerd needs root"
  mkdir -p "$DDIR" "$DATA_ROOT"
  log "starting dockerd (data root $DATA_ROOT, log $DLOG)"
  # setsid: the engine outlives this script; 9>&-: it must not hold the lock taken below.
  setsid dockerd --data-root "$DATA_ROOT" --exec-root "$DDIR/exec" --pidfile "$PID_FILE" \
    -H unix:///var/run/docker.sock >"$DLOG" 2>&1 9>&- </dev/null &
  if ! wait_until 90 "dockerd to answer" engine_answers; then
    tail -n 30 "$DLOG" >&2
    die "dockerd did not start (log: $DLOG)"
  fi
  log "engine: $(docker version --format 'server {{.Server.Version}} ({{.Server.APIVersion}}), client {{.Client.Version}}'), storage $(docker info --format '{{.Driver}}')"
}

compose_up() {
  if docker compose version >/dev/null 2>&1; then
    log "compose: $(docker compose version --short)"
    return 0
  fi
  local bin=$ZLG_CACHE/docker-compose-$COMPOSE_VERSION
  if [[ ! -x $bin ]]; then
    command -v go >/dev/null || die "building docker compose needs Go"
    log "building docker compose $COMPOSE_VERSION from the Go module proxy (first run only, a few minutes)"
    # go install refuses a module whose go.mod has replace/exclude directives, so the module's
    # source is downloaded and built as the main module.
    local src tmp
    src=$(cd / && GOFLAGS=-mod=mod go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [[ -d $src ]] || die "go mod download github.com/docker/compose/v2@$COMPOSE_VERSION failed"
    tmp=$(mktemp -d)
    cp -r "$src" "$tmp/src" && chmod -R u+w "$tmp/src"
    mkdir -p "$ZLG_CACHE"
    (cd "$tmp/src" && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" -o "$bin.tmp" ./cmd) ||
      { rm -rf "$tmp"; die "building docker compose failed"; }
    rm -rf "$tmp"
    mv "$bin.tmp" "$bin"
  fi
  mkdir -p "$PLUGIN_DIR"
  ln -sfn "$bin" "$PLUGIN_DIR/docker-compose"
  log "compose: $(docker compose version --short) ($PLUGIN_DIR/docker-compose)"
}

cmd_up() {
  lock docker
  engine_up
  compose_up
  if [[ ${ZLG_STANDINS:-1} != 0 ]]; then bash "$HERE/../deploy/standins/build.sh"; fi
}

cmd_down() {
  lock docker
  local pid
  if ! pid=$(our_dockerd); then
    log "no dockerd started by this script runs"
    return 0
  fi
  log "stopping dockerd (pid $pid); its containers stop with it"
  kill -TERM "$pid"
  wait_until 60 "dockerd to exit" not kill -0 "$pid" || { kill -KILL "$pid" 2>/dev/null || true; }
  rm -f "$PID_FILE"
}

cmd_status() {
  if engine_answers; then
    echo "docker: engine $(docker version --format '{{.Server.Version}}') answers$(our_dockerd >/dev/null && echo ' (started by scripts/docker.sh)')"
    docker compose version 2>/dev/null || echo "no docker compose CLI plugin"
  else
    echo "docker: no engine answers"
    return 1
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
