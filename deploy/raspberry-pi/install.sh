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
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PREFIX=/opt/aushang-player
CONF_DIR=/etc/aushang-player
CONF_FILE=$CONF_DIR/player.ini
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
        if [ "$MODE" != uninstall ] && grep -qw 'boot=overlay' /proc/cmdline 2>/dev/null; then
            die "der Schreibschutz (Overlay) ist aktiv; Änderungen gingen beim Neustart verloren.
Zuerst abschalten: sudo raspi-config nonint do_overlayfs 1 && sudo reboot"
        fi
    fi
}

# --- manifest and plan ------------------------------------------------------------------------

manifest() { p "$STATE_DIR/manifest"; }

record() {
    local entry=$1
    grep -qxF -- "$entry" "$(manifest)" 2>/dev/null || printf '%s\n' "$entry" >>"$(manifest)"
}

recorded() { grep -qxF -- "$1" "$(manifest)" 2>/dev/null; }

# Run a command on a real system; in --root mode write it to the plan instead.
run() {
    if [ -n "$ROOT" ]; then
        # --uninstall removes the plan with everything else, so it only prints.
        [ "$MODE" = uninstall ] || printf '%s\n' "$*" >>"$(p "$STATE_DIR/plan")"
        say "    (würde ausführen: $*)"
    else
        "$@"
    fi
}

# mkdir -p that records each directory it creates.
ensure_dir() {
    local dir=$1 mode=${2:-0755} parent
    [ -d "$(p "$dir")" ] && return 0
    parent=$(dirname "$dir")
    [ "$parent" = "$dir" ] || ensure_dir "$parent" 0755
    mkdir -m "$mode" "$(p "$dir")"
    record "dir $dir"
}

init_state() {
    if [ -d "$(p "$STATE_DIR")" ]; then return 0; fi
    # The manifest lives in STATE_DIR, so note the directories before writing it.
    local dir=$STATE_DIR missing=()
    while [ ! -d "$(p "$dir")" ]; do
        missing=("$dir" "${missing[@]}")
        dir=$(dirname "$dir")
    done
    for dir in "${missing[@]}"; do mkdir -m 0755 "$(p "$dir")"; done
    for dir in "${missing[@]}"; do printf 'dir %s\n' "$dir" >>"$(manifest)"; done
    changed "$STATE_DIR (Installationsprotokoll)"
}

# Install a file if missing or different. $1 source, $2 target path, $3 mode.
install_file() {
    local src=$1 dest=$2 mode=$3 target
    target=$(p "$dest")
    if [ -f "$target" ] && cmp -s "$src" "$target" &&
        [ "$(stat -c %a "$target")" = "${mode#0}" ]; then
        return 1
    fi
    ensure_dir "$(dirname "$dest")"
    cp "$src" "$target.aushang-new"
    chmod "$mode" "$target.aushang-new"
    mv -f "$target.aushang-new" "$target"
    record "file $dest"
    changed "$dest"
    return 0
}

# Write stdin to a file through install_file.
install_content() {
    local dest=$1 mode=$2 tmp rc=0
    tmp=$(mktemp)
    cat >"$tmp"
    install_file "$tmp" "$dest" "$mode" || rc=$?
    rm -f "$tmp"
    return "$rc"
}

# --- steps ----------------------------------------------------------------------------------

