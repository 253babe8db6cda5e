#!/usr/bin/env bash
# Aushang player installer for Raspberry Pi OS Bookworm (64-bit or 32-bit, Lite or Desktop).
#
#   sudo ./install.sh --server https://aushang.example.de [--token TOKEN] [--overlay]
#   sudo ./install.sh --update [--wheel aushang-X.Y.Z-py3-none-any.whl | --source DIR]
#   sudo ./install.sh --rollback
#   sudo ./install.sh --uninstall [--purge]
#
# Idempotent: a second run with the same input changes nothing and says so. Every path it
# creates is listed in /var/lib/aushang-installer/manifest; --uninstall removes exactly those.
#
# --root DIR installs into a scratch root instead of the running system (for tests and for
# preparing an image): no apt-get, useradd, systemctl or raspi-config is run; users are written
# as passwd/group lines inside DIR, and every command that would run on a real system is
# appended to DIR/var/lib/aushang-installer/plan. The target is read from DIR/etc/os-release
# and --arch (default arm64).
#
# Versions live side by side in /opt/aushang-player/versions/<version>-<hash>, each with its own
# virtual environment (only `requests`) and the player code; /opt/aushang-player/current points
# at the active one and is switched atomically (ln -s + mv -T). When the player fails to start
# after a switch, the previous version is switched back and started again.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PREFIX=/opt/aushang-player
CONF_DIR=/etc/aushang-player
CONF_FILE=$CONF_DIR/player.ini
IDENTITY_FILE=$CONF_DIR/identity
STATE_DIR=/var/lib/aushang-installer
UNIT_DIR=/etc/systemd/system
JOURNALD_DROPIN_DIR=/etc/systemd/journald.conf.d
PLAYER_USER=aushang
KIOSK_USER=aushang-kiosk
REQUIREMENTS="requests>=2.31"
HEALTH_URL=http://127.0.0.1:8080/local/health
UNITS=(aushang-player.service aushang-kiosk.service aushang-browser-health.service aushang-browser-health.timer)
ENABLE_UNITS=(aushang-player.service aushang-kiosk.service aushang-browser-health.timer)

MODE=install
ROOT=""
ARCH=""
SERVER=""
TOKEN=""
TOKEN_SET=0
WHEEL=""
SOURCE=""
WHEELHOUSE=""
OVERLAY=0
START_CHECK=""
KEEP=3
PURGE=0
CHANGES=0
STAGE=""

