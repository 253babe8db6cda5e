#!/bin/sh
# Chromium in kiosk mode on the player's local page. Started inside the compositor by
# kiosk-session.sh. The flags keep the screen free of dialogs and the network quiet: the
# page comes from 127.0.0.1, and the browser must not phone home, update itself or ask
# anything after a power cut.
set -eu

url=${AUSHANG_KIOSK_URL:-http://127.0.0.1:8080/}
profile=${XDG_RUNTIME_DIR:-/run/aushang-kiosk}/chromium

browser=""
for candidate in chromium-browser chromium; do
    if command -v "$candidate" >/dev/null 2>&1; then
        browser=$candidate
        break
    fi
done
if [ -z "$browser" ]; then
    echo "event=kiosk_failed reason=no_browser hint='chromium installieren'" >&2
    exit 1
fi

# A fresh profile on each start: no "restore pages?" bubble, no stale state.
rm -rf "$profile"
mkdir -p "$profile"

exec "$browser" \
    --kiosk \
    --noerrdialogs \
    --disable-infobars \
    --no-first-run \
    --no-default-browser-check \
    --disable-session-crashed-bubble \
    --disable-restore-session-state \
    --disable-background-networking \
    --disable-component-update \
    --disable-sync \
    --disable-translate \
    --disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication \
    --disable-breakpad \
    --disable-crash-reporter \
    --metrics-recording-only \
    --no-pings \
    --password-store=basic \
    --check-for-update-interval=31536000 \
    --autoplay-policy=no-user-gesture-required \
    --overscroll-history-navigation=0 \
    --disable-pinch \
    --ozone-platform=wayland \
    --user-data-dir="$profile" \
    --disk-cache-dir="$profile/cache" \
    "$url"
