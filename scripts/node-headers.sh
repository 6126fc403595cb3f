#!/usr/bin/env bash
# Prints a folder holding the pinned Node's build tree (include/node, common.gypi) for node-gyp's
# nodedir: the node-linux-<arch> npm package of the version in .node-version, unpacked once into
# ~/.cache/zeek-log-gateway. node-gyp would otherwise download the headers from nodejs.org, which
# the machines here cannot reach. Used to build the optional node-rdkafka for Node 24:
#   npm_config_nodedir="$(bash scripts/node-headers.sh)" npm rebuild node-rdkafka
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version="$(tr -d '[:space:]' < .node-version)"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node-headers: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
dir="${XDG_CACHE_HOME:-$HOME/.cache}/zeek-log-gateway/node-linux-$arch-$version"
if [ ! -f "$dir/include/node/common.gypi" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$version" > /dev/null && tar xzf "node-linux-$arch-$version.tgz")
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
fi
echo "$dir"
