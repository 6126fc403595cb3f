#!/usr/bin/env bash
# Test certificates for the local brokers' TLS listeners (RabbitMQ 5671, Kafka 9093/9094).
#
#   bash scripts/certs.sh          # make them if missing, print the folder
#
# Also sourced by rabbitmq.sh and kafka.sh for the state folder and the log/die helpers.
# Files (in $ZLG_STATE/certs, default /tmp/zeek-log-gateway-brokers/certs):
#   ca.pem                      the test CA; clients trust it
#   server.pem / server.key     localhost + 127.0.0.1, signed by the CA
#   client.pem / client.key     CN=zlg-client, for client-certificate (mutual TLS) tests
#   server-keystore.pem         server.key (PKCS#8) + server.pem: Kafka's ssl.keystore.type=PEM
# These are throwaway keys for loopback tests only; they are world-readable on purpose so the
# rabbitmq user can read them.
set -euo pipefail

ZLG_STATE=${ZLG_STATE:-/tmp/zeek-log-gateway-brokers}
ZLG_CACHE=${ZLG_CACHE:-$HOME/.cache/zeek-log-gateway}
CERT_DIR=$ZLG_STATE/certs

log() { printf '[%s] %s\n' "${LOG_TAG:-brokers}" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every half second.
wait_until() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { log "timed out after ${limit}s waiting for $what"; return 1; }
    sleep 0.5
  done
}

# not COMMAND...: negates a command, for wait_until.
not() { ! "$@"; }

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# lock NAME: serializes this script's state changes with other runs (tests in parallel processes
# may start or kill a broker at the same time). Held on fd 9 until the script exits, so daemons
# started while holding it must be started with 9>&- or they would keep it forever.
lock() {
  mkdir -p "$ZLG_STATE"
  exec 9>"$ZLG_STATE/$1.lock"
  flock -w 300 9 || die "another scripts/$1.sh has held $ZLG_STATE/$1.lock for 5 minutes"
}

# apt_install PACKAGE...: installs Debian packages (needs root). Without systemd a package's
# postinst tries to start its service and fails or hangs; a policy-rc.d answering 101 ("action
# forbidden") makes invoke-rc.d skip that while we install.
apt_install() {
  [[ $(id -u) == 0 ]] || die "missing $*; installing it needs root (apt-get install $*)"
  log "installing $* with apt-get (first run only)"
  local made_policy=0 rc=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  {
    # Package lists younger than an hour are fresh enough; a fresh machine has none.
    if ! find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | grep -q .; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
    fi &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" >/dev/null
  } || rc=$?
  if ((made_policy)); then rm -f /usr/sbin/policy-rc.d; fi
  ((rc == 0)) || die "apt-get install $* failed (exit $rc)"
}

ensure_certs() {
  # client.key is written last, so its presence means a complete set.
  [[ -s $CERT_DIR/client.key && -s $CERT_DIR/server-keystore.pem ]] && return 0
  command -v openssl >/dev/null || apt_install openssl
  log "making test certificates in $CERT_DIR"
  mkdir -p "$CERT_DIR"
  local tmp
  tmp=$(mktemp -d)
  (
    cd "$tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=zeek-log-gateway test CA' \
      -keyout ca.key -out ca.pem 2>/dev/null
    # issue NAME SUBJECT EXTENSIONS: a CA-signed cert; genpkey writes an unencrypted PKCS#8 key.
    issue() {
      openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null
      openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
      printf '%s\n' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
        -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    }
    issue server /CN=localhost \
      'subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth'
    issue client /CN=zlg-client 'extendedKeyUsage=clientAuth'
    cat server.key server.pem >server-keystore.pem
    chmod 644 ./*.key ./*.pem
    mv ca.pem ca.key server.pem server.key server-keystore.pem client.pem "$CERT_DIR/"
    mv client.key "$CERT_DIR/"
  )
  rm -rf "$tmp"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  LOG_TAG=certs
  ensure_certs >&2
  echo "$CERT_DIR"
fi