apt_candidate() { apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [0-9]'; }
dpkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

install_packages() {
    local browser=chromium compositor=labwc wanted missing=() pkg list_file
    if [ -z "$ROOT" ]; then
        if dpkg_installed chromium-browser || apt_candidate chromium-browser; then browser=chromium-browser; fi
        if ! dpkg_installed labwc && ! apt_candidate labwc; then compositor=cage; fi
    fi
    wanted=("$browser" "$compositor" wlr-randr cec-utils python3 python3-venv ca-certificates)
    if [ -n "$ROOT" ]; then
        # No dpkg in a scratch root: the list of packages is recorded once.
        list_file=$STATE_DIR/packages
        if [ ! -f "$(p "$list_file")" ]; then
            run apt-get install -y --no-install-recommends "${wanted[@]}"
            printf '%s\n' "${wanted[@]}" >"$(p "$list_file")"
            record "file $list_file"
            changed "Debian-Pakete: ${wanted[*]}"
        fi
        return 0
    fi
    for pkg in "${wanted[@]}"; do dpkg_installed "$pkg" || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "  Installiere Debian-Pakete: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    changed "Debian-Pakete: ${missing[*]}"
}

# A system user with its own group; in --root mode as lines in etc/passwd and etc/group.
ensure_user() {
    local user=$1 home=$2 comment=$3 id file
    if [ -z "$ROOT" ]; then
        getent passwd "$user" >/dev/null && return 0
        useradd --system --user-group --home-dir "$home" --no-create-home \
            --shell /usr/sbin/nologin --comment "$comment" "$user"
        record "user $user"
        changed "Systembenutzer $user"
        return 0
    fi
    grep -q "^$user:" "$(p /etc/passwd)" 2>/dev/null && return 0
    id=999
    while grep -qE "^[^:]*:[^:]*:$id:" "$(p /etc/passwd)" "$(p /etc/group)" 2>/dev/null; do
        id=$((id - 1))
    done
    ensure_dir /etc
    for file in /etc/passwd /etc/group; do
        if [ ! -e "$(p "$file")" ]; then
            : >"$(p "$file")"
            record "file $file"
        fi
    done
    printf '%s:x:%s:%s:%s:%s:/usr/sbin/nologin\n' "$user" "$id" "$id" "$comment" "$home" >>"$(p /etc/passwd)"
    printf '%s:x:%s:\n' "$user" "$id" >>"$(p /etc/group)"
    record "line /etc/passwd $user:x:$id:$id:$comment:$home:/usr/sbin/nologin"
    record "line /etc/group $user:x:$id:"
    run useradd --system --user-group --home-dir "$home" --no-create-home --shell /usr/sbin/nologin "$user"
    changed "Systembenutzer $user"
}

stage_player() {
    STAGE=$(mktemp -d)
    mkdir -p "$STAGE/app"
    if [ -n "$WHEEL" ]; then
        [ -f "$WHEEL" ] || die "Wheel $WHEEL nicht gefunden"
        # Only the player package: the wheel also carries the server, which the Pi does not need.
        python3 - "$WHEEL" "$STAGE/app" <<'PY'
import sys, zipfile
wheel, target = sys.argv[1:3]
with zipfile.ZipFile(wheel) as archive:
    members = [n for n in archive.namelist() if n.startswith("player/") and "__pycache__" not in n]
    archive.extractall(target, members)
PY
        BASE_VERSION=$(basename "$WHEEL" | cut -d- -f2)
    else
        local src=${SOURCE:-$SCRIPT_DIR/../..}
        [ -d "$src/player" ] || die "kein Player-Quellcode in $src/player (--source oder --wheel angeben)"
        cp -R "$src/player" "$STAGE/app/player"
        find "$STAGE/app" -name __pycache__ -type d -prune -exec rm -rf {} +
        BASE_VERSION=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$src/pyproject.toml" 2>/dev/null | head -n 1)
    fi
    [ -f "$STAGE/app/player/__main__.py" ] || die "das Paket enthält keinen Player (player/__main__.py fehlt)"
    local digest
    digest=$(cd "$STAGE/app" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-8)
    VERSION="${BASE_VERSION:-0}-$digest"
}

build_version() {
    local final=$PREFIX/versions/$VERSION tmp
    [ -d "$(p "$final")" ] && return 0
    ensure_dir "$PREFIX/versions"
    tmp=$PREFIX/versions/.new-$VERSION
    rm -rf "$(p "$tmp")"
    mkdir -p "$(p "$tmp")"
    cp -R "$STAGE/app" "$(p "$tmp/app")"
    printf '%s\n' "$VERSION" >"$(p "$tmp/VERSION")"
    if [ -n "$ROOT" ]; then
        # The layout of a venv without running pip: enough for the units to point at.
        mkdir -p "$(p "$tmp/venv/bin")"
        ln -s /usr/bin/python3 "$(p "$tmp/venv/bin/python")"
        printf 'home = /usr/bin\ninclude-system-site-packages = false\n' >"$(p "$tmp/venv/pyvenv.cfg")"
        run python3 -m venv "$final/venv"
        run "$final/venv/bin/pip" install "$REQUIREMENTS"
    else
        python3 -m venv "$(p "$tmp/venv")"
        local pip_args=(--quiet --disable-pip-version-check --no-cache-dir)
        if [ -n "$WHEELHOUSE" ]; then pip_args+=(--no-index --find-links "$WHEELHOUSE"); fi
        "$(p "$tmp/venv/bin/python")" -m pip install "${pip_args[@]}" "$REQUIREMENTS" ||
            die "requests konnte nicht installiert werden (Internet oder --wheelhouse nötig)"
    fi
    # Complete versions appear at once: a half-built one never carries the final name.
    mv -T "$(p "$tmp")" "$(p "$final")"
    record "tree $final"
    if [ -z "$ROOT" ]; then
        "$(p "$final/venv/bin/python")" -m compileall -q "$(p "$final/app")" >/dev/null || true
    fi
    changed "Player-Version $VERSION in $final"
}

current_version() {
    local link
    link=$(readlink "$(p "$PREFIX/current")" 2>/dev/null) || return 0
    basename "$link"
}

# Point a symlink at versions/<version>, atomically (ln -s + mv -T).
switch_link() {
    local name=$1 version=$2
    ln -sfn "versions/$version" "$(p "$PREFIX/$name.new")"
    mv -T "$(p "$PREFIX/$name.new")" "$(p "$PREFIX/$name")"
    record "link $PREFIX/$name"
}

# Restart the player and check that it came up; 0 = healthy.
start_check() {
    if [ -n "$START_CHECK" ]; then
        run systemctl restart aushang-player.service
        bash -c "$START_CHECK"
        return
    fi
    if [ -n "$ROOT" ]; then
        run systemctl restart aushang-player.service
        return 0
    fi
    # Type=notify: restart returns once the daemon reported READY=1, or fails.
    systemctl restart aushang-player.service || return 1
    local deadline=$((SECONDS + 60))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if systemctl is-active --quiet aushang-player.service &&
            python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)' "$HEALTH_URL" 2>/dev/null; then
            return 0
        fi
        sleep 2
    done
    return 1
}

