"""A real player process against the real server (issue 8, faults):

* its disk is "full" (RLIMIT_FSIZE on the process: a write past the limit fails with
  EFBIG like a full volume): it keeps showing what it has and reports ``disk_full`` to
  the server; with room again it catches up;
* a cached file is corrupted on disk: the player detects it at start, never shows it,
  fetches it again and verifies it.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from server.extensions import db
from server.models import Display
from server.services.displays import enrolment

from ..server.displays.conftest import API, release
from ..server.displays.test_player_integration import RealServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "player"))
from player_process import REPO, PlayerProcess, wait_for  # noqa: E402


class LimitedPlayer(PlayerProcess):
    """The real player with a cap on the size of every file it writes."""

    file_limit: int | None = None

    def start(self, wait_kiosk: bool = True) -> LimitedPlayer:
        limit = self.file_limit
        if limit is None:
            return super().start(wait_kiosk)

        def cap() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        self.log.write_bytes(b"")  # the log is a file it writes, too
        self._log_offset = 0
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        env["PYTHONPATH"] = str(REPO)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "player", "--config", str(self.config)],
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=cap,
            )
        if wait_kiosk:
            self.kiosk_url = wait_for(self._kiosk_url, what="kiosk server")
        return self


@pytest.fixture()
def served(app, dw, session, now, tmp_path):
    start = time.monotonic()
    app.config["AUSHANG_CLOCK"] = lambda: now + timedelta(seconds=time.monotonic() - start)
    _, plain = enrolment.create_provisioning_token(session, dw.tenant, dw.admin, "Test", now)
    session.commit()
    server = RealServer(app).start()
    player = LimitedPlayer(tmp_path, server.url, provisioning_token=plain, poll_wait_seconds=2)
    try:
        yield server, player
    finally:
        player.stop()
        server.stop()


def _titles(player) -> set[str]:
    return {i["title"] for i in player.get("/local/state")["items"]}


def _first_run(player) -> None:
    player.start()
    wait_for(lambda: _titles(player) == {"Friedhofssatzung"}, what="first content")
    wait_for(lambda: player.consistency_problems() == [], what="files stored")
    player.stop()


def test_full_disk_keeps_showing_and_reports(served, dw, session, now, client):
    server, player = served
    _first_run(player)
    # A new notice whose slide does not fit any more.
    long_text = "\n\n".join(f"§ {n} Die Gebühr beträgt {n} Euro je Monat. " * 40 for n in range(60))
    release(dw, session, now, title="Gebührensatzung", body_md=long_text)
    manifest = client.get(API + "manifest", headers=dw.auth()).get_json()
    big = next(i for i in manifest["items"] if i["title"] == "Gebührensatzung")
    small = max([*(i["slide"]["size"] for i in manifest["items"] if i is not big), 40 * 1024])
    assert big["slide"]["size"] > 2 * small, "the slide must be larger than the limit"
    player.file_limit = big["slide"]["size"] // 2
    player.start()

    def reported() -> dict | None:
        db.session.remove()
        # The player enrolled with the provisioning token: the newest display is it.
        row = db.session.scalars(db.select(Display).order_by(Display.id.desc())).first()
        return json.loads(row.last_error) if row.last_error else None

    error = wait_for(reported, timeout=60, what="disk_full reported to the server")
    assert error["code"] == "disk_full", error
    # It keeps showing what it had, never a half-written file, and keeps running.
    assert _titles(player) == {"Friedhofssatzung"}
    assert player.consistency_problems() == []
    assert player.proc.poll() is None
    state = player.get("/local/state")
    assert state["items"]
    player.stop()
    # Room again: it catches up.
    player.file_limit = None
    player.start()
    wait_for(
        lambda: _titles(player) == {"Friedhofssatzung", "Gebührensatzung"},
        timeout=60,
        what="catching up with room on the disk",
    )
    assert player.consistency_problems() == []


def test_corrupted_cached_file_is_detected_and_fetched_again(served):
    _server, player = served
    _first_run(player)
    manifest = player.stored_manifest()["manifest"]
    sha = manifest["items"][0]["slide"]["sha256"]
    path = player.state_dir / "assets" / sha
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2] + b"bit rot" + good[len(good) // 2 + 7 :])
    assert not player.verified(sha)
    player.start()
    wait_for(lambda: player.verified(sha), timeout=60, what="the file fetched again")
    assert path.read_bytes() == good
    wait_for(lambda: _titles(player) == {"Friedhofssatzung"}, what="shown again")
    assert "cache_files_missing" in player.output()
    assert player.consistency_problems() == []
