"""Wiring: config → collaborators → Player; the entry point of ``python -m player``."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from datetime import datetime
from types import FrameType
from typing import Any

from player import __version__
from player.backoff import Backoff
from player.cache import Cache
from player.clock import SystemClock
from player.config import ConfigError, PlayerConfig, load_config
from player.daemon import Player, notify_ready
from player.identity import load_identity
from player.localserver import KioskServer
from player.stream import PushClient

log = logging.getLogger("player")


class ScreenAdapter:
    """Screen power through player.screen (owned by the deploy side), imported lazily so the
    daemon runs — always on — where that module or its tools are missing."""

    def __init__(self, method: str, output: str) -> None:
        self._policy: Any = None
        self._controller: Any = None
        try:
            module = importlib.import_module("player.screen")
            self._policy = module.screen_should_be_on
            self._controller = module.ScreenController(method=method, output=output)
        except (ImportError, AttributeError) as exc:
            log.warning("event=screen_control_unavailable error=%s", type(exc).__name__)

    def want(
        self, schedule: list[dict[str, Any]], tz: str, now_utc: datetime, warning: bool
    ) -> bool:
        if self._policy is None:
            return True
        return bool(self._policy(schedule, tz, now_utc, warning))

    def apply(self, want_on: bool) -> Any:
        if self._controller is None:
            return None
        return self._controller.apply(want_on)


def build(config: PlayerConfig) -> tuple[Player, KioskServer, SystemClock]:
    """The daemon and its collaborators; ``player.client`` is a ``PushClient``."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    cache = Cache(config.state_dir)
    clock = SystemClock()
    # A stream message or reconnect ends the daemon's sleep (a backoff after an outage too).
    client = PushClient(
        config.server_url, user_agent=f"AushangPlayer/{__version__}", wake=clock.interrupt
    )
    kiosk = KioskServer(cache, config.kiosk_host, config.kiosk_port)
    player = Player(
        client,
        cache,
        kiosk,
        clock,
        ScreenAdapter(config.screen_control, config.screen_output),
        provisioning_token=config.provisioning_token,
        device_key=load_identity(config.identity_file or config.state_dir / "identity"),
        stale_after_s=config.stale_after_seconds,
        poll_wait_s=config.poll_wait_seconds,
        heartbeat_s=config.heartbeat_seconds,
        backoff=Backoff(base=1.0, cap=config.backoff_cap_seconds),
    )
    return player, kiosk, clock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m player", description="Aushang-Player")
    parser.add_argument("--config", default="/etc/aushang-player/player.ini")
    parser.add_argument("--version", action="version", version=f"aushang-player {__version__}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"event=config_error error={exc}", file=sys.stderr)
        return 2
    player, kiosk, clock = build(config)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()
        clock.interrupt()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    kiosk.start()
    log.info("event=kiosk_listening url=%s", kiosk.url)
    player.start()  # cached state on screen before the first network call
    notify_ready()
    try:
        player.run_forever(stop)
    finally:
        log.info("event=stopping")
        if isinstance(player.client, PushClient):
            player.client.close()
        kiosk.stop()
    return 0
