# shellcheck shell=bash
# shellcheck disable=SC2154,SC2153  # the settings (ROOT, MODE, PREFIX, ...) are install.sh's, which sources this file
# install.sh: player versions side by side, the atomic switch, the start check and rollback.

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

