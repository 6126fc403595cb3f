#!/usr/bin/env bash
# Replays the steps of the Dockerfile without a Docker engine, so a machine that cannot build
# images can still check that they work: the build context .dockerignore lets through, the build
# stage (npm ci --ignore-scripts, npm run build) and the runtime stage (npm ci --omit=dev
# --ignore-scripts, loading the zeromq addon) in two empty folders, with the npm version of the
# node:20 image. Then the runtime folder runs `check-config` on the image's default config and,
# with --run, starts the gateway for a few seconds and asks /readyz.
#
# --librdkafka also checks the image built with `--build-arg LIBRDKAFKA=true`: that step needs
# apt, so it runs the Dockerfile's runtime `RUN npm ci --omit=dev …` step, as written there, in a
# Debian bookworm root (debootstrap --variant=minbase, what node:20-bookworm-slim is built on;
# cached in ~/.cache/zeek-log-gateway/bookworm-minbase.tar) with this machine's Node in
# /usr/local as the node image has it, through chroot (root only, ~3 minutes), and checks that
# node-rdkafka loads once the build tools are gone. Close to the node image, not the same.
#
#   bash deploy/simulate-image.sh [--run] [--keep] [--librdkafka]
#
# Keep the steps below in step with the Dockerfile (test/unit/deploy/image.test.ts checks the
# Dockerfile side). Environment: ZLG_IMAGE_NPM (default npm@10.8.2, what node:20-bookworm-slim
# ships), ZLG_SIM_DIR (default: a new temporary folder).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

run_gateway=0
keep=0
librdkafka=0
for arg in "$@"; do
  case "$arg" in
    --run) run_gateway=1 ;;
    --keep) keep=1 ;;
    --librdkafka) librdkafka=1 ;;
    *)
      echo "usage: $0 [--run] [--keep] [--librdkafka]" >&2
      exit 2
      ;;
  esac
done

NPM_SPEC=${ZLG_IMAGE_NPM:-npm@10.8.2}
SIM=${ZLG_SIM_DIR:-$(mktemp -d -t zlg-image-XXXXXX)}
log() { printf '== %s\n' "$*"; }
cleanup() {
  if [ -n "${gw_pid:-}" ]; then kill "$gw_pid" 2>/dev/null || true; fi
  if [ -n "${ROOTFS:-}" ]; then umount "$ROOTFS/proc" "$ROOTFS/dev" 2>/dev/null || true; fi
  if [ "$keep" -eq 0 ] && [ -z "${ZLG_SIM_DIR:-}" ]; then rm -rf "$SIM"; fi
}
trap cleanup EXIT

# The image's npm, fetched once into its own folder (npx would re-resolve every time).
NPM_DIR=$SIM/npm
log "installing $NPM_SPEC"
npm install --prefix "$NPM_DIR" --no-audit --no-fund --silent "$NPM_SPEC"
npm_image() { node "$NPM_DIR/node_modules/npm/bin/npm-cli.js" "$@"; }
log "npm $(npm_image --version), node $(node --version)"

# Build context: what .dockerignore lets through (an allowlist).
CTX=$SIM/context
mkdir -p "$CTX"
cp package.json package-lock.json tsconfig.json tsconfig.build.json "$CTX"/
cp -r src config "$CTX"/
mkdir -p "$CTX"/scripts && cp scripts/librdkafka-deps.sh "$CTX"/scripts/

log "build stage: npm ci --ignore-scripts && npm run build"
B=$SIM/build
mkdir -p "$B"
cp "$CTX"/package.json "$CTX"/package-lock.json "$B"/
(cd "$B" && npm_image ci --ignore-scripts --no-audit --no-fund)
cp "$CTX"/tsconfig.json "$CTX"/tsconfig.build.json "$B"/
cp -r "$CTX"/src "$B"/src
(cd "$B" && npm_image run build)

