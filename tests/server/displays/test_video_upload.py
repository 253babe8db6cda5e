"""Video content (issue 16): an H.264 MP4 checked by content on upload, sent to the display
as the item's file; anything else is refused with a field message."""

from __future__ import annotations

import io
from pathlib import Path

from tests.conftest import login

from .conftest import API, validate

MP4 = (Path(__file__).resolve().parents[2] / "player/e2e/data/testsrc-h264.mp4").read_bytes()
FORM = {
    "kind": "video",
    "title": "Imagefilm",
    "target": "display",
    "position": "10",
    "duration_s": "20",
}


def post(client, dw, data: bytes, name: str):
    return client.post(
        f"/admin/{dw.tenant.slug}/anzeigen/{dw.display.id}/inhalte",
        data={**FORM, "image": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_video_upload_is_checked_by_content(client, dw):
    login(client, dw.admin.email)
    not_h264 = MP4[:8] + MP4[8:].replace(b"avc1", b"mp4v").replace(b"avcC", b"esds")
    for data, name in (
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "film.mp4"),  # a picture called .mp4
        (b"kein Film", "film.mp4"),
        (not_h264, "film.mp4"),  # an MP4, but not H.264
    ):
        r = post(client, dw, data, name)
        assert r.status_code == 422, name
        assert 'id="content_image-error"' in r.get_data(as_text=True)
    r = client.post(f"/admin/{dw.tenant.slug}/anzeigen/{dw.display.id}/inhalte", data=FORM)
    assert r.status_code == 422 and "Video (MP4, H.264)" in r.get_data(as_text=True)
    assert post(client, dw, MP4, "Imagefilm.mp4").status_code == 302
    manifest = client.get(API + "manifest", headers=dw.auth()).json
    validate("manifest", manifest)
    (film,) = [i for i in manifest["items"] if i["kind"] == "video"]
    assert film["slide"]["media_type"] == "video/mp4" and film["slide"]["size"] == len(MP4)
    asset = client.get(API + f"assets/{film['slide']['sha256']}", headers=dw.auth())
    assert asset.status_code == 200 and asset.data == MP4
    assert asset.headers["Content-Type"].startswith("video/mp4")
