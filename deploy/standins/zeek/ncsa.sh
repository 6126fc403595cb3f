#!/bin/bash
# Stand-in for the zeek-ncsa service of docker-compose.yml (Zeek with the NCSA ZeroMQ writer
# plugin), for a machine where Zeek cannot be pulled or built: the gateway's own
# `zeek-log-gateway replay` publishes Zeek's JSON logs from the project's NCSA captures
# (ZEEK_CAPTURES/<pcap>.logs/*.log, in name order) as [path, JSON] messages, as the plugin does, to
# the endpoint deploy/zeek/ncsa.zeek sets, with its connect pause. Runs on the gateway image.
set -euo pipefail
endpoint=$(sed -n 's/^redef LogZeroMQ::endpoint = "\(.*\)";.*/\1/p' /opt/zeek-log-gateway/ncsa.zeek)
pause=$(sed -n 's/^redef LogZeroMQ::zmq_connect_pause = \([0-9]*\);.*/\1/p' /opt/zeek-log-gateway/ncsa.zeek)
[[ -n $endpoint ]] || { echo "no LogZeroMQ::endpoint in ncsa.zeek" >&2; exit 1; }
shopt -s nullglob
files=("${ZEEK_CAPTURES:-/captures}"/*.logs/*.log)
((${#files[@]})) || { echo "no logs in ${ZEEK_CAPTURES:-/captures}" >&2; exit 1; }
node /app/dist/cli.js replay --endpoint "$endpoint" --connect-pause "${pause:-1000}" --loop "${ZEEK_PCAP_LOOPS:-1}" "${files[@]}"
# Like a Zeek that finished its traces, stay up (compose restarts a service that exits).
exec sleep infinity
