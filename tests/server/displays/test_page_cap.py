"""Pages of one notice per cycle (issue 16): a display setting, sent with every paged notice
slide, counted by the D3 cycle estimate, and validated on the form."""

from __future__ import annotations

from server.domain.playlist import PlaylistEntry, cycle_seconds
from server.models import Display
from tests.conftest import login

from .conftest import API, validate

FORM = {
    "name": "Tafel",
    "orientation": "landscape",
    "resolution_w": "1920",
    "resolution_h": "1080",
    "selection": "all",
    "notice_duration_s": "15",
    "cycle_limit_s": "300",
}


def test_cycle_estimate_counts_only_the_pages_shown_per_cycle():
    long = PlaylistEntry("lang", 15, text_chars=20_000, paged=True, is_notice=True)
    capped = PlaylistEntry("lang", 15, text_chars=20_000, paged=True, is_notice=True, max_pages=3)
    assert cycle_seconds([long], "landscape", 1920, 1080) > 6 * 15
    assert cycle_seconds([capped], "landscape", 1920, 1080) == 3 * 15


def test_manifest_sends_the_cap_with_paged_notice_slides(client, dw, session):
    r = client.get(API + "manifest", headers=dw.auth())
    validate("manifest", r.json)
    notices = [i for i in r.json["items"] if i["kind"] == "notice"]
    assert notices and all(i["max_pages"] == 3 for i in notices)
    display = session.get(Display, dw.display.id)
    display.max_pages = 0
    session.commit()
    r = client.get(API + "manifest", headers=dw.auth())
    assert all("max_pages" not in i for i in r.json["items"])


def test_form_rejects_a_bad_page_cap_with_a_field_message(client, dw, session):
    login(client, dw.admin.email)
    url = f"/admin/{dw.tenant.slug}/anzeigen/neu"
    for bad in ("drei", "-1", "101"):
        r = client.post(url, data={**FORM, "max_pages": bad})
        assert r.status_code == 422, bad
        assert 'id="max_pages-error"' in r.get_data(as_text=True), bad
    r = client.post(url, data={**FORM, "max_pages": "2"})
    assert r.status_code == 302
    assert session.query(Display).filter_by(name="Tafel").one().max_pages == 2
