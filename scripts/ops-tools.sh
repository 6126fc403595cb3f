#!/usr/bin/env bash
# The tools the deploy/ tests run: promtool (Debian's prometheus package) for the alert rules and
# the dashboard queries (test/unit/deploy/monitoring.test.ts), systemd-analyze (Debian's systemd
# package) for the unit (test/unit/deploy/systemd.test.ts). Installs only what is missing, with
# apt-get (needs root); the packages' services are not started (policy-rc.d, see certs.sh): the
# prometheus daemon is never needed, only its promtool.
#
#   bash scripts/ops-tools.sh
set -euo pipefail
LOG_TAG=ops-tools
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/certs.sh
source "$HERE/certs.sh"

missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v systemd-analyze >/dev/null || missing+=(systemd)
if ((${#missing[@]} > 0)); then apt_install "${missing[@]}"; fi
log "$(promtool --version 2>&1 | head -1)"
log "systemd-analyze $(systemd-analyze --version | head -1)"