log "runtime stage: npm ci --omit=dev --ignore-scripts, then load the zeromq addon"
A=$SIM/app
mkdir -p "$A" "$SIM/etc"
cp "$CTX"/package.json "$CTX"/package-lock.json "$A"/
(cd "$A" && NODE_ENV=production npm_image ci --omit=dev --ignore-scripts --no-audit --no-fund)
(cd "$A" && node -e "require('zeromq'); console.log('zeromq addon loads')")
cp -r "$B"/dist "$A"/dist
cp -r "$CTX"/config "$A"/config
cp "$CTX"/config/docker.json "$SIM/etc/config.json"
dev_only=$(cd "$A" && node -e "
  const p = require('./package.json');
  const fs = require('fs');
  console.log(Object.keys(p.devDependencies || {}).filter((d) => fs.existsSync('node_modules/' + d)).join(' '));")
[ -z "$dev_only" ] || {
  echo "dev dependencies in the runtime stage: $dev_only" >&2
  exit 1
}

log "runtime: check-config with the image's default config"
(cd / && NODE_ENV=production ZLG_HTTP_HOST=0.0.0.0 node "$A/dist/cli.js" check-config --config "$SIM/etc/config.json" >"$SIM/check-config.json")
echo "effective configuration: $SIM/check-config.json ($(wc -c <"$SIM/check-config.json") bytes)"

if [ "$run_gateway" -eq 1 ]; then
  # Brokers on this machine instead of the compose services; an HTTP port that is likely free.
  port=${ZLG_SIM_HTTP_PORT:-19275}
  log "runtime: starting the gateway (HTTP on 127.0.0.1:$port) against the local brokers"
  # exec: $gw_pid is the gateway itself, so SIGTERM reaches it.
  (cd / && exec env NODE_ENV=production ZLG_HTTP_HOST=127.0.0.1 ZLG_HTTP_PORT="$port" \
    ZLG_INGRESS_SUB_ENDPOINTS=tcp://127.0.0.1:0 ZLG_INGRESS_PULL_ENDPOINTS=tcp://127.0.0.1:0 \
    ZLG_SINK_RABBITMQ_HOST=127.0.0.1 ZLG_SINK_RABBITMQ_USERNAME=guest ZLG_SINK_RABBITMQ_PASSWORD=guest \
    ZLG_SINK_KAFKA_BROKERS=127.0.0.1:9092 \
    node "$A/dist/cli.js" run --config "$SIM/etc/config.json" 2>"$SIM/gateway.log") &
  gw_pid=$!
  ready=0
  for _ in $(seq 1 60); do
    # The image's HEALTHCHECK command, verbatim apart from the port variable.
    if ZLG_HTTP_PORT=$port node -e "fetch('http://127.0.0.1:'+(process.env.ZLG_HTTP_PORT||9275)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
      ready=1
      break
    fi
    sleep 0.5
  done
  kill -TERM "$gw_pid"
  rc=0
  wait "$gw_pid" || rc=$?
  gw_pid=
  grep -q '"msg":"shutting down"' "$SIM/gateway.log" || {
    echo "the gateway did not log its shutdown on SIGTERM (exit $rc)" >&2
    exit 1
  }
  if [ "$ready" -ne 1 ]; then
    echo "the gateway did not become ready; its log:" >&2
    tail -n 30 "$SIM/gateway.log" >&2
    exit 1
  fi
  echo "the HEALTHCHECK command saw /readyz answer 200; the gateway shut down on SIGTERM (exit $rc)"
fi
if [ "$librdkafka" -eq 1 ]; then
  log "runtime stage with LIBRDKAFKA=true, in a Debian bookworm chroot"
  [ "$(id -u)" -eq 0 ] || { echo "--librdkafka needs root (debootstrap, chroot)" >&2; exit 1; }
  CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/zeek-log-gateway"
  BASE="$CACHE/bookworm-minbase.tar"
  ROOTFS=$SIM/rootfs
  mkdir -p "$ROOTFS"
  if [ ! -s "$BASE" ]; then
    command -v debootstrap >/dev/null || apt-get install -y --no-install-recommends debootstrap
    debootstrap --variant=minbase bookworm "$ROOTFS" http://deb.debian.org/debian >"$SIM/debootstrap.log" 2>&1 \
      || { tail -20 "$SIM/debootstrap.log" >&2; exit 1; }
    mkdir -p "$CACHE"
    tar -C "$ROOTFS" -cf "$BASE.tmp" . && mv "$BASE.tmp" "$BASE"
  else
    tar -C "$ROOTFS" -xf "$BASE"
  fi
  # Node as the node image has it: /usr/local/bin/node, npm, and the headers in /usr/local/include/node.
  node_prefix=$(cd "$(dirname "$(readlink -f "$(command -v node)")")/.." && pwd)
  mkdir -p "$ROOTFS/usr/local/bin" "$ROOTFS/usr/local/lib/node_modules" "$ROOTFS/usr/local/include" "$ROOTFS/app"
  cp "$(readlink -f "$(command -v node)")" "$ROOTFS/usr/local/bin/node"
  cp -a "$NPM_DIR/node_modules/npm" "$ROOTFS/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
  cp -a "$node_prefix/include/node" "$ROOTFS/usr/local/include/node"
  cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
  extra_ca=() # a machine behind a TLS-inspecting proxy needs its CA bundle inside too
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    mkdir -p "$ROOTFS/etc/ssl/certs" && cp "$NODE_EXTRA_CA_CERTS" "$ROOTFS/etc/ssl/certs/extra-ca.crt"
    extra_ca=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/extra-ca.crt)
  fi
  # The Dockerfile's COPY lines of the runtime stage, then its RUN step, as written there.
  cp "$CTX"/package.json "$CTX"/package-lock.json "$ROOTFS/app/"
  cp "$CTX"/scripts/librdkafka-deps.sh "$ROOTFS/tmp/librdkafka-deps.sh"
  awk '/^RUN npm ci --omit=dev/,/npm cache clean --force$/' Dockerfile | sed 's/^RUN //' >"$SIM/run.sh"
  [ -s "$SIM/run.sh" ] || { echo "the Dockerfile's npm ci --omit=dev step was not found" >&2; exit 1; }
  cp "$SIM/run.sh" "$ROOTFS/tmp/run.sh"
  mount -t proc proc "$ROOTFS/proc"
  mount --bind /dev "$ROOTFS/dev"
  in_root() {
    chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      DEBIAN_FRONTEND=noninteractive "${extra_ca[@]}" LIBRDKAFKA=true sh -ec "cd /app && $1"
  }
  in_root 'sh -e /tmp/run.sh' >"$SIM/librdkafka.log" 2>&1 || { tail -30 "$SIM/librdkafka.log" >&2; exit 1; }
  grep -E 'loads' "$SIM/librdkafka.log"
  if in_root 'command -v gcc || command -v make' >/dev/null 2>&1; then
    echo "the build tools are still in the image" >&2
    exit 1
  fi
  echo "node-rdkafka loads without the build tools; node_modules $(du -sh "$ROOTFS/app/node_modules" | cut -f1), $(in_root 'dpkg -l | grep -c "^ii"') Debian packages"
fi
log "image simulation passed"
