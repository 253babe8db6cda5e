#!/bin/sh
# Aushang kiosk session, started by aushang-kiosk.service as user aushang-kiosk on tty1.
# Runs a Wayland compositor with exactly one client: Chromium in kiosk mode (kiosk-browser.sh).
# labwc is preferred because it lets the player switch the output off and on (wlr-randr);
# cage is the fallback on systems without labwc.
set -eu

libexec=$(dirname "$0")
browser="$libexec/kiosk-browser.sh"

# The systemd RuntimeDirectory (tmpfs) instead of /run/user/UID: the player (group
# aushang-kiosk) reaches the Wayland socket here, and nothing in it survives a restart.
XDG_RUNTIME_DIR=${AUSHANG_RUNTIME_DIR:-/run/aushang-kiosk}
export XDG_RUNTIME_DIR
# Chromium's profile and caches in RAM, not on the SD card.
HOME=$XDG_RUNTIME_DIR/home
export HOME
mkdir -p "$HOME"

if command -v labwc >/dev/null 2>&1; then
    config=$XDG_RUNTIME_DIR/labwc
    mkdir -p "$config"
    # A window rule without decorations; labwc's defaults do the rest.
    cat >"$config/rc.xml" <<'XML'
<?xml version="1.0"?>
<labwc_config>
  <core><gap>0</gap></core>
  <windowRules>
    <windowRule identifier="*" serverDecoration="no" />
  </windowRules>
</labwc_config>
XML
    : >"$config/autostart"
    exec labwc --config-dir "$config" --startup "$browser"
elif command -v cage >/dev/null 2>&1; then
    exec cage -d -- "$browser"
else
    echo "event=kiosk_failed reason=no_compositor hint='labwc oder cage installieren'" >&2
    exit 1
fi
