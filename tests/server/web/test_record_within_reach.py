"""The record within reach (issue 17, build 1): the Aushangvermerk is linked from the
staff page (and, where the Internet is binding, from the public page), the notice
board's row uses the actual posting time, and a withdrawn notice claims no Bewirkung."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from server.services import notices as svc

from ...conftest import login
from ..publicworld import make_world
from ..test_documents import pdf_text


def _vermerk(client, number: str) -> dict:
    response = client.get(f"/musterstadt/bekanntmachungen/{number}/aushangvermerk.json")
    assert response.status_code == 200
    return json.loads(response.data)


def test_staff_page_links_the_aushangvermerk_for_tenant_staff_only(
    client, public_world, clock, factory, app_ctx
):
    notice = public_world.notice(title="Satzung mit Vermerk")
    draft = public_world.notice(title="Noch ein Entwurf", release=False)
    factory.session.commit()
    pdf_link = f"/musterstadt/bekanntmachungen/{notice.number}/aushangvermerk.pdf"
    json_link = f"/musterstadt/bekanntmachungen/{notice.number}/aushangvermerk.json"
    login(client, public_world.editor.email)
    page = client.get(f"/admin/musterstadt/bekanntmachungen/{notice.number}").get_data(as_text=True)
    assert pdf_link in page and json_link in page
    assert client.get(pdf_link).status_code == 200
    draft_page = client.get(f"/admin/musterstadt/bekanntmachungen/{draft.number}")
    assert "aushangvermerk.pdf" not in draft_page.get_data(as_text=True)  # never released

    other = make_world(factory, app_ctx, slug="nachbarort", ars="150855555556")
    factory.session.commit()
    client.get("/logout")
    login(client, other.editor.email)
    assert client.get(json_link).status_code == 404


def test_public_page_links_the_proof_only_where_the_internet_is_binding(
    client, public_world, clock, factory
):
    internet = public_world.notice(title="Im Internet verbindlich")
    board_only = factory.category(public_world.tenant, "Nur Aushang", binding=("board",))
    public_world.category = board_only
    paper = public_world.notice(title="Nur am Brett verbindlich")
    factory.session.commit()

    page = client.get(f"/musterstadt/bekanntmachungen/{internet.number}").get_data(as_text=True)
    proof = f"/musterstadt/bekanntmachungen/{internet.number}/nachweis.pdf"
    assert proof in page
    pdf = client.get(proof)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    record = client.get(proof.replace(".pdf", ".json")).get_json()
    assert record["public"] is True
    assert "email" not in json.dumps(record)  # staff contacts stay internal
    assert record["versions"][0]["released_by"]["name"] == public_world.approver.name

    page = client.get(f"/musterstadt/bekanntmachungen/{paper.number}").get_data(as_text=True)
    assert "nachweis.pdf" not in page
    assert (
        client.get(f"/musterstadt/bekanntmachungen/{paper.number}/nachweis.pdf").status_code == 404
    )


def test_board_row_uses_the_actual_posting_time(client, public_world, clock, factory):
    # Released at 22:31 local time on the first day of the window, not at midnight.
    released = datetime(2026, 12, 1, 21, 31, tzinfo=UTC)
    clock.set(released)
    notice = public_world.notice(
        at=released, start=released.date(), end=released.date() + timedelta(days=14)
    )
    factory.session.commit()
    login(client, public_world.editor.email)
    record = _vermerk(client, notice.number)
    board = next(c for c in record["channels"] if c["kind"] == "board")
    internet = next(c for c in record["channels"] if c["kind"] == "internet")
    assert board["posted_from"] == "2026-12-01T22:31:00+01:00"
    assert internet["posted_from"] == "2026-12-01T22:31:00+01:00"
    assert record["posting_window"]["starts_at"] == "2026-12-01T00:00:00+01:00"
    assert record["posting_window"]["posted_at"] == "2026-12-01T22:31:00+01:00"
    text = client.get(f"/musterstadt/bekanntmachungen/{notice.number}/aushangvermerk.pdf").data
    assert "01.12.2026, 22:31 Uhr" in pdf_text(text)
    assert "01.12.2026, 00:00 Uhr" not in pdf_text(text)


def test_withdrawn_notice_shows_the_withdrawal_and_no_bewirkt(
    client, public_world, clock, factory, now
):
    notice = public_world.notice(title="Zurückzunehmende Satzung")
    svc.withdraw(
        factory.session,
        notice,
        public_world.approver,
        "withdrawn",
        "Beschluss aufgehoben",
        now + timedelta(hours=2),
    )
    factory.session.commit()
    clock.set(now + timedelta(hours=3))
    page = client.get(f"/musterstadt/bekanntmachungen/{notice.number}").get_data(as_text=True)
    assert "Zurückgezogen am" in page and "Beschluss aufgehoben" in page
    assert "bewirkt am" not in page.lower()
    assert "gilt als aufgehoben" in page

    login(client, public_world.editor.email)
    record = _vermerk(client, notice.number)
    assert record["effective"]["overall"] is None and record["effective"]["withdrawn"] is True
    assert all(v is None for v in record["effective"]["per_channel"].values())
    text = pdf_text(
        client.get(f"/musterstadt/bekanntmachungen/{notice.number}/aushangvermerk.pdf").data
    )
    assert "bewirkt am" not in text.lower()
    assert "gilt als aufgehoben" in text
