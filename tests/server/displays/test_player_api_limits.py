"""Limits of the player API and the display content (issue 11, low items): JSON nesting,
the heartbeat rate, heartbeat retention, picture size, bidi controls."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.jobs import displays as display_jobs
from server.models import ContentItem, Display, Heartbeat, Outage
from server.services.displays import reports, slides
from server.services.displays.evidence import display_records
from server.web import jsonbody

from .conftest import API, release, validate

DEEP = 50_000


def _deep(kind: str) -> str:
    return "[" * DEEP + "]" * DEEP if kind == "array" else '{"a":' * DEEP + "1" + "}" * DEEP


@pytest.mark.parametrize("kind", ["array", "object"])
def test_json_nested_50000_deep_is_a_clear_400_on_every_route(client, dw, kind):
    body = _deep(kind)
    routes = [
        ("enroll", None),  # anonymous
        ("heartbeat", dw.token),
        ("events", dw.token),
        ("alerts/1/ack", dw.token),
    ]
    for path, token in routes:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        r = client.post(API + path, data=body, headers=headers)
        assert r.status_code == 400, (path, r.status_code)
        assert r.mimetype == "application/problem+json"
        validate("problem", r.get_json())
        assert "verschachtelt" in r.get_json()["detail"]


def test_nesting_depth_ignores_brackets_in_strings():
    assert jsonbody.nesting_depth('{"a": "[[[[\\"[[", "b": [[1]]}') == 3
    assert jsonbody.loads(b'{"x": "' + b"[" * 100 + b'"}') == {"x": "[" * 100}
    with pytest.raises(jsonbody.BadJson):
        jsonbody.loads(b"[" * 33 + b"]" * 33)
    assert jsonbody.loads(b"[" * 32 + b"]" * 32) is not None


def test_heartbeats_are_rate_limited_per_display(client, dw, clock, now):
    beat = {"player_version": "1.0"}
    for _ in range(10):  # the burst
        assert client.post(API + "heartbeat", json=beat, headers=dw.auth()).status_code == 200
    r = client.post(API + "heartbeat", json=beat, headers=dw.auth())
    assert r.status_code == 429 and r.mimetype == "application/problem+json"
    assert r.headers["Retry-After"] == "5"
    validate("problem", r.get_json())
    # Another display is not affected; the first may send again after Retry-After.
    assert (
        client.post(API + "heartbeat", json=beat, headers=dw.auth(dw.other_token)).status_code
        == 200
    )
    clock.set(now + timedelta(seconds=5))
    assert client.post(API + "heartbeat", json=beat, headers=dw.auth()).status_code == 200
    assert client.post(API + "heartbeat", json=beat, headers=dw.auth()).status_code == 429
    # A player's pace (one a minute) is never refused.
    for minute in range(1, 30):
        clock.set(now + timedelta(minutes=minute))
        assert client.post(API + "heartbeat", json=beat, headers=dw.auth()).status_code == 200


def test_old_heartbeats_are_thinned_keeping_the_evidence(app, dw, session, now):
    notice = dw.notice
    item = f"notice-{notice.id}-v1"
    display = session.get(Display, dw.display.id)
    start = notice.starts_at
    times = [start + timedelta(minutes=m) for m in range(0, 180)]  # three hours, each minute
    for n, at in enumerate(times):
        body = {"player_version": "1.0", "current_item": item if n % 2 else "content-1"}
        reports.record_heartbeat(session, display.id, body, at)
    session.commit()
    later = start + timedelta(days=31)
    before = display_records(session, notice, start + timedelta(hours=4))[0]

    # Nothing is older than 30 days yet at start + 29 days.
    assert display_jobs.thin_heartbeats(session, start + timedelta(days=29)) == 0
    app.config["AUSHANG_HEARTBEAT_RETENTION_DAYS"] = 30
    deleted = display_jobs.thin_heartbeats(session, later)
    session.commit()
    left = session.scalar(select(func.count()).select_from(Heartbeat))
    assert deleted == 180 - left and left == 3 * 2 * 2  # hours × items × (first, last)
    after = display_records(session, notice, start + timedelta(hours=4))[0]
    for key in ("posted_from", "posted_until"):
        assert after[key] == before[key]
    assert after["heartbeats"]["first"] == before["heartbeats"]["first"]
    assert after["heartbeats"]["last"] == before["heartbeats"]["last"]
    assert display_jobs.thin_heartbeats(session, later) == 0  # idempotent


def test_thinning_spares_recent_rows_and_open_outages(dw, session, now):
    old = now - timedelta(days=60)
    for m in range(10):
        reports.record_heartbeat(
            session, dw.display.id, {"player_version": "1"}, old + timedelta(minutes=m)
        )
        reports.record_heartbeat(
            session, dw.other_display.id, {"player_version": "1"}, old + timedelta(minutes=m)
        )
        reports.record_heartbeat(
            session, dw.display.id, {"player_version": "1"}, now - timedelta(minutes=m)
        )
    session.add(
        Outage(display_id=dw.other_display.id, started_at=old, detected_at=old, notices="1")
    )
    session.commit()
    reports.thin_heartbeats(session, now, timedelta(days=30))
    session.commit()
    per_display = dict(
        session.execute(
            select(Heartbeat.display_id, func.count()).group_by(Heartbeat.display_id)
        ).all()
    )
    assert per_display == {dw.display.id: 2 + 10, dw.other_display.id: 10}


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def _jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def test_image_size_from_the_header(tmp_path):
    for name, data, size in (
        ("a.png", _png(30_000, 30_000), (30_000, 30_000)),
        ("b.jpg", _jpeg(1920, 1080), (1920, 1080)),
        ("c.bin", b"nothing", None),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        assert slides.image_size(path) == size
    assert slides.image_too_large(tmp_path / "a.png")
    assert slides.image_too_large(tmp_path / "b.jpg") is None


def test_900_megapixel_png_is_refused_with_a_field_message(client, dw, session):
    from ...conftest import login

    login(client, dw.admin.email)
    url = f"/admin/{dw.tenant.slug}/anzeigen/{dw.display.id}/inhalte"

    def upload(data: bytes):
        return client.post(
            url,
            data={
                "kind": "image",
                "title": "Plakat",
                "target": "display",
                "duration_s": "10",
                "position": "100",
                "image": (io.BytesIO(data), "plakat.png"),
            },
            content_type="multipart/form-data",
        )

    r = upload(_png(30_000, 30_000))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "30.000 × 30.000 Pixel" in page and "field-error" in page
    assert session.scalars(select(ContentItem)).all() == []
    assert upload(_png(1920, 1080)).status_code in (302, 303)
    assert len(session.scalars(select(ContentItem)).all()) == 1


BIDI = "\u202e\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f"


def test_bidi_controls_never_reach_a_display(client, dw, session, now, app):
    from server.services.files import BlobStore

    notice = release(dw, session, now, title="Rechnung \u202egpj.exe")
    body = client.get(API + "manifest", headers=dw.auth()).get_json()
    items = [i for i in body["items"] if i["notice_id"] == str(notice.id)]
    assert items and all(i["title"] == "Rechnung gpj.exe" for i in items)
    store = BlobStore(app.config["AUSHANG_DATA_DIR"])
    html = store.read(items[0]["slide"]["sha256"]).decode()
    assert "gpj.exe" in html and not any(c in html for c in BIDI)
    page = slides.page_slide(
        store, dw.tenant, f"Öffnungszeiten{BIDI}", f"Mo{BIDI} 8–12", "landscape"
    )
    html = store.read(page.slide["sha256"]).decode()
    assert "Öffnungszeiten" in html and not any(c in html for c in BIDI)
    assert slides.strip_bidi_deep({"a": [f"x{BIDI}y"]}) == {"a": ["xy"]}