usage() {
    cat <<'EOF'
Aushang-Player für Raspberry Pi OS Bookworm installieren.

Aufruf:
  sudo ./install.sh --server URL [--token TOKEN] [--overlay] [--wheel DATEI | --source VERZ]
  sudo ./install.sh --update [--wheel DATEI | --source VERZ] [--start-check BEFEHL]
  sudo ./install.sh --rollback
  sudo ./install.sh --uninstall [--purge]

Optionen:
  --server URL        Adresse des Aushang-Servers (https://...)
  --token TOKEN       Provisionierungs-Token (Anmeldung ohne Kopplungscode)
  --wheel DATEI       Player aus einem Wheel (aushang-*.whl) installieren
  --source VERZ       Player aus einem Quellverzeichnis installieren (Vorgabe: dieses Repository)
  --wheelhouse VERZ   Python-Pakete (requests) offline aus diesem Verzeichnis installieren
  --overlay           Schreibgeschütztes Root-Dateisystem (Overlay) einschalten
  --update            Neue Player-Version neben der alten installieren und umschalten
  --rollback          Auf die vorherige Player-Version zurückschalten
  --start-check CMD   Eigener Startcheck nach dem Umschalten (Vorgabe: Dienst aktiv und
                      http://127.0.0.1:8080/local/health antwortet)
  --keep N            So viele Versionen aufbewahren (Vorgabe: 3)
  --uninstall         Alles entfernen, was dieses Skript angelegt hat
  --purge             Mit --uninstall: auch Cache, Token und Zustand des Players löschen
  --root VERZ         In ein Test-Wurzelverzeichnis installieren, ohne das System zu ändern
  --arch ARCH         Mit --root: Zielarchitektur (Vorgabe: arm64)
EOF
}

say() { printf '%s\n' "$*"; }
die() {
    printf 'Fehler: %s\n' "$*" >&2
    exit 1
}
refuse() {
    printf 'Abbruch: %s\n' "$*" >&2
    printf 'Unterstützt wird nur Raspberry Pi OS Bookworm (arm64 oder armhf). Es wurde nichts verändert.\n' >&2
    exit 2
}
changed() {
    CHANGES=$((CHANGES + 1))
    say "  + $*"
}

# Path on the target: the scratch root in --root mode.
p() { printf '%s%s' "$ROOT" "$1"; }

cleanup() {
    if [ -n "$STAGE" ]; then rm -rf "$STAGE"; fi
}
trap cleanup EXIT

# The parts of the installer, beside it here and in /opt/aushang-player (--rollback, --uninstall).
# shellcheck source=lib/files.sh
. "$SCRIPT_DIR/lib/files.sh"
# shellcheck source=lib/versions.sh
. "$SCRIPT_DIR/lib/versions.sh"
# shellcheck source=lib/uninstall.sh
. "$SCRIPT_DIR/lib/uninstall.sh"

# Whether the kernel command line in $1 switches on a read-only overlay: `overlayroot=tmpfs`
# (Raspberry Pi OS Bookworm's raspi-config, the overlayroot package) or `boot=overlay` (the
# initramfs overlay of older releases). `overlayroot=disabled` is not an overlay.
overlay_active() {
    local word words=()
    [ -r "$1" ] || return 1
    read -r -a words <"$1" || true
    for word in "${words[@]}"; do
        case "$word" in
            boot=overlay | overlayroot=tmpfs | overlayroot=tmpfs:*) return 0 ;;
        esac
    done
    return 1
}

parse_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --server) SERVER=${2:?--server braucht eine URL}; shift 2 ;;
            --token) TOKEN=${2?--token braucht einen Wert}; TOKEN_SET=1; shift 2 ;;
            --wheel) WHEEL=${2:?--wheel braucht eine Datei}; shift 2 ;;
            --source) SOURCE=${2:?--source braucht ein Verzeichnis}; shift 2 ;;
            --wheelhouse) WHEELHOUSE=${2:?--wheelhouse braucht ein Verzeichnis}; shift 2 ;;
            --overlay) OVERLAY=1; shift ;;
            --update) MODE=update; shift ;;
            --rollback) MODE=rollback; shift ;;
            --uninstall) MODE=uninstall; shift ;;
            --purge) PURGE=1; shift ;;
            --start-check) START_CHECK=${2:?--start-check braucht einen Befehl}; shift 2 ;;
            --keep) KEEP=${2:?--keep braucht eine Zahl}; shift 2 ;;
            --root) ROOT=${2:?--root braucht ein Verzeichnis}; shift 2 ;;
            --arch) ARCH=${2:?--arch braucht einen Wert}; shift 2 ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; die "unbekannte Option: $1" ;;
        esac
    done
    if [ -n "$ROOT" ]; then
        [ -d "$ROOT" ] || die "--root $ROOT ist kein Verzeichnis"
        ROOT=$(cd "$ROOT" && pwd)
        [ "$ROOT" != / ] || ROOT=""
    fi
    if [ -n "$ARCH" ] && [ -z "$ROOT" ]; then die "--arch gilt nur zusammen mit --root"; fi
    if [ -n "$WHEEL" ] && [ -n "$SOURCE" ]; then die "--wheel und --source schließen sich aus"; fi
    case "$KEEP" in '' | *[!0-9]*) die "--keep braucht eine Zahl" ;; esac
    [ "$KEEP" -ge 2 ] || die "--keep muss mindestens 2 sein (aktuelle und vorherige Version)"
    if [ -n "$SERVER" ]; then
        [[ "$SERVER" =~ ^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^[:space:]]*)?$ ]] ||
            die "--server muss eine https://-Adresse sein, z. B. https://aushang.example.de"
        SERVER=${SERVER%/}
    fi
    if [ "$TOKEN_SET" = 1 ] && [[ "$TOKEN" =~ [[:space:]] ]]; then die "--token darf keine Leerzeichen enthalten"; fi
}

# --- checks ---------------------------------------------------------------------------------

check_system() {
    local os_release id="" codename="" id_like="" arch
    os_release=$(p /etc/os-release)
    [ -r "$os_release" ] || refuse "$os_release fehlt: unbekanntes Betriebssystem."
    id=$(sed -n 's/^ID=//p' "$os_release" | tr -d '"')
    id_like=$(sed -n 's/^ID_LIKE=//p' "$os_release" | tr -d '"')
    codename=$(sed -n 's/^VERSION_CODENAME=//p' "$os_release" | tr -d '"')
    case "$id $id_like" in
        debian* | raspbian* | *" debian"*) ;;
        *) refuse "Betriebssystem '$id' wird nicht unterstützt." ;;
    esac
    [ "$codename" = bookworm ] || refuse "Version '${codename:-unbekannt}' wird nicht unterstützt (benötigt: bookworm)."
    if [ -n "$ROOT" ]; then
        arch=${ARCH:-arm64}
    else
        arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
    fi
    case "$arch" in
        arm64 | aarch64 | armhf | armv7l) ;;
        *) refuse "Architektur '$arch' wird nicht unterstützt." ;;
    esac
    if [ -z "$ROOT" ]; then
        [ "$(id -u)" -eq 0 ] || die "bitte mit sudo aufrufen"
        for tool in python3 systemctl useradd; do
            command -v "$tool" >/dev/null 2>&1 || refuse "$tool fehlt."
        done
    fi
    # In --root mode the scratch root's proc/cmdline, if a test or an image has one.
    if [ "$MODE" != uninstall ] && overlay_active "$(p /proc/cmdline)"; then
        die "der Schreibschutz (Overlay) ist aktiv; Änderungen gingen beim Neustart verloren.
