#!/usr/bin/env bash
# The local brokers the gateway, its integration tests and benchmarks talk to.
#
#   bash scripts/brokers.sh up|down|status [rabbitmq|kafka]     (both when none is named)
#
# up installs what is missing (RabbitMQ with apt-get, Kafka jars with mvn), starts what is not
# running and waits until every listener answers; it is safe to run again at any time.
#   RabbitMQ  127.0.0.1:5672 AMQP (guest/guest), 127.0.0.1:5671 AMQPS
#   Kafka     127.0.0.1:9092 PLAINTEXT, 9093 SSL, 9094 SASL_SSL (zlg/zlg-secret)
# TLS files: ${ZLG_STATE:-/tmp/zeek-log-gateway-brokers}/certs (ca.pem, client.pem, client.key).
# Per-broker commands (fault tests): scripts/rabbitmq.sh, scripts/kafka.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  echo "usage: $0 up|down|status [rabbitmq|kafka]" >&2
  exit 2
}

action=${1:-}
case "$action" in up | down | status) ;; *) usage ;; esac
case "${2:-all}" in
  all) brokers=(rabbitmq kafka) ;;
  rabbitmq | kafka) brokers=("$2") ;;
  *) usage ;;
esac

rc=0
for b in "${brokers[@]}"; do
  start=$SECONDS
  [[ $action == status ]] || echo "[brokers] $b: $action"
  if ! bash "$HERE/$b.sh" "$action"; then
    rc=1
    # status reports a stopped broker with exit 1 and says so itself; up/down failures stop here.
    [[ $action == status ]] && continue
    echo "[brokers] FAILED: $b $action (see the messages above)" >&2
    exit 1
  fi
  [[ $action == status ]] || echo "[brokers] $b: $action done in $((SECONDS - start))s"
done
exit $rc
