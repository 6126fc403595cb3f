#!/usr/bin/env bash
# Local RabbitMQ for tests, benchmarks and `npm start` (Debian's rabbitmq-server package).
#
#   bash scripts/rabbitmq.sh up|down|status|stop-app|start-app|close-connections
#
# Listeners (127.0.0.1 only):
#   5672  AMQP   guest/guest (RabbitMQ lets guest in from loopback only)
#   5671  AMQPS  certificates from scripts/certs.sh; a client certificate is verified when
#                sent and optional otherwise (verify_peer + fail_if_no_peer_cert=false)
# The node is rabbit@localhost so it works whatever the host name resolves to. It runs as the
# rabbitmq user with the package's data and log folders (/var/lib/rabbitmq, /var/log/rabbitmq).
set -euo pipefail
LOG_TAG=rabbitmq
# shellcheck source=scripts/certs.sh
source "$(dirname "${BASH_SOURCE[0]}")/certs.sh"

AMQP_PORT=5672
AMQPS_PORT=5671
CONF_DIR=/etc/rabbitmq
RABBIT_LOG=/var/log/rabbitmq/rabbit@localhost.log

install_rabbitmq() {
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
}

write_config() {
  mkdir -p "$CONF_DIR"
  # Sourced by both the server and rabbitmqctl, so they agree on the node name.
  cat >"$CONF_DIR/rabbitmq-env.conf" <<'EOF'
# Written by zeek-log-gateway scripts/rabbitmq.sh
NODENAME=rabbit@localhost
NODE_IP_ADDRESS=127.0.0.1
EOF
  cat >"$CONF_DIR/rabbitmq.conf" <<EOF
# Written by zeek-log-gateway scripts/rabbitmq.sh; rewritten on every 'up'.
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
listeners.ssl.default = 127.0.0.1:$AMQPS_PORT
ssl_options.cacertfile = $CERT_DIR/ca.pem
ssl_options.certfile = $CERT_DIR/server.pem
ssl_options.keyfile = $CERT_DIR/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
loopback_users.guest = true
# Test machines can have little free disk; don't block publishers because of it.
disk_free_limit.absolute = 50MB
EOF
}

node_running() { rabbitmqctl -q ping >/dev/null 2>&1; }

wait_for_listeners() {
  wait_until 20 "AMQP on 127.0.0.1:$AMQP_PORT" port_open "$AMQP_PORT" || die "AMQP port $AMQP_PORT is not open"
  wait_until 20 "AMQPS on 127.0.0.1:$AMQPS_PORT" port_open "$AMQPS_PORT" ||
    { grep -i 'ssl\|tls' "$RABBIT_LOG" | tail -n 10 >&2 || true; die "AMQPS port $AMQPS_PORT is not open"; }
}

# Blocks until a freshly started node has its application up and both listeners open.
await_ready() {
  # `rabbitmq-server -detached` returns before the node is reachable, and await_startup fails at
  # once on a node it cannot reach, so first wait for the node to answer ping.
  wait_until 60 "the rabbit@localhost node" node_running ||
    { tail -n 30 "$RABBIT_LOG" >&2 2>/dev/null || true; die "the RabbitMQ node did not come up (log: $RABBIT_LOG)"; }
  rabbitmqctl -q await_startup --timeout 90 >/dev/null 2>&1 ||
    { tail -n 30 "$RABBIT_LOG" >&2 2>/dev/null || true; die "RabbitMQ did not finish starting (log: $RABBIT_LOG)"; }
  wait_for_listeners
}

cmd_up() {
  install_rabbitmq
  ensure_certs
  if node_running; then
    # Reused as it is; a node left in stop-app state gets its application started again.
    port_open "$AMQP_PORT" || { log "node running but application stopped: starting it"; rabbitmqctl -q start_app; }
    wait_for_listeners
    log "already running (amqp 127.0.0.1:$AMQP_PORT, amqps 127.0.0.1:$AMQPS_PORT)"
    return 0
  fi
  write_config
  log "starting rabbitmq-server"
  rabbitmq-server -detached 9>&-
  await_ready
  log "ready (amqp 127.0.0.1:$AMQP_PORT, amqps 127.0.0.1:$AMQPS_PORT)"
}

cmd_down() {
  if ! command -v rabbitmqctl >/dev/null || ! node_running; then
    log "not running"
    return 0
  fi
  log "stopping"
  rabbitmqctl -q stop >/dev/null
  wait_until 30 "AMQP port to close" not port_open "$AMQP_PORT" || die "RabbitMQ did not stop"
  log "stopped"
}

cmd_status() {
  if ! command -v rabbitmqctl >/dev/null; then
    echo "rabbitmq: not installed"
    return 1
  fi
  if ! node_running; then
    echo "rabbitmq: stopped"
    return 1
  fi
  local amqp=closed amqps=closed
  port_open "$AMQP_PORT" && amqp=open
  port_open "$AMQPS_PORT" && amqps=open
  echo "rabbitmq: running (node rabbit@localhost; amqp $AMQP_PORT $amqp, amqps $AMQPS_PORT $amqps)"
  [[ $amqp == open ]]
}

# For fault tests: stop_app closes every connection and listener at once but keeps the Erlang
# node, so start_app brings the broker back in a second or two. Each rabbitmqctl call costs about
# a second of CLI start-up, so these make one call and explain a failure afterwards.
NOT_RUNNING="is RabbitMQ running? (bash scripts/rabbitmq.sh up)"

cmd_stop_app() {
  rabbitmqctl -q stop_app >/dev/null || die "rabbitmqctl stop_app failed; $NOT_RUNNING"
  wait_until 20 "AMQP port to close" not port_open "$AMQP_PORT" || die "listener still open"
  log "application stopped (node still up)"
}

cmd_start_app() {
  # start_app returns once the application has started; the listeners follow right after.
  rabbitmqctl -q start_app >/dev/null || die "rabbitmqctl start_app failed; $NOT_RUNNING"
  wait_for_listeners
  log "application started"
}

cmd_close_connections() {
  rabbitmqctl -q close_all_connections "closed by scripts/rabbitmq.sh close-connections" >/dev/null ||
    die "rabbitmqctl close_all_connections failed; $NOT_RUNNING"
  log "closed all client connections"
}

case "${1:-}" in status) ;; *) lock rabbitmq ;; esac
case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  stop-app) cmd_stop_app ;;
  start-app) cmd_start_app ;;
  close-connections) cmd_close_connections ;;
  *)
    echo "usage: $0 up|down|status|stop-app|start-app|close-connections" >&2
    exit 2
    ;;
esac
