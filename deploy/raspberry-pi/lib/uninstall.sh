# shellcheck shell=bash
# shellcheck disable=SC2154,SC2153  # the settings (ROOT, MODE, PREFIX, ...) are install.sh's, which sources this file
# install.sh --uninstall: undo the manifest, newest entry first.

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

