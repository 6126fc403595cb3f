#!/usr/bin/env bash
# Entry point of the Zeek containers of docker-compose.yml: runs one node without zeekctl.
#
#   CLUSTER_NODE=manager      the cluster manager (runs the XPUB/XSUB proxy; not the logger)
#   CLUSTER_NODE=worker-1     reads every pcap in $ZEEK_PCAP_DIR, one Zeek run per file, in a loop
#   CLUSTER_NODE=worker-live  sniffs $ZEEK_INTERFACE (profile "live", host network)
#   ZEEK_ROLE=ncsa            standalone Zeek with the NCSA writer plugin reading the pcaps in a
#                             loop (profile "ncsa"; no CLUSTER_NODE)
#
# Environment (all optional unless said):
#   ZEEK_PCAP_DIR         folder of traces (*.pcap, *.pcapng, *.cap); default /pcaps
#   ZEEK_PCAP_LOOPS       how many passes over the folder; 0 (default) = forever
#   ZEEK_PCAP_LOOP_DELAY  seconds between passes; default 10
#   ZEEK_INTERFACE        interface to sniff (worker-live); when set, worker-1 stands down
#   ZEEK_SCRIPTS          extra scripts or packages for zeek, space-separated (e.g. "local")
#   ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_*  CURVE keys, read by Zeek itself (deploy/.env.example)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
role=${CLUSTER_NODE:-${ZEEK_ROLE:-}}
log() { printf '%s zeek-%s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${role:-node}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

[ -n "$role" ] || die "set CLUSTER_NODE (manager, worker-1, worker-live) or ZEEK_ROLE=ncsa"
command -v zeek >/dev/null || die "zeek is not on PATH"

# Our scripts (cluster-layout.zeek above all) are found through ZEEKPATH.
ZEEKPATH="$(zeek-config --zeekpath):$here"
export ZEEKPATH
workdir=${ZEEK_WORKDIR:-/tmp/zeek/$role}
mkdir -p "$workdir"
cd "$workdir"
read -r -a extra <<<"${ZEEK_SCRIPTS:-}"
pcap_dir=${ZEEK_PCAP_DIR:-/pcaps}

# Forward SIGTERM/SIGINT to the running zeek and stop; bash defers traps while a foreground
# child runs, so children run in the background and we wait for them.
child=0
stop() {
  log "stopping"
  if [ "$child" -ne 0 ]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit 0
}
trap stop TERM INT

run() {
  "$@" &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=0
  return "$rc"
}

pause() {
  sleep "$1" &
  child=$!
  wait "$child" || true
  child=0
}

require_plugin() {
  local plugins
  plugins=$(zeek -N 2>/dev/null || true)
  grep -q "^$1 " <<<"$plugins" || die "this Zeek has no $1 plugin ($(zeek --version 2>&1)); $2"
}

# Runs zeek -r on every trace of the folder, again and again (ZEEK_PCAP_LOOPS passes; 0 = forever).
pcap_loop() {
  local loops=${ZEEK_PCAP_LOOPS:-0} delay=${ZEEK_PCAP_LOOP_DELAY:-10} pass=0 files p rc
  shopt -s nullglob
  while :; do
    files=("$pcap_dir"/*.pcap "$pcap_dir"/*.pcapng "$pcap_dir"/*.cap)
    if [ "${#files[@]}" -eq 0 ]; then
      log "no traces in $pcap_dir (*.pcap, *.pcapng, *.cap): put some there (docs/deployment.md); looking again in 30 s"
      pause 30
      continue
    fi
    pass=$((pass + 1))
    for p in "${files[@]}"; do
      log "pass $pass: reading $p"
      rc=0
      run zeek -C -r "$p" "$@" "${extra[@]}" || rc=$?
      [ "$rc" -eq 0 ] || log "zeek exited with $rc on $p"
    done
    if [ "$loops" -gt 0 ] && [ "$pass" -ge "$loops" ]; then
      log "done after $pass pass(es)"
      exit 0
    fi
    pause "$delay"
  done
}

case "$role" in
  manager)
    require_plugin Zeek::Cluster_Backend_ZeroMQ "use a Zeek 8 image"
    log "starting the manager ($(zeek --version 2>&1))"
    run zeek -C "$here/common.zeek" "${extra[@]}"
    ;;
  worker-1)
    if [ -n "${ZEEK_INTERFACE:-}" ]; then
      log "ZEEK_INTERFACE=$ZEEK_INTERFACE is set: the zeek-worker-live service (profile live) sniffs it; no pcaps here"
      exit 0
    fi
    require_plugin Zeek::Cluster_Backend_ZeroMQ "use a Zeek 8 image"
    pcap_loop "$here/common.zeek" "$here/worker-pcap.zeek"
    ;;
  worker-live)
    [ -n "${ZEEK_INTERFACE:-}" ] || die "set ZEEK_INTERFACE to the host interface to sniff (e.g. eth0)"
    require_plugin Zeek::Cluster_Backend_ZeroMQ "use a Zeek 8 image"
    log "sniffing $ZEEK_INTERFACE"
    run zeek -C -i "$ZEEK_INTERFACE" "$here/common.zeek" "${extra[@]}"
    ;;
  ncsa)
    unset CLUSTER_NODE
    require_plugin NCSA::ZeroMQWriter "build the image from deploy/zeek-ncsa/Dockerfile"
    pcap_loop "$here/ncsa.zeek"
    ;;
  *)
    die "unknown node '$role' (manager, worker-1, worker-live, or ZEEK_ROLE=ncsa)"
    ;;
esac
