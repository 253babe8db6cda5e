# shellcheck shell=bash
# shellcheck disable=SC2154,SC2153  # the settings (ROOT, MODE, PREFIX, ...) are install.sh's, which sources this file
# install.sh: the manifest of what was created, the plan (--root), files, packages, users.

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

