"""The notice lifecycle through the staff HTML pages, and bad input through the forms."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from io import BytesIO

from sqlalchemy import select

from server.extensions import db
from server.models import Attachment, AuditEntry, Notice, NoticeVersion
from server.services import notices as svc

from .conftest import PDF_BYTES, blob_files, count, login_as

A = "/admin/musterstadt/bekanntmachungen"


def notice_form(today: date, **overrides) -> dict[str, str]:
    form = {
        "title": "Allgemeinverfügung zur Sperrung der Marktstraße",
        "summary": "Die Marktstraße ist gesperrt.",
        "body_md": "Die Stadt **sperrt** die Marktstraße.\r\n\r\n- vom 1. bis 5.",
        "issuing_office": "Stadt Musterstadt – Ordnungsamt",
        "file_number": "32-17/2026",
        "legal_basis": "§ 45 StVO",
        "signed_on": (today - timedelta(days=1)).isoformat(),
        "signatory_name": "Dr. Maria Muster",
        "signatory_function": "Bürgermeisterin",
        "posting_start": today.isoformat(),
        "posting_end": (today + timedelta(days=14)).isoformat(),
    }
    form.update(overrides)
    return form


def body(r) -> str:
    return r.get_data(as_text=True)


def test_full_flow_editor_submits_approver_releases_correction_keeps_provided_on(
    client, world, session, now
):
    w = world
    today = now.date()
    editor, approver = w.users["editor"], w.users["approver"]

    login_as(client, editor)
    r = client.post(f"{A}/neu", data=notice_form(today, category=str(w.cat.id)))
    assert r.status_code == 302
    notice = session.scalars(select(Notice).order_by(Notice.id.desc())).first()
    number = notice.number
    assert r.headers["Location"].endswith(f"{A}/{number}")
    page = body(client.get(f"{A}/{number}"))
    assert "Allgemeinverfügung zur Sperrung" in page and "<strong>sperrt</strong>" in page

    # The body is stored with plain newlines, the window as local dates.
    v1 = notice.versions[0]
    assert "\r" not in v1.body_md and notice.posting_end == today + timedelta(days=14)

    assert client.post(f"{A}/{number}/vorlegen").status_code == 302
    db.session.expire_all()
    assert notice.working_version.status == "submitted"

    # The editor (editor role only) may not release.
    r = client.post(f"{A}/{number}/freigeben", data={"comment": "selbst"})
    assert r.status_code == 403

    # Someone with both roles who wrote the draft may not release it either (four eyes).
    both = svc.create_notice(
        session, w.a, w.users["admin"], svc.input_from_version(notice, v1), now
    )
    svc.submit(session, both, w.users["admin"], now)
    session.commit()
    login_as(client, w.users["admin"])
    page = body(client.get(f"{A}/{both.number}"))
    assert "Vier-Augen-Prinzip" in page
    r = client.post(f"{A}/{both.number}/freigeben", data={"comment": ""})
    assert r.status_code == 403 and "Vier-Augen-Prinzip" in body(r)

    # The approver releases; the audit log names them.
    login_as(client, approver)
    r = client.post(f"{A}/{number}/freigeben", data={"comment": "Geprüft."})
    assert r.status_code == 302
    db.session.expire_all()
    row = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "notice.release", AuditEntry.object_id == str(v1.id)
        )
    ).one()
    assert row.actor_id == approver.id and "Geprüft." in row.details
    provided_on = notice.provided_on
    assert provided_on == today and v1.content_hash

    page = body(client.get(f"{A}/{number}"))
    assert v1.content_hash in page and "Frank Frei" in page
    assert "Freigegeben" in page  # audit row on the page

    # A released version cannot be changed: 409 for the form and for a save.
    login_as(client, editor)
    assert client.get(f"{A}/{number}/bearbeiten").status_code == 409
    r = client.post(f"{A}/{number}/bearbeiten", data=notice_form(today, title="Anders"))
    assert r.status_code == 409 and "freigegeben" in body(r)
    db.session.expire_all()
    assert v1.title.startswith("Allgemeinverfügung")

    # A correction needs a note; then it is version 2, linked to version 1.
    r = client.post(f"{A}/{number}/berichtigen", data={"note": ""})
    assert r.status_code == 422 and 'id="correction_note_new-error"' in body(r)
    assert len(notice.versions) == 1
    later = client.post(f"{A}/{number}/berichtigen", data={"note": "Tippfehler im Titel"})
    assert later.status_code == 302
    db.session.expire_all()
    assert [v.number for v in notice.versions] == [1, 2]
    form_page = body(client.get(f"{A}/{number}/bearbeiten"))
    assert "Berichtigung bearbeiten (Fassung 2)" in form_page
    assert 'name="posting_start"' not in form_page  # the window is fixed
    r = client.post(
        f"{A}/{number}/bearbeiten",
        data=notice_form(
            today,
            title="Allgemeinverfügung zur Sperrung der Marktstraße (berichtigt)",
            correction_note="Tippfehler im Titel",
            posting_end="2020-01-01",  # ignored: a correction keeps the window
        ),
    )
    assert r.status_code == 302
    assert client.post(f"{A}/{number}/vorlegen").status_code == 302
    login_as(client, approver)
    assert client.post(f"{A}/{number}/freigeben", data={"comment": "ok"}).status_code == 302
    db.session.expire_all()
    v2 = notice.versions[1]
    assert notice.current_version_id == v2.id and v2.corrects_version_id == v1.id
    assert notice.provided_on == provided_on
    assert notice.posting_end == today + timedelta(days=14)
    assert v1.status == "released" and v2.content_hash != v1.content_hash
    assert client.get(f"{A}/{number}/fassungen/1").status_code == 200
    assert "(berichtigt)" in body(client.get(f"{A}/{number}/fassungen/2"))


def test_hint_text_and_marking_it_posted(client, world, session, app, now):
    w = world
    notice = w.released  # category binding: internet → hint required
    assert notice.hint_required
    login_as(client, w.users["editor"])
    page = body(client.get(f"{A}/{notice.number}"))
    url = f"{app.config['AUSHANG_BASE_URL']}/musterstadt/bekanntmachungen/{notice.number}"
    assert "Nachrichtlicher Hinweis: Stadt Musterstadt hat die Bekanntmachung" in page
    assert url in page
    # Before the Bereitstellungstag: refused at the field; nothing stored.
    before = (notice.provided_on - timedelta(days=1)).isoformat()
    r = client.post(f"{A}/{notice.number}/hinweis", data={"posted_on": before})
    assert r.status_code == 422 and 'id="hint_posted_on-error"' in body(r)
    r = client.post(f"{A}/{notice.number}/hinweis", data={"posted_on": "kein Datum"})
    assert r.status_code == 422 and "gültiges Datum" in body(r)
    db.session.expire_all()
    assert notice.hint_posted_on is None
    r = client.post(
        f"{A}/{notice.number}/hinweis",
        data={"posted_on": notice.provided_on.isoformat(), "note": "Tafel Rathaus"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert notice.hint_posted_on == notice.provided_on
    assert "Ausgehängt am" in body(client.get(f"{A}/{notice.number}"))


def test_send_back_withdraw_and_delete(client, world, session, now):
    w = world
    login_as(client, w.users["editor"])
    assert client.post(f"{A}/{w.draft.number}/vorlegen").status_code == 302
    login_as(client, w.users["approver"])
    r = client.post(f"{A}/{w.draft.number}/zurueckgeben", data={"comment": "  "})
    assert r.status_code == 422
    assert 'id="send_back_comment"' in body(r) and 'aria-invalid="true"' in body(r)
    r = client.post(f"{A}/{w.draft.number}/zurueckgeben", data={"comment": "Az. fehlt"})
    assert r.status_code == 302
    db.session.expire_all()
    assert w.draft.status == "draft"

    # Withdrawal needs a kind and a reason.
    r = client.post(f"{A}/{w.released.number}/zuruecknehmen", data={"kind": "withdrawn"})
    assert r.status_code == 422 and 'id="withdraw_reason-error"' in body(r)
    r = client.post(f"{A}/{w.released.number}/zuruecknehmen", data={"reason": "Fehler"})
    assert r.status_code == 422 and 'id="withdraw_kind-error"' in body(r)
    r = client.post(
        f"{A}/{w.released.number}/zuruecknehmen",
        data={"kind": "ended_early", "reason": "Baustelle beendet"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert w.released.status == "withdrawn" and w.released.withdrawal_kind == "ended_early"
    assert "Baustelle beendet" in body(client.get(f"{A}/{w.released.number}"))

    # A released notice can never be deleted; a draft can.
    login_as(client, w.users["editor"])
    r = client.post(f"{A}/{w.released.number}/loeschen")
    assert r.status_code == 409
    number = w.draft.number
    assert client.post(f"{A}/{number}/loeschen").status_code == 302
    assert client.get(f"{A}/{number}").status_code == 404


def test_list_filters(client, world, now):
    w = world
    login_as(client, w.users["editor"])
    page = body(client.get(f"{A}/"))
    assert "Entwurf A" in page and "Satzung über die Benutzung" in page
    page = body(client.get(f"{A}/?phase=draft"))
    assert "Entwurf A" in page and "Satzung über die Benutzung" not in page
    page = body(client.get(f"{A}/?phase=in_aushang"))
    assert "Entwurf A" not in page and "Satzung über die Benutzung" in page
    page = body(client.get(f"{A}/?q=entwurf%20a"))
    assert "Entwurf A" in page and "Satzung über die Benutzung" not in page
    page = body(client.get(f"{A}/?q=%25"))  # a LIKE wildcard is searched literally
    assert "Keine Bekanntmachungen gefunden." in page
    assert client.get(f"{A}/?phase=unsinn&kategorie=abc&seite=-4").status_code == 200


# --- bad input ------------------------------------------------------------------------


def test_missing_fields_are_named_at_each_field_and_nothing_is_stored(client, world):
    w = world
    login_as(client, w.users["editor"])
    before = (count(Notice), count(NoticeVersion), count(AuditEntry))
    r = client.post(f"{A}/neu", data={"title": "  ", "signed_on": "31.02.2026"})
    assert r.status_code == 422
    page = body(r)
    assert 'href="#title"' in page and 'href="#category"' in page
    assert 'id="title-error"' in page and 'id="category-error"' in page
    assert 'id="signed_on-error"' in page and "gültiges Datum" in page
    assert 'aria-invalid="true"' in page
    assert (count(Notice), count(NoticeVersion), count(AuditEntry)) == before

    # Submitting an incomplete draft lists every missing field by name (L2).
    draft = svc.create_notice(
        db.session,
        w.a,
        w.users["editor"],
        svc.NoticeInput(title="Nur Titel", category_id=w.cat.id),
        w.draft.created_at,
    )
    db.session.commit()
    before = count(AuditEntry)
    r = client.post(f"{A}/{draft.number}/vorlegen")
    assert r.status_code == 422
    for label in ("Aktenzeichen", "Erlassende Stelle", "Datum der Unterzeichnung", "Aushang bis"):
        assert label in body(r)
    db.session.expire_all()
    assert draft.working_version.status == "draft" and count(AuditEntry) == before


def test_window_errors_keep_the_entered_values(client, world, now):
    w = world
    today = now.date()
    login_as(client, w.users["editor"])
    before = count(Notice)
    form = notice_form(
        today,
        category=str(w.cat.id),
        posting_start=today.isoformat(),
        posting_end=(today - timedelta(days=2)).isoformat(),
    )
    r = client.post(f"{A}/neu", data=form)
    assert r.status_code == 422
    page = body(r)
    assert "Das Ende darf nicht vor dem Beginn liegen." in page
    assert 'id="posting_end" name="posting_end" type="date"' in page
    assert f'value="{form["posting_end"]}"' in page and "Allgemeinverfügung zur Sperrung" in page

    short = notice_form(
        today,
        category=str(w.cat.id),  # 7 days minimum
        posting_end=(today + timedelta(days=7)).isoformat(),
    )
    r = client.post(f"{A}/neu", data=short)
    assert r.status_code == 422
    assert "Mindestfrist 7 Tage" in body(r)
    assert f"frühestens bis {(today + timedelta(days=8)):%d.%m.%Y}" in body(r)
    assert count(Notice) == before

    # Editing an existing draft with a bad window changes nothing.
    r = client.post(
        f"{A}/{w.draft.number}/bearbeiten",
        data=notice_form(today, title="Neu", category=str(w.cat.id), posting_end="1999-01-01"),
    )
    assert r.status_code == 422
    db.session.expire_all()
    assert w.draft.working_version.title == "Entwurf A"


def test_html_and_script_in_markdown_are_neutralised(client, world, session, now):
    w = world
    login_as(client, w.users["editor"])
    evil = (
        "Hallo <script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[klick](javascript:alert(2)) <iframe src='https://evil.example'></iframe>"
    )
    r = client.post(
        f"{A}/neu",
        data=notice_form(now.date(), category=str(w.cat.id), body_md=evil, title="<b>Titel</b>"),
    )
    assert r.status_code == 302
    notice = session.scalars(select(Notice).order_by(Notice.id.desc())).first()
    page = body(client.get(f"{A}/{notice.number}"))
    # Raw HTML stays visible text; no element or handler comes through.
    for bad in ("<script>alert", "<img", 'href="javascript:', "<iframe", "<b>Titel</b>"):
        assert bad not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;Titel&lt;/b&gt;" in page
    assert "<script" not in notice.versions[0].body_html


def test_upload_checks_content_size_and_leaves_nothing_behind(client, world, app):
    w = world
    login_as(client, w.users["editor"])
    url = f"{A}/{w.draft.number}/anlagen"
    files_before = blob_files(app)
    rows_before = count(Attachment)

    exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
    r = client.post(url, data={"attachment": (BytesIO(exe), "bescheid.pdf")})
    assert r.status_code == 422
    assert "kein PDF-, PNG- oder JPEG-Dokument" in body(r) and 'id="attachment-error"' in body(r)

    limit = app.config["AUSHANG_UPLOAD_MAX_BYTES"]
    big = b"%PDF-1.4\n" + b"0" * limit  # over the per-file limit, under the request limit
    r = client.post(url, data={"attachment": (BytesIO(big), "gross.pdf")})
    assert r.status_code == 422 and "größer als 2 MB" in body(r)

    huge = b"%PDF-1.4\n" + b"0" * app.config["MAX_CONTENT_LENGTH"]  # over the request limit
    r = client.post(url, data={"attachment": (BytesIO(huge), "riesig.pdf")})
    assert r.status_code == 413
    assert "Die Datei ist zu groß. Erlaubt sind höchstens 2 MB je Datei." in body(r)

    r = client.post(url, data={})
    assert r.status_code == 422 and "Bitte eine Datei auswählen." in body(r)

    assert count(Attachment) == rows_before
    assert blob_files(app) == files_before

    # The progress-bar path asks for JSON and gets German problem details.
    r = client.post(
        url,
        data={"attachment": (BytesIO(exe), "bescheid.pdf")},
        headers={"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"},
    )
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert "Erlaubt sind PDF, PNG und JPEG" in r.get_json()["errors"]["attachment"]
    r = client.post(
        url,
        data={"attachment": (BytesIO(huge), "riesig.pdf")},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 413 and "höchstens 2 MB" in r.get_json()["detail"]


def test_upload_stores_by_hash_and_download_matches(client, world, app):
    w = world
    login_as(client, w.users["editor"])
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    r = client.post(
        f"{A}/{w.draft.number}/anlagen",
        data={"attachment": (BytesIO(png), "../../karte.png"), "attachment_title": "Karte"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 200
    assert r.get_json()["redirect"].endswith(f"{A}/{w.draft.number}#anlagen")
    att = db.session.scalars(select(Attachment).where(Attachment.filename == "karte.png")).one()
    assert att.media_type == "image/png" and att.sha256 == hashlib.sha256(png).hexdigest()
    page = body(client.get(f"{A}/{w.draft.number}"))
    assert "Karte" in page and att.sha256 in page and "upload.js" in page
    r = client.get(f"{A}/{w.draft.number}/anlagen/{att.id}")
    assert r.data == png and r.mimetype == "image/png"

    # Removing it, then the same id again → 404.
    remove = f"{A}/{w.draft.number}/anlagen/{att.id}/entfernen"
    assert client.post(remove).status_code == 302
    assert client.post(remove).status_code == 404


def test_upload_to_a_submitted_or_released_version_is_refused_before_storing(client, world, app):
    w = world
    login_as(client, w.users["editor"])
    files_before = blob_files(app)
    new_pdf = PDF_BYTES + b"% new\n"
    r = client.post(
        f"{A}/{w.released.number}/anlagen", data={"attachment": (BytesIO(new_pdf), "x.pdf")}
    )
    assert r.status_code == 409
    assert blob_files(app) == files_before


def test_problem_json_for_domain_errors(client, world):
    w = world
    login_as(client, w.users["editor"])
    r = client.post(
        f"{A}/{w.released.number}/bearbeiten",
        data={"title": "x"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 409
    assert "freigegeben" in json.loads(r.data)["detail"]


def test_csrf_token_is_required(app, world):
    w = world
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        login_as(client, w.users["editor"])
        before = count(Notice)
        r = client.post(f"{A}/neu", data={"title": "Ohne Token", "category": str(w.cat.id)})
        assert r.status_code == 400
        assert count(Notice) == before
        # With the token from the form page the same post goes through.
        page = body(client.get(f"{A}/neu"))
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        r = client.post(
            f"{A}/neu",
            data={"title": "Mit Token", "category": str(w.cat.id), "csrf_token": token},
        )
        assert r.status_code == 302 and count(Notice) == before + 1
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
