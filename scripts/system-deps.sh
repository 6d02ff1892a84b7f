#!/usr/bin/env bash
# Installs the Debian packages the library's tests and demo need, only when they are missing:
# a CJK font for seal pictures and cards, and the openssl command line for cross-checks.
set -euo pipefail

missing=()
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-zenhei fontconfig)
command -v openssl >/dev/null || missing+=(openssl)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
