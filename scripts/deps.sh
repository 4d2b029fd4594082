#!/bin/sh
# Installs what uptake needs to build, test and benchmark, from Debian's
# packages. Idempotent: installs only what is missing. Needs root or sudo.
set -eu

PKGS="gcc make pkg-config libc6-dev libyaml-dev libsqlite3-dev sqlite3 libzstd-dev \
libjansson-dev zlib1g-dev libcmocka-dev libmicrohttpd-dev libssl-dev libcurl4-openssl-dev libjs-chart.js curl time python3 \
clickhouse-server clickhouse-client"
# the benchmark and the cross-check run DuckDB through Node.js
[ "${UPTAKE_NO_NODE:-}" = 1 ] || command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
# the dashboard's end-to-end test drives Debian's chromium
[ "${UPTAKE_NO_BROWSER:-}" = 1 ] || PKGS="$PKGS chromium"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "deps: everything is installed"
    exit 0
fi
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
