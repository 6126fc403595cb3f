#!/usr/bin/env bash
# Local Apache Kafka (single-node KRaft broker + controller) for tests, benchmarks and `npm start`.
#
#   bash scripts/kafka.sh up|down|status|kill|start|reset
#     up      fetch the jars if needed, format once, start, wait until every listener answers
#     down    graceful stop (SIGTERM, controlled shutdown)
#     kill    SIGKILL, for fault tests; `start` brings it back on the same data, unformatted
#     start   same as up (never reformats a formatted log dir)
#     reset   down, delete all topics and data, format and start afresh
#     jars    only fetch the jars (if needed) and print their folder (the Kafka stand-in image uses them)
#
# Listeners (127.0.0.1 only): 9092 PLAINTEXT, 9093 SSL, 9094 SASL_SSL (PLAIN, SCRAM-SHA-256,
# SCRAM-SHA-512; user zlg, password zlg-secret), 9095 KRaft controller.
# Jars: fetched from Maven Central by mvn (scripts/kafka/pom.xml) into
#   ${ZLG_CACHE:-~/.cache/zeek-log-gateway}/kafka-<version>/libs, reused when present.
# State: ${ZLG_STATE:-/tmp/zeek-log-gateway-brokers}/kafka/{server.properties,data,kafka.pid,kafka.log}
# Env: ZLG_KAFKA_VERSION (default below), ZLG_KAFKA_HEAP (default 512m).
set -euo pipefail
LOG_TAG=kafka
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/certs.sh
source "$HERE/certs.sh"

KAFKA_VERSION=${ZLG_KAFKA_VERSION:-4.4.0}
HEAP=${ZLG_KAFKA_HEAP:-512m}
LIBS=$ZLG_CACHE/kafka-$KAFKA_VERSION/libs
KDIR=$ZLG_STATE/kafka
PID_FILE=$KDIR/kafka.pid
KLOG=$KDIR/kafka.log
# Fixed so the data dir can be reformatted by hand with the same id; any base64 UUID works.
CLUSTER_ID=emxnLWxvY2FsLWthZmthAA
PORTS=(9092 9093 9094 9095)
SCRAM_USER=zlg
SCRAM_PASSWORD=zlg-secret

fetch_jars() {
  # .complete holds the hash of the pom the jars came from: a changed list is fetched again.
  local want
  want=$(sha256sum "$HERE/kafka/pom.xml" | cut -d' ' -f1)
  [[ -f $LIBS/.complete && $(cat "$LIBS/.complete") == "$want" ]] && return 0
  mkdir -p "$ZLG_STATE"
  command -v mvn >/dev/null || apt_install maven
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  local tmp=$LIBS.tmp
  rm -rf "$tmp"
  mvn -B -q -f "$HERE/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >"$ZLG_STATE/mvn.log" 2>&1 ||
    { tail -n 20 "$ZLG_STATE/mvn.log" >&2; die "mvn could not fetch Kafka $KAFKA_VERSION (log: $ZLG_STATE/mvn.log)"; }
  # Renamed into place only when complete, so an interrupted fetch is never mistaken for a good
  # one; the old folder is moved aside, not emptied, so a broker running from it keeps its jars.
  echo "$want" >"$tmp/.complete"
  rm -rf "$LIBS.old"
  if [[ -d $LIBS ]]; then mv "$LIBS" "$LIBS.old"; fi
  mv "$tmp" "$LIBS"
  rm -rf "$LIBS.old"
}

# is_broker PID: the pid runs kafka.Kafka (not a recycled number; a zombie's cmdline is empty).
is_broker() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka '; }

# is_started_broker PID: the broker's JVM itself. The pid runs setsid, then nohup, then java, all
# with kafka.Kafka in their command line; while one execs the next its cmdline reads empty for a
# moment, so only java (comm) means the exec chain is over.
is_started_broker() { [[ $(cat "/proc/$1/comm" 2>/dev/null) == java ]] && is_broker "$1"; }

# has_exited PID: the broker is gone, and not merely between two reads of /proc (checked twice).
has_exited() { ! is_broker "$1" && sleep 1 && ! is_broker "$1"; }

kafka_pid() {
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [[ -n $pid ]] && is_broker "$pid" && echo "$pid"
}

write_config() {
  mkdir -p "$KDIR/data"
  sed -e "s#@STATE@#$KDIR#g" -e "s#@CERTS@#$CERT_DIR#g" "$HERE/kafka/server.properties.in" >"$KDIR/server.properties"
}

