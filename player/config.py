"""Reads the player's INI file (see PLAYER_CONTRACT / deploy README)."""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """The configuration file is missing or invalid; the message is for the operator."""


@dataclass(frozen=True)
class PlayerConfig:
    server_url: str
    provisioning_token: str
    state_dir: Path
    kiosk_host: str = "127.0.0.1"
    kiosk_port: int = 8080
    stale_after_seconds: int = 300
    screen_control: str = "auto"
    screen_output: str = "HDMI-A-1"
    # The device identity (player/identity.py); empty = "identity" in state_dir.
    identity_file: Path | None = None
    # Not in the operator's template: tuning knobs for tests and unusual networks.
    poll_wait_seconds: int = 55
    heartbeat_seconds: int = 60
    backoff_cap_seconds: float = 60.0


def _int(section: configparser.SectionProxy, key: str, default: int, low: int, high: int) -> int:
    raw = section.get(key, fallback="").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"[{section.name}] {key} = {raw!r} ist keine ganze Zahl") from None
    if not low <= value <= high:
        raise ConfigError(f"[{section.name}] {key} muss zwischen {low} und {high} liegen")
    return value


def load_config(path: str | Path) -> PlayerConfig:
    """Parse ``path``; raise :class:`ConfigError` with a German message when invalid."""
    parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), interpolation=None)
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except OSError as exc:
        raise ConfigError(f"Konfigurationsdatei {path} nicht lesbar: {exc.strerror}") from None
    except configparser.Error as exc:
        raise ConfigError(f"Konfigurationsdatei {path} fehlerhaft: {exc}") from None
    for name in ("server", "player", "screen"):
        if not parser.has_section(name):
            parser.add_section(name)
    server, player, screen = parser["server"], parser["player"], parser["screen"]
    url = server.get("url", fallback="").strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError("[server] url muss mit https:// (oder http://) beginnen")
    state_dir = player.get("state_dir", fallback="/var/lib/aushang-player").strip()
    control = screen.get("control", fallback="auto").strip() or "auto"
    if control not in {"auto", "cec", "wlr", "none"}:
        raise ConfigError("[screen] control muss auto, cec, wlr oder none sein")
    return PlayerConfig(
        server_url=url,
        provisioning_token=server.get("provisioning_token", fallback="").strip(),
        state_dir=Path(state_dir),
        kiosk_host=player.get("kiosk_host", fallback="127.0.0.1").strip() or "127.0.0.1",
        kiosk_port=_int(player, "kiosk_port", 8080, 0, 65535),
        stale_after_seconds=_int(player, "stale_after_seconds", 300, 1, 86400 * 7),
        screen_control=control,
        screen_output=screen.get("output", fallback="HDMI-A-1").strip() or "HDMI-A-1",
        identity_file=Path(identity)
        if (identity := player.get("identity_file", "").strip())
        else None,
        poll_wait_seconds=_int(server, "poll_wait_seconds", 55, 0, 60),
        heartbeat_seconds=_int(server, "heartbeat_seconds", 60, 1, 60),
        backoff_cap_seconds=float(_int(server, "backoff_cap_seconds", 60, 1, 3600)),
    )
