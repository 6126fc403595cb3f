#!/bin/bash
# kafka-run-class.sh CLASS ARGS...: a Java main class with the Kafka jars, as the official script
# runs it (KAFKA_HEAP_OPTS, KAFKA_OPTS; 256 MiB for the tools by default).
# shellcheck disable=SC2086 # the option variables hold several words
exec java ${KAFKA_HEAP_OPTS:--Xmx256M} ${KAFKA_OPTS:-} -Djava.awt.headless=true \
  -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp '/opt/kafka/libs/*' "$@"
