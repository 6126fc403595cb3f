#!/usr/bin/env bash
# Replays the steps of the Dockerfile without a Docker engine, so a machine that cannot build
# images can still check that they work: the build context .dockerignore lets through, the build
# stage (npm ci --ignore-scripts, npm run build) and the runtime stage (npm ci --omit=dev
# --ignore-scripts, loading the zeromq addon) in two empty folders, with the npm version of the
# node:20 image. Then the runtime folder runs `check-config` on the image's default config and,
# with --run, starts the gateway for a few seconds and asks /readyz.
#
#   bash deploy/simulate-image.sh [--run] [--keep]
#
# Keep the steps below in step with the Dockerfile (test/unit/deploy/image.test.ts checks the
# Dockerfile side). Environment: ZLG_IMAGE_NPM (default npm@10.8.2, what node:20-bookworm-slim
# ships), ZLG_SIM_DIR (default: a new temporary folder).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

run_gateway=0
keep=0
for arg in "$@"; do
  case "$arg" in
    --run) run_gateway=1 ;;
    --keep) keep=1 ;;
    *)
      echo "usage: $0 [--run] [--keep]" >&2
      exit 2
      ;;
  esac
done

NPM_SPEC=${ZLG_IMAGE_NPM:-npm@10.8.2}
SIM=${ZLG_SIM_DIR:-$(mktemp -d -t zlg-image-XXXXXX)}
log() { printf '== %s\n' "$*"; }
cleanup() {
  if [ -n "${gw_pid:-}" ]; then kill "$gw_pid" 2>/dev/null || true; fi
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
log "image simulation passed"
