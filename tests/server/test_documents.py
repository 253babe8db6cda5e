"""PDFs: the WeasyPrint adapter, print versions of notices, the Aushangvermerk (L6, L16)."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import re
import threading
from datetime import timedelta

import pytest
from pypdf import PdfReader

from server.documents import render_pdf
from server.models import NoticeVersion

from ..conftest import login
from .publicworld import PDF_BYTES, make_world


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_render_pdf_is_pdf_a_and_never_fetches_from_the_network(tmp_path):
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        local = f"http://127.0.0.1:{server.server_port}"
        html = (
            '<html lang="de"><head><link rel="stylesheet" href="' + local + '/x.css"></head>'
            '<body><h1>Größenangabe</h1><img src="' + local + '/tracker.png"></body></html>'
        )
        pdf = render_pdf(html, tmp_path.as_uri() + "/")
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []
    assert pdf.startswith(b"%PDF-")
    assert "Größenangabe" in pdf_text(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"pdfaid:part" in xmp  # PDF/A identification
    assert "/OutputIntents" in reader.trailer["/Root"]


def test_print_version_has_title_bereitstellungstag_and_hash(client, public_world, clock, now):
    notice = public_world.notice(
        files=[("plan.pdf", PDF_BYTES)], title="Satzung über Straßenreinigung"
    )
    page = client.get(f"/musterstadt/bekanntmachungen/{notice.number}").get_data(as_text=True)
    shown = re.search(r'class="hash pdf-hash">([0-9a-f]{64})<', page).group(1)
    response = client.get(f"/musterstadt/bekanntmachungen/{notice.number}/v1.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert hashlib.sha256(response.data).hexdigest() == shown  # hash shown = hash served
    assert response.headers["ETag"] == f'"{shown}"'
    text = pdf_text(response.data)
    version = notice.current_version
    assert "Satzung über Straßenreinigung" in text
    assert f"Bereitgestellt am {now:%d.%m.%Y}" in text
    flat = re.sub(r"\s+", "", text)
    assert version.content_hash in flat
    assert version.attachments[0].sha256 in flat
    assert "Seite 1 von" in text
    assert "32-0001/2026" in text


def test_print_version_is_rendered_once(client, public_world, clock, session):
    notice = public_world.notice()
    url = f"/musterstadt/bekanntmachungen/{notice.number}/v1.pdf"
    first = client.get(url).data
    version = session.get(NoticeVersion, notice.current_version_id)
    session.refresh(version)
    assert version.pdf_sha256 == hashlib.sha256(first).hexdigest()
    assert version.pdf_size == len(first)
    assert client.get(url).data == first
    page = client.get(f"/musterstadt/bekanntmachungen/{notice.number}").get_data(as_text=True)
    assert version.pdf_sha256 in page


@pytest.fixture()
def ended_notice(public_world, now):
    end = now.date() - timedelta(days=3)
    return public_world.notice(
        at=now - timedelta(days=20),
        start=end - timedelta(days=12),
        end=end,
        title="Bekanntmachung zum Aushangvermerk",
    )


def test_aushangvermerk_json_and_pdf_for_staff(client, public_world, clock, ended_notice, now):
    base = f"/musterstadt/bekanntmachungen/{ended_notice.number}/aushangvermerk"
    login(client, public_world.editor.email)
    response = client.get(base + ".json")
    assert response.status_code == 200
    record = json.loads(response.data)
    internet = next(c for c in record["channels"] if c["kind"] == "internet")
    board = next(c for c in record["channels"] if c["kind"] == "board")
    assert internet["posted_from"] and internet["posted_until"] and internet["completed"]
    assert board["posted_from"].startswith(ended_notice.posting_start.isoformat())
    assert record["versions"][0]["content_hash"] == ended_notice.current_version.content_hash

    pdf = client.get(base + ".pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.data)
    assert "Aushangvermerk" in text
    assert "Bekanntmachung zum Aushangvermerk" in text
    assert f"{ended_notice.posting_start:%d.%m.%Y}" in text
    assert f"{ended_notice.posting_end + timedelta(days=1):%d.%m.%Y}" in text  # taken down
    assert ended_notice.current_version.content_hash in re.sub(r"\s+", "", text)


def test_aushangvermerk_is_staff_only(client, public_world, clock, ended_notice, factory, app_ctx):

    base = f"/musterstadt/bekanntmachungen/{ended_notice.number}/aushangvermerk"
    anonymous = client.get(base + ".json")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    other = make_world(factory, app_ctx, slug="nachbarort", ars="150855555556")
    login(client, other.editor.email)
    assert client.get(base + ".json").status_code == 404
    assert client.get(base + ".pdf").status_code == 404