service_installed() {
    [ -n "$ROOT" ] || systemctl is-enabled --quiet aushang-player.service 2>/dev/null
}

# Switch `current` to $VERSION; on a failed start switch back.
activate_version() {
    local old
    old=$(current_version)
    [ "$old" = "$VERSION" ] && return 0
    if [ -n "$old" ]; then switch_link previous "$old"; fi
    switch_link current "$VERSION"
    changed "aktive Version: $VERSION${old:+ (vorher $old)}"
    if [ -n "$old" ] && service_installed; then
        say "  Starte Player mit $VERSION ..."
        if ! start_check; then
            switch_link current "$old"
            run systemctl restart aushang-player.service || true
            die "Version $VERSION ist nicht sauber gestartet; zurückgeschaltet auf $old.
Ursache ansehen: journalctl -u aushang-player -n 100"
        fi
        say "  Player läuft mit $VERSION."
    fi
}

prune_versions() {
    local dir cur prev count=0
    cur=$(current_version)
    prev=$(basename "$(readlink "$(p "$PREFIX/previous")" 2>/dev/null)" 2>/dev/null || true)
    [ -d "$(p "$PREFIX/versions")" ] || return 0
    # Newest first; keep KEEP versions and always the current and the previous one.
    while IFS= read -r dir; do
        [ -n "$dir" ] || continue
        count=$((count + 1))
        if [ "$dir" = "$cur" ] || [ "$dir" = "$prev" ] || [ "$count" -le "$KEEP" ]; then continue; fi
        rm -rf "$(p "$PREFIX/versions/$dir")"
        changed "alte Version $dir entfernt"
    done < <(find "$(p "$PREFIX/versions")" -mindepth 1 -maxdepth 1 -type d ! -name '.new-*' \
        -printf '%T@ %f\n' | sort -rn | cut -d' ' -f2-)
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
do_uninstall() {
    check_system
    local entries=() i entry kind path rest file tmp unit
    [ -f "$(manifest)" ] || {
        say "Aushang-Player ist nicht installiert: keine Änderung."
        return 0
    }
    mapfile -t entries <"$(manifest)"
    say "Aushang-Player: Deinstallation${ROOT:+ in $ROOT}"
    for unit in "${ENABLE_UNITS[@]}"; do
        if [ -z "$ROOT" ]; then systemctl disable --now --quiet "$unit" 2>/dev/null || true; fi
    done
    rm -f "$(p "$STATE_DIR/plan")" "$(p "$STATE_DIR/manifest")"
    for ((i = ${#entries[@]} - 1; i >= 0; i--)); do
        entry=${entries[$i]}
        kind=${entry%% *}
        rest=${entry#* }
        case "$kind" in
            dir) rmdir "$(p "$rest")" 2>/dev/null || say "  Verzeichnis $rest ist nicht leer und bleibt." ;;
            file | link) rm -f "$(p "$rest")" ;;
            tree) rm -rf "$(p "$rest")" ;;
            line)
                file=${rest%% *}
                path=${rest#* }
                tmp=$(mktemp)
                grep -vxF -- "$path" "$(p "$file")" >"$tmp" || true
                cat "$tmp" >"$(p "$file")"
                rm -f "$tmp"
                ;;
            user) userdel "$rest" 2>/dev/null || true ;;
            enabled) ;; # disabled above, before the unit files go
            disabled) run systemctl enable "$rest" || true ;;
            overlay) run raspi-config nonint do_overlayfs 1 || true ;;
            *) say "  Unbekannter Eintrag im Protokoll: $entry" ;;
        esac
    done
    if [ -z "$ROOT" ]; then
        systemctl daemon-reload
        systemctl try-restart systemd-journald.service || true
    fi
    if [ "$PURGE" = 1 ]; then
        rm -rf "$(p /var/lib/aushang-player)" "$(p /var/lib/private/aushang-player)"
        say "  Zustand des Players (Cache, Token) gelöscht."
    else
        [ -d "$(p /var/lib/aushang-player)" ] && say "  Zustand bleibt in /var/lib/aushang-player (löschen mit --purge)."
    fi
    say "Aushang-Player entfernt. Debian-Pakete (Chromium, labwc, ...) bleiben installiert."
}

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
