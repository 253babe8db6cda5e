"""Search that finds (issue 17, build 6): inflected forms, umlaut spellings, the
Aktenzeichen and the text of a PDF attachment, ranked, with highlighted snippets — on
SQLite and on PostgreSQL (run with TEST_DATABASE_URL)."""

from __future__ import annotations

import io
import re

import pytest

from server.documents import render_pdf
from server.services import notices as svc
from server.services import search

from ...conftest import login


def _titles(client, q: str) -> list[str]:
    page = client.get("/musterstadt/archiv", query_string={"q": q})
    assert page.status_code == 200
    return re.findall(r'<h3><a href="[^"]+">([^<]+)</a></h3>', page.get_data(as_text=True))


@pytest.fixture()
def archive(client, public_world, clock, factory, tmp_path):
    w = public_world
    w.notice(
        title="Entsorgung von Glasbehältnissen",
        body_md="Leere Flaschen und Gläsern gehören in die Container am Markt und am Mühlbach.",
        file_number="612.3-Bau/17",
    )
    w.notice(
        title="Bebauungsplan Nr. 12 „Am Mühlbach“",
        body_md="Der Plan für das Gebiet am Mühlbach liegt im Bauamt aus.",
        file_number="61-26/2026",
    )
    # A notice whose only mention of the word is in its PDF attachment, uploaded
    # through the staff page (the text is extracted there, once).
    draft = w.notice(title="Straßenausbau Lindenweg", release=False, file_number="66-5/2026")
    factory.session.commit()
    pdf = render_pdf(
        '<html lang="de"><head><title>Plan</title></head><body>'
        "<p>Errichtung einer Lärmschutzwand entlang der Bahnstrecke.</p></body></html>",
        tmp_path.as_uri() + "/",
    )
    login(client, w.editor.email)
    response = client.post(
        f"/admin/musterstadt/bekanntmachungen/{draft.number}/anlagen",
        data={"attachment": (io.BytesIO(pdf), "lageplan.pdf"), "attachment_title": "Lageplan"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    client.get("/logout")
    factory.session.expire_all()
    draft = svc.get_notice(factory.session, w.tenant, draft.number)
    assert "Lärmschutzwand" in draft.working_version.attachments[0].text_content
    svc.submit(factory.session, draft, w.editor, factory.now)
    svc.release(factory.session, draft, w.approver, "ok", factory.now)
    factory.session.commit()
    return w


def test_inflected_forms_and_umlaut_spellings(client, archive):
    assert _titles(client, "Gläser") == ["Entsorgung von Glasbehältnissen"]  # "Gläsern"
    assert _titles(client, "glasbehaeltnisse") == ["Entsorgung von Glasbehältnissen"]
    assert _titles(client, "Glasbehältnis") == ["Entsorgung von Glasbehältnissen"]
    assert _titles(client, "Bauämter") == ["Bebauungsplan Nr. 12 „Am Mühlbach“"]
    assert _titles(client, "Glas") == ["Entsorgung von Glasbehältnissen"]  # Glas, Gläser
    assert _titles(client, "Bebauungspläne") == ["Bebauungsplan Nr. 12 „Am Mühlbach“"]
    assert _titles(client, "Bebauungsplans") == ["Bebauungsplan Nr. 12 „Am Mühlbach“"]
    assert _titles(client, "Container Markt") == ["Entsorgung von Glasbehältnissen"]
    assert _titles(client, "Container Bahnstrecke") == []  # every word must match


def test_aktenzeichen_and_pdf_attachment_text(client, archive):
    assert _titles(client, "612.3-Bau/17") == ["Entsorgung von Glasbehältnissen"]
    assert _titles(client, "61-26/2026") == ["Bebauungsplan Nr. 12 „Am Mühlbach“"]
    assert _titles(client, "Lärmschutzwand") == ["Straßenausbau Lindenweg"]
    assert _titles(client, "laermschutzwaende") == ["Straßenausbau Lindenweg"]
    assert _titles(client, "Laermschutz") == ["Straßenausbau Lindenweg"]  # a word's start


def test_ranked_with_highlighted_snippets(client, archive):
    # Both mention the Mühlbach; the one with it in the title and text comes first.
    assert _titles(client, "muehlbach") == [
        "Bebauungsplan Nr. 12 „Am Mühlbach“",
        "Entsorgung von Glasbehältnissen",
    ]
    page = client.get("/musterstadt/archiv", query_string={"q": "Gläser"}).get_data(as_text=True)
    assert '<p class="snippet">' in page and "<mark>Gläsern</mark>" in page
    evil = client.get("/musterstadt/archiv", query_string={"q": "<script>"})
    assert evil.status_code == 200 and "<script>" not in evil.get_data(as_text=True)


def test_folding_and_stems_are_the_same_for_document_and_query():
    assert search.fold("Gläser Ähre Straße Café Quelle") == "glaser ahre strasse cafe quelle"
    assert search.fold("Glaeser") == search.fold("Gläser")
    assert search.stems("Gläsern") == search.stems("glaeser")
    assert search.words("Az. 612.3-Bau/17") == ["az", "612", "3", "bau", "17"]


def test_each_database_uses_its_own_matching(session):
    sql = str(
        search.condition(session, search.parse("Gläser")).compile(
            dialect=session.get_bind().dialect
        )
    )
    if session.get_bind().dialect.name == "postgresql":
        assert "to_tsvector" in sql and "to_tsquery" in sql
    else:
        assert "search_stems" in sql
