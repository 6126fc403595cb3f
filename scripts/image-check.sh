#!/usr/bin/env bash
# Checks the Dockerfile's runtime dependency step without a container engine: a Debian bookworm
# root (debootstrap --variant=minbase, what node:20-bookworm-slim is built on) with this machine's
# Node in /usr/local (as the node image has it, headers included), then the Dockerfile's
# `RUN npm ci --omit=dev …` step, as written there, run in it with a chroot. With --librdkafka it
# runs with LIBRDKAFKA=true and checks that node-rdkafka loads after the build tools were removed.
#
#   bash scripts/image-check.sh [--librdkafka]      (root, Debian/Ubuntu host; ~1 min, +2 min for librdkafka)
#
# Not a container build: the base is close to, not the same as, the node image. The bookworm root
# is cached in ~/.cache/zeek-log-gateway/bookworm-minbase.tar.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
LIBRDKAFKA=false
[ "${1:-}" = "--librdkafka" ] && LIBRDKAFKA=true
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/zeek-log-gateway"
BASE="$CACHE/bookworm-minbase.tar"
ROOT=$(mktemp -d /tmp/zlg-image-check.XXXXXX)
log() { echo "[image-check] $*"; }
cleanup() {
  umount "$ROOT/proc" "$ROOT/dev" 2>/dev/null || true
  rm -rf "$ROOT"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "image-check: needs root (debootstrap, chroot)" >&2; exit 1; }
if [ ! -s "$BASE" ]; then
  command -v debootstrap >/dev/null || apt-get install -y --no-install-recommends debootstrap
  log "debootstrap bookworm (minbase) into the cache"
  debootstrap --variant=minbase bookworm "$ROOT" http://deb.debian.org/debian >"$ROOT.debootstrap.log" 2>&1 \
    || { tail -20 "$ROOT.debootstrap.log" >&2; exit 1; }
  mkdir -p "$CACHE"
  tar -C "$ROOT" -cf "$BASE.tmp" . && mv "$BASE.tmp" "$BASE"
  rm -f "$ROOT.debootstrap.log"
else
  tar -C "$ROOT" -xf "$BASE"
fi

# Node as the node image has it: /usr/local/bin/node, npm, and the headers in /usr/local/include/node.
NODE=$(command -v node)
NODE_PREFIX=$(cd "$(dirname "$(readlink -f "$NODE")")/.." && pwd)
NPM_DIR=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
mkdir -p "$ROOT/usr/local/bin" "$ROOT/usr/local/lib/node_modules" "$ROOT/usr/local/include" "$ROOT/app"
cp "$(readlink -f "$NODE")" "$ROOT/usr/local/bin/node"
cp -a "$NPM_DIR" "$ROOT/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
cp -a "$NODE_PREFIX/include/node" "$ROOT/usr/local/include/node"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# A machine behind a TLS-inspecting proxy needs its CA bundle inside too.
extra_ca=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  mkdir -p "$ROOT/etc/ssl/certs" && cp "$NODE_EXTRA_CA_CERTS" "$ROOT/etc/ssl/certs/extra-ca.crt"
  extra_ca=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/extra-ca.crt)
fi

# The Dockerfile's files and its RUN step, as written there.
cp "$HERE/package.json" "$HERE/package-lock.json" "$ROOT/app/"
cp "$HERE/scripts/librdkafka-deps.sh" "$ROOT/tmp/librdkafka-deps.sh"
awk '/^RUN npm ci --omit=dev/,/npm cache clean --force$/' "$HERE/Dockerfile" | sed 's/^RUN //' >"$ROOT/tmp/run.sh"
[ -s "$ROOT/tmp/run.sh" ] || { echo "image-check: the Dockerfile's npm ci step was not found" >&2; exit 1; }

mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
in_root() {
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    DEBIAN_FRONTEND=noninteractive "${extra_ca[@]}" LIBRDKAFKA="$LIBRDKAFKA" sh -ec "cd /app && $1"
}
log "running the Dockerfile's dependency step (LIBRDKAFKA=$LIBRDKAFKA)"
in_root 'sh -e /tmp/run.sh' >"$ROOT/run.log" 2>&1 || { tail -30 "$ROOT/run.log" >&2; exit 1; }
grep -E 'loads' "$ROOT/run.log" | sed 's/^/[image-check]   /'
in_root "node -e \"require('zeromq')\""
if [ "$LIBRDKAFKA" = true ]; then
  in_root "node -e \"console.log('librdkafka', require('node-rdkafka').librdkafkaVersion)\"" >/dev/null
  if in_root 'command -v gcc || command -v make' >/dev/null 2>&1; then
    echo "image-check: the build tools are still installed" >&2
    exit 1
  fi
else
  if in_root "node -e \"require('node-rdkafka')\"" >/dev/null 2>&1; then
    echo "image-check: node-rdkafka loads although LIBRDKAFKA is false" >&2
    exit 1
  fi
fi
log "ok: node_modules $(du -sh "$ROOT/app/node_modules" | cut -f1), $(in_root 'dpkg -l | grep -c "^ii"') Debian packages"
