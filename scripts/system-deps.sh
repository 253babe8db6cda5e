#!/bin/sh
# Installs the Debian packages the test suite needs, once. Runs as root (CI, dev
# containers) or through sudo; on a machine that has them already it does nothing.
set -eu
need=""
command -v chromium >/dev/null 2>&1 || need="$need chromium chromium-driver"
command -v pdftoppm >/dev/null 2>&1 || need="$need poppler-utils"
fc-list 2>/dev/null | grep -qi 'DejaVu Sans' || need="$need fonts-dejavu-core"
# Raspberry Pi deployment checks: shellcheck on the scripts, systemd-analyze verify on the units.
command -v shellcheck >/dev/null 2>&1 || need="$need shellcheck"
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
# Server deployment checks: `nginx -t` on deploy/server/nginx (with a throw-away certificate).
# nginx-light is bookworm's small build; the tests never start it as a service.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$need nginx-light"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
# The slow install test into a debootstrapped bookworm (scripts/debootstrap-root.sh).
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need="$need debootstrap"
# Push engine of protocol v2 (issue 15): nginx's nchan module; the tests and `make bench`
# start private nginx instances with it, never the system service. Redis for two edges.
[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] || need="$need libnginx-mod-nchan"
command -v redis-server >/dev/null 2>&1 || command -v redis-cli >/dev/null 2>&1 || need="$need redis-server"
[ -z "$need" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "Installing Debian packages:$need"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
