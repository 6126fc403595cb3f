#!/usr/bin/env bash
# Prints the .env lines that turn on CURVE for the compose stack: two new keypairs (the cluster's
# server pair and client pair) in the variables Zeek reads, plus the gateway's switch.
#
#   bash deploy/curve-env.sh >> .env
#
# Keys come from `zeek-log-gateway keygen` (libzmq's zmq_curve_keypair, like Zeek's
# Cluster::Backend::ZeroMQ::generate_keypair()). ZLG_KEYGEN names the command that prints one
# keypair as JSON {"public": ..., "secret": ...}; by default the compose image's, else a local build.
# Values are single-quoted: Z85 keys may hold $ and #, which .env files would otherwise interpret.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

keygen() {
  if [ -n "${ZLG_KEYGEN:-}" ]; then
    bash -c "$ZLG_KEYGEN"
  elif command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
    docker compose run --rm --no-deps -T gateway keygen
  elif [ -f dist/cli.js ]; then
    node dist/cli.js keygen
  else
    echo "curve-env.sh: no way to generate keys: set ZLG_KEYGEN, install Docker Compose, or npm run build" >&2
    exit 1
  fi
}

# Z85 has no quote or backslash, so the JSON needs no unescaping.
field() { sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p" <<<"$2"; }

pair() {
  local json pub sec
  json=$(keygen | tail -n 1)
  pub=$(field public "$json")
  sec=$(field secret "$json")
  if [ "${#pub}" -ne 40 ] || [ "${#sec}" -ne 40 ]; then
    echo "curve-env.sh: keygen printed no keypair: $json" >&2
    exit 1
  fi
  printf '%s %s\n' "$pub" "$sec"
}

read -r server_pub server_sec <<<"$(pair)"
read -r client_pub client_sec <<<"$(pair)"
cat <<ENV
# CURVE for the cluster's log traffic (deploy/curve-env.sh, $(date -u +%Y-%m-%d)).
ZLG_INGRESS_PULL_CURVE_ENABLED=true
ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_SERVER_PUBLICKEY='$server_pub'
ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_SERVER_SECRETKEY='$server_sec'
ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_CLIENT_PUBLICKEY='$client_pub'
ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_CLIENT_SECRETKEY='$client_sec'
ENV
