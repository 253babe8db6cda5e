"""Wiring of the publisher to the application: what a warnings message carries, and the
publisher as a thread (embedded default) or as ``aushang publisher`` (production)."""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from flask import Flask
from sqlalchemy.orm import Session

from .engines import engine_from_config
from .publisher import Publisher, Runner

log = logging.getLogger("aushang.push")


@dataclass(frozen=True)
class PlaceKey:
    """The three facts of a display that decide its warnings list (its warning key)."""

    tenant_id: int
    place_ars: str
    test_display: bool


def warnings_builder(app: Flask) -> Any:
    from ..services import alerts as alert_svc
    from ..services.displays.snapshot import DisplaySnapshot
    from ..services.displays.warnings import build_warnings
    from ..web.clock import blob_store

    spread = float(app.config.get("AUSHANG_PUSH_STATE_SPREAD_SECONDS", 5.0))

    def build(session: Session, tenant_id: int, ars: str, test: bool, now: datetime) -> dict:
        key = cast(DisplaySnapshot, PlaceKey(tenant_id, ars, test))
        with app.app_context():
            part = build_warnings(
                session,
                key,
                now,
                blob_store(),
                alert_svc.policy_from_config(app.config),
                str(app.config["AUSHANG_BASE_URL"]),
            )
        # The files of the warnings (QR codes) and the new manifest come with the
        # snapshot, fetched within ``fetch_within_s``; the screen changes at once.
        return {
            "warnings": json.loads(part.fragment),
            "revision": part.revision,
            "fetch_within_s": spread,
        }

    return build


def make_runner(app: Flask) -> Runner:
    from ..extensions import db
    from ..web.clock import request_now

    publisher = Publisher(
        engine_from_config(app.config),
        warnings_builder(app),
        state_spread_s=float(app.config.get("AUSHANG_PUSH_STATE_SPREAD_SECONDS", 5.0)),
    )

    def now() -> datetime:
        with app.app_context():
            return request_now()

    with app.app_context():
        engine = db.engine
    return Runner(publisher, lambda: Session(engine), now)


_local: dict[int, tuple[int, Runner, threading.Thread]] = {}
_lock = threading.Lock()


def ensure_local_publisher(app: Flask) -> Runner:
    """The embedded default's publisher: one thread per app and process, started by the
    first stream (``make run`` serves a handful of displays from one process)."""
    with _lock:
        found = _local.get(id(app))
        if found is not None and found[0] == os.getpid() and found[2].is_alive():
            return found[1]
        runner = make_runner(app)
        thread = threading.Thread(target=runner.run_local, name="aushang-publisher", daemon=True)
        thread.start()
        _local[id(app)] = (os.getpid(), runner, thread)
        log.info("event=push_publisher_started mode=thread")
        return runner


def stop_local_publishers() -> None:
    """Tests: stop every in-process publisher."""
    with _lock:
        for _, runner, _thread in _local.values():
            runner.stop_event.set()
        from . import wakeup

        wakeup.set()
        for _, _, thread in _local.values():
            thread.join(5)
        _local.clear()
