#!/usr/bin/env bash
# Installs the Debian packages the library's tests and demo need, only when they are missing:
# a CJK font for seal pictures and cards, the openssl command line for cross-checks, a
# PostgreSQL server for the storage tests and Chromium for the window page's browser tests;
# with the argument "bench", also the zbar library the benchmarks compare against.
set -euo pipefail

missing=()
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-zenhei fontconfig)
command -v openssl >/dev/null || missing+=(openssl)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The benchmarks compare photo decoding with pyzbar, which needs the zbar library.
if [ "${1:-}" = bench ]; then
    ldconfig -p 2>/dev/null | grep -q libzbar.so || missing+=(libzbar0)
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
