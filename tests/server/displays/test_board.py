"""The screens' head line (issue 16): the tenant admin uploads the Kommune's crest, checked
by content; the manifest carries the Kommune's name and the crest as a file the player
fetches like every slide."""

from __future__ import annotations

import io

from PIL import Image

from server.models.displays import TenantCrest
from tests.conftest import login

from .conftest import API, validate


def png(width: int = 120, height: int = 140) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def page_url(dw, tail: str = "") -> str:
    return f"/admin/{dw.tenant.slug}/anzeigen/darstellung{tail}"


def upload(client, dw, data: bytes, name: str = "wappen.png"):
    return client.post(
        page_url(dw),
        data={"crest": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_bad_uploads_are_refused_by_content_with_a_field_message(client, dw, session):
    login(client, dw.admin.email)
    cases = {
        "text": (b"kein Bild, nur Text", "wappen.png"),
        "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", "wappen.png"),
        "png-header-only": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "wappen.png"),
        "too-big": (b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024 + 100), "wappen.png"),
    }
    for label, (data, name) in cases.items():
        r = upload(client, dw, data, name)
        assert r.status_code == 422, label
        page = r.get_data(as_text=True)
        assert 'id="crest-error"' in page, label
    r = client.post(page_url(dw), data={}, content_type="multipart/form-data")
    assert r.status_code == 422 and "Keine Datei gewählt" in r.get_data(as_text=True)
    assert session.get(TenantCrest, dw.tenant.id) is None


def test_only_the_tenant_admin_sets_the_crest(client, dw):
    login(client, dw.editor.email)
    assert upload(client, dw, png()).status_code == 403
    login(client, dw.admin.email)
    other = f"/admin/{dw.other.slug}/anzeigen/darstellung"
    assert client.get(other).status_code in (403, 404)


def test_crest_reaches_the_manifest_and_the_player_fetches_it(client, dw, session):
    r = client.get(API + "manifest", headers=dw.auth())
    assert r.json["board"] == {"kommune": "Stadt Musterstadt", "crest": None}
    etag = r.headers["ETag"]
    login(client, dw.admin.email)
    data = png()
    assert upload(client, dw, data).status_code == 302
    assert client.get(page_url(dw, "/wappen")).data == data
    r = client.get(API + "manifest", headers={**dw.auth(), "If-None-Match": etag})
    assert r.status_code == 200  # the change reaches the screens
    validate("manifest", r.json)
    crest = r.json["board"]["crest"]
    assert crest["media_type"] == "image/png" and crest["size"] == len(data)
    asset = client.get(API + f"assets/{crest['sha256']}", headers=dw.auth())
    assert asset.status_code == 200 and asset.data == data
    # Another Kommune's display never gets it.
    other = client.get(API + f"assets/{crest['sha256']}", headers=dw.auth(dw.other_token))
    assert other.status_code == 404
    assert client.post(page_url(dw, "/wappen-entfernen")).status_code == 302
    r = client.get(API + "manifest", headers=dw.auth())
    assert r.json["board"]["crest"] is None
