#!/usr/bin/env bash
# Installs (with apt-get, on Debian/Ubuntu) what `npm ci` needs to build the optional
# node-rdkafka package, the Kafka sink's `client: librdkafka`: a C/C++ toolchain and the
# development headers of the libraries librdkafka uses (TLS, SASL, compression). Safe to run
# again: it installs only what is missing. Without these, npm ci still succeeds (the package is
# optional) and the kafkajs client works; client librdkafka then fails at startup, saying why.
# `--list` prints the package names only (the container build removes them again after the build).
set -euo pipefail
packages=(build-essential python3 pkg-config libssl-dev libsasl2-dev zlib1g-dev libzstd-dev liblz4-dev libcurl4-openssl-dev)
if [ "${1:-}" = "--list" ]; then
  echo "${packages[*]}"
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[librdkafka-deps] all present"
  exit 0
fi
echo "[librdkafka-deps] installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}" || {
  "${sudo_cmd[@]}" apt-get update
  "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}
