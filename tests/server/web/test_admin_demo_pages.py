"""Every staff page renders for the demo data (notices in every state), and an upload
over the request limit gives the German 413 message also with CSRF protection on."""

from __future__ import annotations

import re
from io import BytesIO

from sqlalchemy import select

from server.demo import load_demo
from server.models import Notice, User
from server.web.admin.common import has_endpoint

from .conftest import login_as


def test_every_staff_page_renders_for_the_demo(client, session, now, fast_hash):
    tenant = load_demo(session, now)
    session.commit()
    admin = session.scalars(select(User).where(User.email == "admin@musterstadt.example")).one()
    login_as(client, admin)
    base = f"/admin/{tenant.slug}"
    pages = ["/", "/bekanntmachungen/", "/bekanntmachungen/neu", "/benutzer/", "/benutzer/neu"]
    pages += ["/kategorien/", "/bekanntmachungsformen/", "/einstellungen", "/protokoll"]
    for n in session.scalars(select(Notice).where(Notice.tenant_id == tenant.id)):
        pages.append(f"/bekanntmachungen/{n.number}")
        pages += [f"/bekanntmachungen/{n.number}/fassungen/{v.number}" for v in n.versions]
        pages += [
            f"/bekanntmachungen/{n.number}/anlagen/{a.id}"
            for v in n.versions
            for a in v.attachments
        ]
    pages += [f"/kategorien/{c.id}" for c in tenant.categories]
    pages += [f"/bekanntmachungsformen/{c.id}" for c in tenant.channels]
    seen_links: set[str] = set()
    for page in pages:
        r = client.get(base + page)
        assert r.status_code == 200, page
        if r.mimetype == "text/html":
            html = r.get_data(as_text=True)
            assert "style=" not in html and "onclick" not in html  # CSP: no inline code
            assert not re.search(r"<script(?![^>]*\ssrc=)", html)
            seen_links |= set(re.findall(r'href="(/admin/[^"#?]+)', html))
    # Links on the pages lead somewhere (GET-able staff pages).
    for link in sorted(seen_links):
        assert client.get(link).status_code == 200, link


def test_has_endpoint(app_ctx):
    with app_ctx.test_request_context():
        assert has_endpoint("admin.notice_detail")
        assert not has_endpoint("admin.gibt_es_nicht")


def test_upload_over_request_limit_with_csrf_on(app, world):
    w = world
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        login_as(client, w.users["editor"])
        huge = b"%PDF-1.4\n" + b"0" * app.config["MAX_CONTENT_LENGTH"]
        r = client.post(
            f"/admin/musterstadt/bekanntmachungen/{w.draft.number}/anlagen",
            data={"attachment": (BytesIO(huge), "riesig.pdf")},
        )
        assert r.status_code == 413
        assert "Die Datei ist zu groß" in r.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
