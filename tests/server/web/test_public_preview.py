"""The staff preview renders the working version with the public template."""

from __future__ import annotations

from datetime import timedelta

from server.services import notices as svc

from ...conftest import login
from ..publicworld import PDF_BYTES, make_world


def test_preview_shows_draft_with_banner_exactly_like_public_page(client, public_world, clock):
    draft = public_world.notice(
        release=False, body_md="Entwurfstext **fett**.", files=[("p.pdf", PDF_BYTES)]
    )
    login(client, public_world.editor.email)
    response = client.get(f"/admin/musterstadt/bekanntmachungen/{draft.number}/vorschau")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Vorschau – noch nicht veröffentlicht" in page
    assert "Entwurfstext <strong>fett</strong>." in page
    assert '<article class="notice"' in page  # the public partial
    assert '<meta name="robots" content="noindex">' in page
    assert response.headers["Cache-Control"] == "no-store"
    # the attachment link works for staff although the public route would 404
    att = draft.working_version.attachments[0]
    link = f"/admin/musterstadt/bekanntmachungen/{draft.number}/vorschau/anlagen/{att.id}"
    assert link in page
    assert client.get(link).data == PDF_BYTES
    assert client.get(f"/musterstadt/dateien/{att.sha256}/p.pdf").status_code == 404


def test_preview_of_a_correction_shows_the_working_version(client, public_world, clock, now):
    s = public_world.factory.session
    notice = public_world.notice(body_md="Alt.")
    svc.start_correction(s, notice, public_world.editor, "neu", now + timedelta(minutes=5))
    data = svc.input_from_version(notice, notice.working_version)
    data.body_md = "Neu berichtigt."
    svc.update_draft(s, notice, public_world.editor, data, now + timedelta(minutes=6))
    login(client, public_world.approver.email)
    page = client.get(f"/admin/musterstadt/bekanntmachungen/{notice.number}/vorschau").get_data(
        as_text=True
    )
    assert "Neu berichtigt." in page and "Vorschau" in page
    public = client.get(f"/musterstadt/bekanntmachungen/{notice.number}").get_data(as_text=True)
    assert "Alt." in public and "Neu berichtigt." not in public


def test_preview_guards(client, public_world, clock, factory, app_ctx):
    draft = public_world.notice(release=False)
    url = f"/admin/musterstadt/bekanntmachungen/{draft.number}/vorschau"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    other = make_world(factory, app_ctx, slug="nachbarort", ars="150855555556")
    login(client, other.editor.email)
    assert client.get(url).status_code == 404
    att_url = url + "/anlagen/1"
    assert client.get(att_url).status_code == 404
