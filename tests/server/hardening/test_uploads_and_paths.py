"""Upload polyglots and path traversal (issue 8, security): a file is accepted only when
its content sniffs as PDF, PNG or JPEG, and is then served as exactly that type, as a
download, with nosniff and a script-free sandbox — never as HTML. No spelling of a path
reaches a file outside the blob store."""

from __future__ import annotations

import hashlib
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Attachment
from server.services import notices as svc

from ..publicworld import make_world
from ..web.conftest import login_as

HTML_JS = b"<html><body><script>alert(document.cookie)</script></body></html>\n"
PDF_HTML = b"%PDF-1.4\n" + HTML_JS + b"1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG_PHP = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xfe\x00\x40<?php system($_GET['c']); ?><script>alert(1)</script>"
    b"\xff\xd9"
)
ZIP_AS_PNG = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 40 + b"evil.html" + HTML_JS
HTML_AS_PDF = b"<!DOCTYPE html>" + HTML_JS
SVG_AS_PNG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
BOM_HTML_AS_PDF = b"\xef\xbb\xbf" + HTML_JS + b"%PDF-1.4\n"

ACCEPTED = [
    ("satzung.pdf", PDF_HTML, "application/pdf"),
    ("foto.jpg", JPEG_PHP, "image/jpeg"),
    ("foto.php.jpg", JPEG_PHP + b"x", "image/jpeg"),
    ("plan.html", PDF_HTML + b"y", "application/pdf"),  # the name does not decide
]
REFUSED = [
    ("karte.png", ZIP_AS_PNG),
    ("bescheid.pdf", HTML_AS_PDF),
    ("logo.png", SVG_AS_PNG),
    ("bom.pdf", BOM_HTML_AS_PDF),
]


@pytest.fixture()
def pw(factory, app_ctx, clock):
    return make_world(factory, app_ctx)


def _blob_files(app) -> set[Path]:
    root = Path(app.config["AUSHANG_DATA_DIR"])
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _upload(client, pw, notice, name: str, data: bytes):
    return client.post(
        f"/admin/{pw.tenant.slug}/bekanntmachungen/{notice.number}/anlagen",
        data={"attachment": (BytesIO(data), name)},
        headers={"Accept": "application/json"},
    )


def _assert_safe_download(response, media_type: str) -> None:
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment")
    csp = response.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert "html" not in response.headers["Content-Type"]


def test_polyglots_are_served_as_their_sniffed_type_as_downloads(client, pw, app, session, now):
    login_as(client, pw.editor)
    notice = pw.notice(release=False)
    session.commit()
    for name, data, _media in ACCEPTED:
        r = _upload(client, pw, notice, name, data)
        assert r.status_code == 200, (name, r.get_json())
    svc.submit(session, notice, pw.editor, now)
    svc.release(session, notice, pw.approver, "ok", now)
    session.commit()
    client.get("/logout")
    page = client.get(f"/{pw.tenant.slug}/bekanntmachungen/{notice.number}").get_data(True)
    for name, data, media in ACCEPTED:
        sha = hashlib.sha256(data).hexdigest()
        att = session.scalars(select(Attachment).where(Attachment.sha256 == sha)).one()
        assert att.media_type == media, name
        url = f"/{pw.tenant.slug}/dateien/{sha}/{att.filename}"
        assert url in page
        r = client.get(url)
        _assert_safe_download(r, media)
        assert r.data == data
    # The staff download of the same files is just as careful.
    login_as(client, pw.editor)
    for att in notice.current_version.attachments:
        r = client.get(f"/admin/{pw.tenant.slug}/bekanntmachungen/{notice.number}/anlagen/{att.id}")
        assert r.status_code == 200 and r.mimetype == att.media_type
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Disposition"].startswith("attachment")


def test_disguised_files_are_refused_and_leave_nothing(client, pw, app, session):
    login_as(client, pw.editor)
    notice = pw.notice(release=False)
    session.commit()
    before = _blob_files(app)
    for name, data in REFUSED:
        r = _upload(client, pw, notice, name, data)
        assert r.status_code == 422, name
        assert r.mimetype == "application/problem+json"
        assert "kein PDF-, PNG- oder JPEG-Dokument" in r.get_json()["detail"]
    assert _blob_files(app) == before
    assert db.session.scalars(select(Attachment)).all() == []


