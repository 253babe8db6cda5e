"""The Kommune's media library (issue 16): a picture uploaded once (checked by content) is
used by content items on several displays; it cannot be removed while in use."""

from __future__ import annotations

import io

from PIL import Image

from server.models import ContentItem
from server.models.displays import MediaFile
from tests.conftest import login

from .conftest import API, enrolled_display


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 360), (10, 120, 60)).save(out, "PNG")
    return out.getvalue()


def test_one_upload_is_used_on_two_displays_and_kept_while_in_use(client, dw, session, now):
    second, second_token = enrolled_display(session, dw.tenant, "Bürgerbüro", now)
    session.commit()
    login(client, dw.admin.email)
    base = f"/admin/{dw.tenant.slug}/anzeigen/"
    for data, name in ((b"kein Bild", "x.png"), (b"%PDF-1.4\n%%EOF\n", "x.png")):
        r = client.post(
            base + "mediathek",
            data={"image": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        assert r.status_code == 422 and 'id="image-error"' in r.get_data(as_text=True)
    r = client.post(base + "mediathek", data={}, content_type="multipart/form-data")
    assert r.status_code == 422
    picture = png()
    r = client.post(
        base + "mediathek",
        data={"image": (io.BytesIO(picture), "Wochenmarkt.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    media = session.query(MediaFile).one()
    form = {
        "kind": "image",
        "title": "Wochenmarkt",
        "target": "display",
        "position": "10",
        "duration_s": "10",
    }
    for display in (dw.display, second):
        r = client.post(base + f"{display.id}/inhalte", data={**form, "media_id": str(media.id)})
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
    bad = client.post(base + f"{dw.display.id}/inhalte", data={**form, "media_id": "999999"})
    assert bad.status_code == 422 and 'id="content_image-error"' in bad.get_data(as_text=True)
    assert session.query(ContentItem).filter_by(image_sha256=media.sha256).count() == 2
    for token in (dw.token, second_token):
        items = client.get(API + "manifest", headers={"Authorization": f"Bearer {token}"}).json[
            "items"
        ]
        (shown,) = [i for i in items if i["kind"] == "image"]
        assert shown["slide"]["sha256"] == media.sha256
    page = client.get(base + "mediathek").get_data(as_text=True)
    assert "Wochenmarkt.png" in page and "in 2 Inhalten" in page
    r = client.post(base + f"mediathek/{media.id}/entfernen")
    assert r.status_code == 303
    assert session.query(MediaFile).count() == 1
    other = client.get(f"/admin/{dw.other.slug}/anzeigen/mediathek")
    assert other.status_code in (403, 404)
