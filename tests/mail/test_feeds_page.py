"""The feeds page on a phone (issue 18, Build 5): a webcal:// link to add the calendar,
no mouse instructions, and the Kommune's header and navigation kept."""

from __future__ import annotations

from server.extensions import db


def test_feeds_page_for_phones(app_ctx, factory):
    tenant = factory.tenant("musterstadt", name="Stadt Musterstadt")
    factory.category(tenant, "Satzungen")
    db.session.commit()
    client = app_ctx.test_client()
    page = client.get("/musterstadt/feeds/").get_data(as_text=True)
    assert 'href="webcal://127.0.0.1:5000/musterstadt/feeds/notices.ics"' in page
    assert "Zum Kalender hinzufügen" in page
    assert "Maustaste" not in page
    assert 'class="brand" href="/musterstadt/"' in page  # the Kommune's header
    assert "/musterstadt/benachrichtigungen" in page
    land = client.get("/feeds/").get_data(as_text=True)
    assert "webcal://127.0.0.1:5000/feeds/notices.ics" in land and "Maustaste" not in land
