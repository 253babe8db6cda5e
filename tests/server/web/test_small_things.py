"""Small things that add up (issue 17, build 8): the audit log in German with filters,
German role names, error pages that lead back, no links a role cannot follow."""

from __future__ import annotations

from datetime import timedelta

from ...conftest import login


def test_audit_log_reads_german_and_filters(client, public_world, clock, factory, now):
    w = public_world
    admin = factory.user(w.tenant, "admin", name="Anna Admin")
    w.notice(title="Satzung im Protokoll")
    factory.user(w.tenant, "editor", "approver", name="Rolf Rollen")
    factory.session.commit()
    login(client, admin.email)
    page = client.get("/admin/musterstadt/protokoll").get_data(as_text=True)
    assert "Freigegeben" in page and "notice.release" not in page
    assert "Fassung" in page and "notice_version" not in page  # object types in German
    assert "Redaktion, Freigabe" in page or "Freigabe, Redaktion" in page  # roles in German
    assert ">editor<" not in page
    only_notices = client.get("/admin/musterstadt/protokoll?bereich=bekanntmachungen")
    text = only_notices.get_data(as_text=True)
    assert "Freigegeben" in text and "Konto angelegt" not in text
    by_text = client.get("/admin/musterstadt/protokoll?text=Satzung+im+Protokoll").get_data(
        as_text=True
    )
    assert "Bekanntmachung angelegt" in by_text and "Konto angelegt" not in by_text
    later = (now + timedelta(days=3)).date().isoformat()
    empty = client.get(f"/admin/musterstadt/protokoll?von={later}").get_data(as_text=True)
    assert "0 Einträge" in empty
    bad = client.get("/admin/musterstadt/protokoll?von=gestern")
    assert bad.status_code == 200 and "Bitte prüfen Sie Ihre Eingaben" in bad.get_data(as_text=True)


def test_error_page_leads_back(client, public_world, clock, factory):
    factory.session.commit()
    login(client, public_world.editor.email)
    came_from = "http://localhost/admin/musterstadt/bekanntmachungen/"
    page = client.get("/admin/musterstadt/benutzer/", headers={"Referer": came_from})
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert f'href="{came_from}"' in text and "Zurück zur vorigen Seite" in text
    assert 'href="/admin/musterstadt/"' in text
    foreign = client.get(
        "/admin/musterstadt/benutzer/", headers={"Referer": "https://evil.example/"}
    ).get_data(as_text=True)
    assert "evil.example" not in foreign
    missing = client.get("/musterstadt/bekanntmachungen/9999-9999").get_data(as_text=True)
    assert 'href="/musterstadt/"' in missing
