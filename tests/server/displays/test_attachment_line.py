"""A PDF attachment is not shown as an unreadable page image but as a line on the notice's
slide: "Anlage 1: … (PDF, 3 Seiten, siehe QR-Code)" (issue 16). Pictures keep their slide."""

from __future__ import annotations

import io

from PIL import Image

from server.documents import render_pdf
from server.services.displays import slides
from server.services.files import BlobStore

from ..publicworld import make_world


def three_page_pdf() -> bytes:
    pages = "".join(f'<p style="page-break-after: always">Seite {n}</p>' for n in range(1, 4))
    return render_pdf(f"<html><body>{pages}</body></html>", base_url="http://127.0.0.1/")


def picture() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (20, 90, 160)).save(out, "PNG")
    return out.getvalue()


def test_pdf_attachment_is_a_line_and_a_picture_keeps_its_slide(factory, app_ctx, now):
    world = make_world(factory, app_ctx)
    notice = world.notice(
        at=now,
        files=[("lageplan.pdf", three_page_pdf()), ("karte.png", picture())],
    )
    factory.session.flush()
    store = BlobStore(app_ctx.config["AUSHANG_DATA_DIR"])
    for orientation in ("landscape", "portrait"):
        made = slides.notice_slides(
            store, notice, notice.current_version, orientation, "https://aushang.example/x/1"
        )
        assert [s.suffix for s in made] == ["", "-a2-p1"], orientation
        html = store.read(made[0].slide["sha256"]).decode()
        assert "Anlage 1: lageplan.pdf (PDF, 3 Seiten, siehe QR-Code)" in html
        assert "karte.png" not in html.split('class="attachments"')[-1].split("</ul>")[0]
        picture_slide = store.read(made[1].slide["sha256"]).decode()
        assert "Anlage 2: karte.png" in picture_slide