Zuerst abschalten: sudo raspi-config nonint do_overlayfs 1 && sudo reboot"
    fi
}

write_config() {
    local conf tmp
    conf=$(p "$CONF_FILE")
    ensure_dir "$CONF_DIR"
    if [ ! -f "$conf" ]; then
        [ -n "$SERVER" ] || die "--server fehlt (Adresse des Aushang-Servers, https://...)"
        install_content "$CONF_FILE" 0640 <<EOF || true
# Aushang-Player: Konfiguration (angelegt von install.sh)
[server]
# Adresse des Aushang-Servers
url = $SERVER
# Optional: Provisionierungs-Token; sonst erscheint ein Kopplungscode auf dem Bildschirm
provisioning_token = $TOKEN

[player]
state_dir = /var/lib/aushang-player
# Geräte-Identität: bleibt über Neustarts (auch mit Schreibschutz) und Updates erhalten
identity_file = $IDENTITY_FILE
kiosk_host = 127.0.0.1
kiosk_port = 8080
stale_after_seconds = 300

[screen]
# auto | cec | wlr | none
control = auto
output = HDMI-A-1
EOF
    else
        # Keep local edits; change only what was asked for.
        tmp=$(mktemp)
        cp "$conf" "$tmp"
        if [ -n "$SERVER" ]; then sed -i "s|^url *=.*|url = $SERVER|" "$tmp"; fi
        if [ "$TOKEN_SET" = 1 ]; then sed -i "s|^provisioning_token *=.*|provisioning_token = $TOKEN|" "$tmp"; fi
        install_file "$tmp" "$CONF_FILE" 0640 || true
        rm -f "$tmp"
    fi
    if [ -z "$ROOT" ]; then chgrp "$PLAYER_USER" "$conf"; fi
}

# The device identity (player/identity.py): created once, before the overlay is switched on,
# so every boot of a read-only Pi starts from it; never replaced by an update.
write_identity() {
    local target
    target=$(p "$IDENTITY_FILE")
    [ -s "$target" ] && return 0
    ensure_dir "$CONF_DIR"
    head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' | install_content "$IDENTITY_FILE" 0640 || true
    if [ -z "$ROOT" ]; then chgrp "$PLAYER_USER" "$target"; fi
}

install_units() {
    local unit changed_units=0 target link
    for unit in "${UNITS[@]}"; do
        if install_file "$SCRIPT_DIR/systemd/$unit" "$UNIT_DIR/$unit" 0644; then changed_units=1; fi
    done
    if install_file "$SCRIPT_DIR/systemd/journald-aushang.conf" "$JOURNALD_DROPIN_DIR/aushang.conf" 0644; then
        run systemctl restart systemd-journald.service
    fi
    if [ "$changed_units" = 1 ]; then run systemctl daemon-reload; fi
    for unit in "${ENABLE_UNITS[@]}"; do
        target=$(sed -n 's/^WantedBy=//p' "$SCRIPT_DIR/systemd/$unit")
        if [ -z "$ROOT" ]; then
            systemctl is-enabled --quiet "$unit" 2>/dev/null && continue
            systemctl enable --quiet "$unit"
            record "enabled $unit"
        else
            # What `systemctl enable` does, done by hand in the scratch root.
            link=$UNIT_DIR/$target.wants/$unit
            [ -L "$(p "$link")" ] && continue
            ensure_dir "$UNIT_DIR/$target.wants"
            ln -s "$UNIT_DIR/$unit" "$(p "$link")"
            record "link $link"
            run systemctl enable "$unit"
        fi
        changed "Dienst $unit aktiviert"
    done
}

install_libexec() {
    local file
    ensure_dir "$PREFIX/libexec"
    for file in kiosk-session.sh kiosk-browser.sh browser_health.py; do
        install_file "$SCRIPT_DIR/libexec/$file" "$PREFIX/libexec/$file" 0755 || true
    done
    for file in files.sh versions.sh uninstall.sh; do
        install_file "$SCRIPT_DIR/lib/$file" "$PREFIX/lib/$file" 0644 || true
    done
    install_file "$SCRIPT_DIR/README.md" "$PREFIX/README.md" 0644 || true
    install_file "$SCRIPT_DIR/install.sh" "$PREFIX/install.sh" 0755 || true
}

