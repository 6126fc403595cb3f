#!/bin/bash
# The official image's start: every KAFKA_<NAME> variable becomes a server.properties line (NAME
# lower-cased, _ -> ., __ -> _, ___ -> -), CLUSTER_ID formats the log folder on the first start.
set -euo pipefail
props=/opt/kafka/config/server.properties
: >"$props"
while IFS='=' read -r var value; do
  case $var in KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_LOG4J_OPTS | KAFKA_GC_LOG_OPTS) continue ;; esac
  name=$(printf '%s' "${var#KAFKA_}" | tr '[:upper:]' '[:lower:]' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
  printf '%s=%s\n' "$name" "$value" >>"$props"
done < <(env | grep '^KAFKA_')
: "${CLUSTER_ID:?CLUSTER_ID is required}"
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t "$CLUSTER_ID" -c "$props"
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}
exec /opt/kafka/bin/kafka-server-start.sh "$props"
