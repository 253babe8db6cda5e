"""A video item (issue 16) in real headless Chromium, in 1920×1080 and 1080×1920: the player
caches the H.264 MP4 like every file, the kiosk plays it muted beside the head line, and
when the film ends the rotation goes on in the configured order."""

from __future__ import annotations

from pathlib import Path

import pytest
from player_process import wait_for
from test_kiosk_board import set_screen
from test_kiosk_page import current, item, player, server, slide  # noqa: F401

pytestmark = pytest.mark.e2e

MP4 = (Path(__file__).parent / "data" / "testsrc-h264.mp4").read_bytes()

STATE = """
var v = document.getElementById('video'), s = document.getElementById('stage').getBoundingClientRect(),
    b = document.getElementById('board').getBoundingClientRect(), r = v.getBoundingClientRect();
return {hidden: v.hidden, muted: v.muted, paused: v.paused, time: v.currentTime,
  inStage: r.top >= s.top - 0.5 && r.bottom <= s.bottom + 0.5 && r.left >= 0 && r.right <= innerWidth + 0.5,
  belowBoard: r.top >= b.bottom - 0.5, width: v.videoWidth};
"""


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=["landscape", "portrait"])
def test_video_plays_muted_and_the_rotation_goes_on(browser, server, player, size):  # noqa: F811
    width, height = size
    set_screen(browser, width, height)
    server.board = {"kommune": "Gemeinde Musterstadt", "crest": None}
    film = item(server, "film", b"", 30)
    film.update(kind="video", slide=server.add_file(MP4, "video/mp4"))
    del film["notice_id"], film["version_hash"]
    server.publish([item(server, "n0", slide("Aushang", "Text."), 600), film])
    proc = player()
    wait_for(lambda: len(proc.get("/local/state")["items"]) == 2, what="content with the video")
    assert proc.verified(film["slide"]["sha256"])  # cached and checked like every file
    browser.get(proc.kiosk_url)
    wait_for(lambda: (c := current(browser)) and c["showing"] == "n0", timeout=15)
    browser.execute_script("window.aushangKiosk.advance();")
    wait_for(lambda: current(browser)["showing"] == "film", timeout=15, what="the video shown")
    state = wait_for(
        lambda: (s := browser.execute_script(STATE)) and s["time"] > 0.3 and s,
        timeout=15,
        what="the video playing",
    )
    assert not state["hidden"] and state["muted"] and state["width"] == 320
    assert state["inStage"] and state["belowBoard"]
    # Two seconds of film, 30 s of item time: its end moves the rotation on.
    wait_for(
        lambda: current(browser)["showing"] == "n0", timeout=20, what="rotation after the film"
    )
    assert browser.execute_script("return document.getElementById('video').hidden")
