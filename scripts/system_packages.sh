#!/usr/bin/env bash
# Installs the Debian packages the test suite drives: Chromium (browser tests), nginx (the proxy test,
# `nginx -t`) and systemd's systemd-analyze (`verify` of deploy/systemd; systemd need not be running).
# Never a downloaded browser: Debian's /usr/bin/chromium. Idempotent; quiet when all are there.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v systemd-analyze >/dev/null || missing+=(systemd)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages for the tests: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"; }; then
    echo "error: could not install ${missing[*]} with apt-get; the browser and proxy tests need them" >&2
    exit 2
fi
