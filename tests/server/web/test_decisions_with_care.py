"""Decisions with care (issue 17, build 4) and the staff side of outages (builds 2, 3):
release and withdrawal go through a page that restates what will happen; the approver
sees Fassung 1 and 2 compared word by word; outages and extensions on the staff pages."""

from __future__ import annotations

import re
from datetime import timedelta

from server.domain.textdiff import word_diff
from server.models import InternetOutage
from server.services import notices as svc

from ...conftest import login

A = "/admin/musterstadt/bekanntmachungen"


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_release_goes_through_a_confirmation_with_the_comparison(
    client, public_world, clock, factory, now
):
    w = public_world
    notice = w.notice(title="Satzung über Gebühren", body_md="Die Gebühr beträgt 10 Euro.")
    svc.start_correction(factory.session, notice, w.editor, "Betrag korrigiert", now)
    data = svc.input_from_version(notice, notice.working_version)
    data.body_md = "Die Gebühr beträgt 12 Euro."
    svc.update_draft(factory.session, notice, w.editor, data, now)
    svc.submit(factory.session, notice, w.editor, now)
    factory.session.commit()

    login(client, w.approver.email)
    detail = _text(client.get(f"{A}/{notice.number}"))
    # The detail page asks first (GET to the confirmation), it does not release.
    assert f'action="{A}/{notice.number}/freigeben"' in detail
    assert re.search(r'<form method="get"[^>]*/freigeben"', detail)
    assert "Vergleich: Fassung 1 → Fassung 2" in detail
    assert "<del>10</del><ins>12</ins>" in detail.replace(" ", "").replace("\n", "") or (
        "<del>10</del>" in detail and "<ins>12</ins>" in detail
    )
    confirm = client.get(f"{A}/{notice.number}/freigeben", query_string={"comment": "passt"})
    page = _text(confirm)
    assert confirm.status_code == 200
    assert "Was mit der Freigabe geschieht" in page
    assert "ersetzt die veröffentlichte Fassung 1" in page
    assert "<del>10</del>" in page and "<ins>12</ins>" in page
    assert ">passt</textarea>" in page
    assert notice.current_version.number == 1  # nothing happened yet
    assert (
        client.post(f"{A}/{notice.number}/freigeben", data={"comment": "passt"}).status_code == 302
    )
    factory.session.expire_all()
    assert svc.get_notice(factory.session, w.tenant, notice.number).current_version.number == 2


def test_withdrawal_confirmation_restates_and_needs_a_kind(client, public_world, clock, factory):
    w = public_world
    notice = w.notice(title="Zu beendende Satzung")
    factory.session.commit()
    login(client, w.approver.email)
    missing = _text(client.get(f"{A}/{notice.number}/zuruecknehmen"))
    assert "Bitte wählen Sie" in missing
    page = _text(
        client.get(
            f"{A}/{notice.number}/zuruecknehmen",
            query_string={"art": "withdrawn", "reason": "Beschluss aufgehoben"},
        )
    )
    assert "gilt als aufgehoben" in page and ">Beschluss aufgehoben</textarea>" in page
    assert 'name="kind" value="withdrawn"' in page
    factory.session.expire_all()
    assert svc.get_notice(factory.session, w.tenant, notice.number).status == "released"
    # Editors get no confirmation page and no link to it.
    client.get("/logout")
    login(client, w.editor.email)
    assert client.get(f"{A}/{notice.number}/zuruecknehmen?art=withdrawn").status_code == 403
    assert "/zuruecknehmen" not in _text(client.get(f"{A}/{notice.number}"))


def test_word_diff_keeps_the_text_readable():
    pieces = word_diff("Die Gebühr beträgt 10 Euro.", "Die Gebühr beträgt 12 Euro pro Jahr.")
    assert [(p.kind, p.text) for p in pieces] == [
        ("same", "Die Gebühr beträgt "),
        ("del", "10"),
        ("ins", "12"),
        ("same", " "),
        ("del", "Euro."),
        ("ins", "Euro pro Jahr."),
    ]


def test_internet_outage_page_decides_and_the_notice_page_extends(
    client, public_world, clock, factory, now
):
    w = public_world
    notice = w.notice(title="Satzung mit Ausfall")
    outage = InternetOutage(
        tenant_id=w.tenant.id,
        started_at=now + timedelta(minutes=30),
        ended_at=now + timedelta(minutes=50),
        detected_at=now + timedelta(minutes=50),
        notices=notice.number,
    )
    factory.session.add(outage)
    factory.session.commit()
    login(client, w.approver.email)
    detail = _text(client.get(f"{A}/{notice.number}"))
    assert "noch nicht entschieden" in detail and "/admin/musterstadt/ausfaelle-internet" in detail
    listing = _text(client.get("/admin/musterstadt/ausfaelle-internet"))
    assert notice.number in listing
    r = client.post(
        f"/admin/musterstadt/ausfaelle-internet/{outage.id}",
        data={"decision": "extend", "note": "Wartung überzogen"},
    )
    assert r.status_code == 302
    factory.session.expire_all()
    n = svc.get_notice(factory.session, w.tenant, notice.number)
    assert n.effective_posting_end == n.posting_end + timedelta(days=1)
    detail = _text(client.get(f"{A}/{notice.number}"))
    assert f"Verlängert bis {n.effective_posting_end:%d.%m.%Y}" in detail
    assert "noch nicht entschieden" not in detail

    # A manual extension too short for the minimum period is refused with the day.
    bad = client.post(
        f"{A}/{notice.number}/verlaengern",
        data={"new_end": n.effective_posting_end.isoformat(), "extension_reason": "x"},
    )
    assert bad.status_code == 422 and "Das neue Ende muss nach dem" in _text(bad)
    later = n.effective_posting_end + timedelta(days=3)
    ok = client.post(
        f"{A}/{notice.number}/verlaengern",
        data={"new_end": later.isoformat(), "extension_reason": "Bürgerwunsch"},
    )
    assert ok.status_code == 302
    factory.session.expire_all()
    assert svc.get_notice(factory.session, w.tenant, notice.number).effective_posting_end == later
    # Editors may neither decide nor extend.
    client.get("/logout")
    login(client, w.editor.email)
    assert client.get("/admin/musterstadt/ausfaelle-internet").status_code == 403
    assert client.post(f"{A}/{notice.number}/verlaengern", data={}).status_code == 403
