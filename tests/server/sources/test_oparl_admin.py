"""OParl sources in the staff area (issue 17, build 8): add, test, import now, last
run — against the fake OParl server on 127.0.0.1."""

from __future__ import annotations

from sqlalchemy import select

from server.models import Notice, OParlSource

from ...conftest import login
from .test_oparl_import import meeting_json, serve  # noqa: F401


def test_admin_adds_tests_and_imports_a_source(client, factory, session, fake_oparl, meeting_json):  # noqa: F811
    tenant = factory.tenant("musterstadt")
    category = factory.category(tenant, "Sitzungen", min_days=7)
    admin = factory.user(tenant, "admin")
    editor = factory.user(tenant, "editor")
    session.commit()
    url = serve(fake_oparl, [meeting_json])
    login(client, editor.email)
    assert client.get("/admin/musterstadt/ratsinformation").status_code == 403
    client.get("/logout")
    login(client, admin.email)

    bad = client.post("/admin/musterstadt/ratsinformation", data={"url": "ftp://x", "category": ""})
    assert bad.status_code == 422
    assert "Bitte die Adresse der Sitzungsliste" in bad.get_data(as_text=True)
    ok = client.post(
        "/admin/musterstadt/ratsinformation", data={"url": url, "category": str(category.id)}
    )
    assert ok.status_code == 302
    source = session.scalar(select(OParlSource))
    assert source.url == url and source.author_id == admin.id and source.active

    tested = client.post(
        f"/admin/musterstadt/ratsinformation/{source.id}/test", follow_redirects=True
    )
    assert "Die Quelle antwortet: 1 Sitzungen gefunden." in tested.get_data(as_text=True)
    imported = client.post(
        f"/admin/musterstadt/ratsinformation/{source.id}/import", follow_redirects=True
    )
    assert "Import: 1 neu" in imported.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(Notice).where(Notice.tenant_id == tenant.id)).status == "draft"
    page = client.get("/admin/musterstadt/ratsinformation").get_data(as_text=True)
    assert "in Ordnung" in page and "noch nie" not in page

    fake_oparl.add("/body/1/meeting", "{kaputt")
    failed = client.post(
        f"/admin/musterstadt/ratsinformation/{source.id}/import", follow_redirects=True
    ).get_data(as_text=True)
    assert "Import fehlgeschlagen, nichts wurde geändert" in failed
    client.post(f"/admin/musterstadt/ratsinformation/{source.id}/aktiv", data={"active": "0"})
    session.expire_all()
    assert session.get(OParlSource, source.id).active is False