# Units whose start would fight the kiosk for the screen: the console on tty1 and a desktop
# display manager. Disabled once, enabled again by --uninstall.
disable_conflicting_units() {
    local unit units=(getty@tty1.service)
    if [ -z "$ROOT" ]; then
        if systemctl is-enabled --quiet display-manager.service 2>/dev/null; then
            units+=("$(systemctl show -p Id --value display-manager.service)")
        fi
    elif [ -L "$(p "$UNIT_DIR/display-manager.service")" ]; then
        units+=("$(basename "$(readlink "$(p "$UNIT_DIR/display-manager.service")")")")
    fi
    for unit in "${units[@]}"; do
        recorded "disabled $unit" && continue
        if [ -z "$ROOT" ] && ! systemctl is-enabled --quiet "$unit" 2>/dev/null; then continue; fi
        run systemctl disable "$unit"
        record "disabled $unit"
        changed "$unit abgeschaltet (Bildschirm gehört dem Kiosk)"
    done
}

enable_overlay() {
    [ "$OVERLAY" = 1 ] || return 0
    recorded "overlay" && return 0
    if [ -z "$ROOT" ]; then
        command -v raspi-config >/dev/null 2>&1 || die "--overlay braucht raspi-config (Raspberry Pi OS)"
        if [ "$(raspi-config nonint get_overlay_conf)" = 0 ]; then return 0; fi
    fi
    run raspi-config nonint do_overlayfs 0
    record "overlay"
    changed "Schreibschutz (Overlay) eingeschaltet: wirksam nach dem nächsten Neustart"
}

start_services() {
    if [ -n "$ROOT" ]; then return 0; fi
    local unit
    for unit in "${ENABLE_UNITS[@]}"; do
        systemctl is-active --quiet "$unit" && continue
        systemctl start "$unit" || say "  Warnung: $unit startet nicht (journalctl -u ${unit%.*})"
    done
}

do_install() {
    check_system
    # The copy in /opt/aushang-player serves --rollback and --uninstall; installing needs the
    # units and scripts beside it.
    [ -d "$SCRIPT_DIR/systemd" ] || die "zum Installieren install.sh aus dem Repository (deploy/raspberry-pi) aufrufen"
    if [ "$MODE" = update ]; then
        if [ ! -f "$(p "$CONF_FILE")" ] || [ ! -L "$(p "$PREFIX/current")" ]; then
            die "kein installierter Player gefunden; zuerst installieren (--server ...)"
        fi
    fi
    if [ "$MODE" = update ]; then say "Aushang-Player: Aktualisierung${ROOT:+ in $ROOT}"; else say "Aushang-Player: Installation${ROOT:+ in $ROOT}"; fi
    stage_player
    init_state
    install_packages
    ensure_user "$KIOSK_USER" /run/aushang-kiosk "Aushang Kiosk"
    ensure_user "$PLAYER_USER" /var/lib/aushang-player "Aushang Player"
    ensure_dir "$PREFIX"
    install_libexec
    local before=$CHANGES old_version
    write_config
    write_identity
    install_units
    old_version=$(current_version)
    build_version
    activate_version
    prune_versions
    # New settings or units with the same player version: restart it to pick them up.
    if [ "$CHANGES" -gt "$before" ] && [ "$old_version" = "$VERSION" ]; then
        if [ -n "$ROOT" ] || systemctl is-active --quiet aushang-player.service; then
            run systemctl try-restart aushang-player.service
        fi
    fi
    disable_conflicting_units
    enable_overlay
    start_services
    finish
}

do_rollback() {
    check_system
    local cur prev
    cur=$(current_version)
    prev=$(basename "$(readlink "$(p "$PREFIX/previous")" 2>/dev/null)" 2>/dev/null || true)
    if [ -z "$prev" ] || [ ! -d "$(p "$PREFIX/versions/$prev")" ]; then
        die "keine vorherige Version vorhanden"
    fi
    VERSION=$prev
    activate_version
    finish
}

# Undo the manifest, newest entry first.
finish() {
    if [ "$CHANGES" -eq 0 ]; then
        say "Ergebnis: keine Änderung – alles ist bereits wie gewünscht."
    else
        say "Ergebnis: $CHANGES Änderung(en). Aktive Version: $(current_version)"
        [ -n "$ROOT" ] || say "Status ansehen: systemctl status aushang-player; journalctl -u aushang-player -f"
    fi
}

main() {
    parse_args "$@"
    case "$MODE" in
        install | update) do_install ;;
        rollback) do_rollback ;;
        uninstall) do_uninstall ;;
    esac
}

main "$@"