# --- path traversal -------------------------------------------------------------------------


TRAVERSALS = [
    "/{t}/dateien/../../etc/passwd",
    "/{t}/dateien/../../../../../../etc/passwd",
    "/{t}/dateien/%2e%2e/%2e%2e/etc/passwd",
    "/{t}/dateien/%2e%2e%2f%2e%2e%2fetc%2fpasswd/x",
    "/{t}/dateien/..%2f..%2f..%2fetc/passwd",
    "/{t}/dateien/%252e%252e%252fetc/passwd",
    "/{t}/dateien/..%5c..%5cetc%5cpasswd/x",
    "/{t}/dateien/..\\..\\etc\\passwd/x",
    "/{t}/dateien/{sha}/..%2f..%2f..%2fetc%2fpasswd",
    "/{t}/dateien/{sha}/plan.pdf%00.html",
    "/{t}/dateien/{sha}%00/plan.pdf",
    "/{t}/dateien/{sha}/../../outside.txt",
    "/{t}/dateien/..%2f{outside}/plan.pdf",
    "/{t}/dateien/{sha_dir}%2f..%2f..%2foutside.txt/plan.pdf",
    "/{t}/dateien/{sha}/%2e%2e%2f%2e%2e%2foutside.txt",
    "/{t}/dateien/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/{t}/dateien/{sha}/plan.pdf/..",
    "/..%2f..%2fetc/passwd",
    "/{t}/../../etc/passwd",
    "/static/../../../../etc/passwd",
    "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/static/%2e%2e/%2e%2e/server/config.py",
    "/{t}/archiv?q=%00../../etc/passwd",
]

ASSET_TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..\\..\\etc\\passwd",
    "{sha}%00",
    "{sha}/../../outside.txt",
    "{sha_dir}%2f..%2f..%2foutside.txt",
    "{upper}",
    "{sha}.html",
    "../{sha}",
]


def _forbidden_bytes(app) -> list[bytes]:
    secret = Path(app.config["AUSHANG_DATA_DIR"]).parent / "outside.txt"
    secret.write_bytes(b"OUTSIDE-THE-STORE-SENTINEL")
    return [b"OUTSIDE-THE-STORE-SENTINEL", b"root:x:0:0", b"SECRET_KEY", b"load_settings"]


def test_path_traversal_in_file_urls_finds_nothing(client, pw, app, session, now):
    notice = pw.notice(files=[("plan.pdf", b"%PDF-1.4\n%traversal\n")], at=now)
    session.commit()
    sha = notice.current_version.attachments[0].sha256
    forbidden = _forbidden_bytes(app)
    assert client.get(f"/{pw.tenant.slug}/dateien/{sha}/plan.pdf").status_code == 200
    for template in TRAVERSALS:
        url = template.format(t=pw.tenant.slug, sha=sha, sha_dir=sha[:2], outside="outside.txt")
        r = client.get(url)
        assert r.status_code in (404, 400, 308), (url, r.status_code)
        if r.status_code == 308:  # werkzeug's merge of slashes: follow once
            r = client.get(r.headers["Location"])
            assert r.status_code in (404, 400), url
        for bad in forbidden:
            assert bad not in r.data, url


def test_path_traversal_in_asset_hashes_finds_nothing(client, two, app):
    manifest = client.get("/api/player/v1/manifest", headers=two.a.auth()).get_json()
    sha = manifest["items"][0]["slide"]["sha256"]
    forbidden = _forbidden_bytes(app)
    assert client.get(f"/api/player/v1/assets/{sha}", headers=two.a.auth()).status_code == 200
    for template in ASSET_TRAVERSALS:
        tail = template.format(sha=sha, sha_dir=sha[:2], upper=sha.upper())
        r = client.get(f"/api/player/v1/assets/{tail}", headers=two.a.auth())
        assert r.status_code in (404, 400, 405), (tail, r.status_code)
        for bad in forbidden:
            assert bad not in r.data, tail
