#!/bin/sh
# The official image's environment: RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS create the first
# user (when the data volume is new), reachable from other containers (not only from loopback).
set -eu
conf=/etc/rabbitmq/rabbitmq.conf
{
  echo "loopback_users = none"
  echo "listeners.tcp.default = 5672"
  echo "management.tcp.port = 15672"
  [ -z "${RABBITMQ_DEFAULT_USER:-}" ] || echo "default_user = $RABBITMQ_DEFAULT_USER"
  [ -z "${RABBITMQ_DEFAULT_PASS:-}" ] || echo "default_pass = $RABBITMQ_DEFAULT_PASS"
} >"$conf"
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
# Debian's rabbitmq-server wrapper runs the broker as the rabbitmq user, in the foreground.
exec rabbitmq-server