JAVA_OPTS=(-Xms128m -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties" -cp "$LIBS/*")

format_once() {
  [[ -f $KDIR/data/meta.properties ]] && return 0
  log "formatting $KDIR/data (cluster $CLUSTER_ID, SCRAM user $SCRAM_USER)"
  java "${JAVA_OPTS[@]}" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$KDIR/server.properties" \
    --add-scram "SCRAM-SHA-256=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]" >"$KDIR/format.log" 2>&1 ||
    { cat "$KDIR/format.log" >&2; die "formatting the Kafka log dir failed"; }
}

# Every listener answers a metadata request. That needs kafkajs from the repo's node_modules;
# before `npm install` there is none, and open ports are the best check there is.
probe() {
  if [[ -d $HERE/../node_modules/kafkajs ]]; then
    node "$HERE/kafka/ready.mjs" "$CERT_DIR" "$@"
  else
    port_open 9093 && port_open 9094
  fi
}

# await_ready PID: 0 once every listener answers; 3 if the broker exited during startup (the
# caller may retry); dies on a timeout.
await_ready() {
  local pid=$1
  local deadline=$((SECONDS + 90))
  until port_open 9092 && probe plaintext-only 2>/dev/null; do
    if has_exited "$pid"; then tail -n 30 "$KLOG" >&2; log "Kafka exited during startup (log: $KLOG)"; return 3; fi
    ((SECONDS < deadline)) || { tail -n 30 "$KLOG" >&2; die "Kafka did not answer on 9092 within 90s (log: $KLOG)"; }
    sleep 0.5
  done
  probe || die "Kafka answers on 9092 but not on every SSL/SASL listener (see above; log: $KLOG)"
}

cmd_up() {
  local pid
  mkdir -p "$KDIR"
  # Kafka 4 needs Java 17 or newer; Debian 12's default JDK is 17.
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  fetch_jars
  ensure_certs
  if pid=$(kafka_pid); then
    await_ready "$pid" || die "Kafka exited during startup (log: $KLOG)"
    log "already running (pid $pid; 9092 plaintext, 9093 ssl, 9094 sasl_ssl)"
    return 0
  fi
  local p
  for p in "${PORTS[@]}"; do
    port_open "$p" && die "port $p is taken by another process; stop it first (ss -ltnp | grep $p)"
  done
  write_config
  format_once
  [[ -d $HERE/../node_modules/kafkajs ]] || log "no node_modules/kafkajs (run npm install): readiness is checked by open ports only"
  # Right after a SIGKILL (fault tests) a start has been seen to exit at once, once in a while:
  # its log is kept as kafka.log.failed-N and the start is tried again, up to 3 times in all.
  local attempt
  for attempt in 1 2 3; do
    log "starting Kafka $KAFKA_VERSION (heap $HEAP, log $KLOG)"
    # One log per run; the previous run's (e.g. before a kill) stays beside it as kafka.log.1.
    if [[ -f $KLOG ]]; then mv -f "$KLOG" "$KLOG.1"; fi
    # setsid: the broker must outlive this script and the shell or test runner that called it.
    # setsid and nohup both exec, so $! is the java process itself.
    setsid nohup java "${JAVA_OPTS[@]}" kafka.Kafka "$KDIR/server.properties" >"$KLOG" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$PID_FILE"
    wait_until 10 "the java process to start" is_started_broker "$pid" || die "Kafka did not start (log: $KLOG)"
    if await_ready "$pid"; then
      log "ready (pid $pid; 9092 plaintext, 9093 ssl, 9094 sasl_ssl)"
      return 0
    fi
    cp -f "$KLOG" "$KLOG.failed-$attempt"
    log "kept that log as $KLOG.failed-$attempt"
    # A start judged failed must not hold the ports against the next one.
    if is_broker "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    for p in "${PORTS[@]}"; do wait_until 10 "port $p to close" not port_open "$p" || true; done
    sleep 2
  done
  die "Kafka exited during startup 3 times (logs: $KLOG.failed-*)"
}

# stop SIGNAL SECONDS: signals the broker and waits for it to exit.
stop() {
  local pid
  if ! pid=$(kafka_pid); then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  kill -"$1" "$pid"
  wait_until "$2" "Kafka (pid $pid) to exit" not is_broker "$pid" || return 1
  # An exiting process drops its memory (and cmdline) before its sockets: wait for those too.
  local p
  for p in "${PORTS[@]}"; do
    wait_until 10 "port $p to close" not port_open "$p" || return 1
  done
  rm -f "$PID_FILE"
}

cmd_down() {
  if ! kafka_pid >/dev/null; then
    log "not running"
    return 0
  fi
  log "stopping"
  if ! stop TERM 60; then
    log "no exit after SIGTERM; sending SIGKILL"
    stop KILL 10
  fi
  log "stopped"
}

# Test topics pile up over many runs and slow every start (each partition is loaded); reset
# throws the data away and formats afresh.
cmd_reset() {
  cmd_down
  log "deleting $KDIR/data"
  rm -rf "$KDIR/data"
  cmd_up
}

cmd_kill() {
  stop KILL 10 || die "Kafka did not die"
  log "killed"
}

cmd_status() {
  local pid
  if ! pid=$(kafka_pid); then
    echo "kafka: stopped"
    return 1
  fi
  local p states=""
  for p in "${PORTS[@]}"; do
    if port_open "$p"; then states+=", $p open"; else states+=", $p closed"; fi
  done
  echo "kafka: running (pid $pid, Kafka $KAFKA_VERSION${states})"
  port_open 9092
}

# Sourced (test/unit/scripts/kafka-sh.test.ts): the functions only.
if [[ ${BASH_SOURCE[0]} != "$0" ]]; then return 0; fi

case "${1:-}" in up | start | down | kill | reset) lock kafka ;; jars) lock kafka-jars ;; esac
case "${1:-}" in
  up | start) cmd_up ;;
  down) cmd_down ;;
  kill) cmd_kill ;;
  reset) cmd_reset ;;
  status) cmd_status ;;
  jars) fetch_jars >&2 && echo "$LIBS" ;;
  *)
    echo "usage: $0 up|down|status|kill|start|reset|jars" >&2
    exit 2
    ;;
esac
