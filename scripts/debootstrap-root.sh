#!/bin/sh
# Builds, once, the Debian bookworm folder that tests/deploy/test_debootstrap_install.py
# installs the Raspberry Pi player into (install.sh --root): a minimal bookworm with what
# Raspberry Pi OS Lite always has (systemd, python3). Needs root and the Debian mirror, like
# scripts/system-deps.sh; the tests themselves only copy the folder.
#
#   sudo scripts/debootstrap-root.sh /var/cache/aushang/bookworm-root
#   AUSHANG_DEBOOTSTRAP_ROOT=/var/cache/aushang/bookworm-root make test PYTEST_ARGS="-m slow tests/deploy"
set -eu
target=${1:?Aufruf: debootstrap-root.sh ZIELVERZEICHNIS}
mirror=${AUSHANG_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ -f "$target/etc/os-release" ] && [ -x "$target/usr/bin/python3" ]; then
    exit 0
fi
command -v debootstrap >/dev/null 2>&1 || {
    echo "debootstrap fehlt: scripts/system-deps.sh installiert es" >&2
    exit 1
}
tmp=$target.new
rm -rf "$tmp"
mkdir -p "$(dirname "$target")"
debootstrap --variant=minbase --include=systemd,python3,python3-venv,ca-certificates \
    bookworm "$tmp" "$mirror"
# Complete folders appear at once: a half-built one never carries the final name.
rm -rf "$target"
mv "$tmp" "$target"
