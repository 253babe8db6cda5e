"""Tenant administration through the staff pages: users, categories, publication
channels, settings and the audit log. Bad input → German message at the field, 4xx,
nothing stored."""

from __future__ import annotations

from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, Category, Membership, PublicationChannel, User

from ...conftest import login
from ...factories import Factory
from .conftest import count, login_as

T = "/admin/musterstadt"
NEW_PASSWORD = "Neues-Passwort-2026"


def body(r) -> str:
    return r.get_data(as_text=True)


# --- users ---------------------------------------------------------------------------


def test_invite_person_with_validation(client, world):
    """Creating an account is an invitation now (issue 18); the full flow, mails
    included, is in tests/mail/test_invitations.py."""
    from server.models import StaffInvitation

    w = world
    login_as(client, w.users["admin"])
    assert "Erika Redlich" in body(client.get(f"{T}/benutzer/"))
    before = (count(User), count(Membership), count(StaffInvitation))
    r = client.post(f"{T}/benutzer/neu", data={"name": "", "email": "kein-at"})
    assert r.status_code == 422
    page = body(r)
    for fid in ("name", "email", "roles"):
        assert f'id="{fid}-error"' in page, fid
    assert "Bitte mindestens eine Rolle wählen." in page
    r = client.post(
        f"{T}/benutzer/neu",
        data={"name": "Neue Person", "email": "neu@a.example", "roles": ["nonsense"]},
    )
    assert r.status_code == 422 and "Unbekannte Rolle" in body(r)
    assert (count(User), count(Membership), count(StaffInvitation)) == before

    r = client.post(
        f"{T}/benutzer/neu",
        data={"name": "Neue Person", "email": "Neu@A.example", "roles": ["editor", "approver"]},
    )
    assert r.status_code == 302
    invitation = db.session.scalars(select(StaffInvitation)).one()
    assert invitation.email == "neu@a.example"
    assert invitation.role_list() == ["approver", "editor"]
    assert count(User) == before[0]  # the account comes with the accepted invitation
    assert "neu@a.example" in body(client.get(f"{T}/benutzer/"))


def test_roles_activation_and_password_reset(client, world, app):
    w = world
    editor = w.users["editor"]
    login_as(client, w.users["admin"])
    assert client.get(f"{T}/benutzer/{editor.id}").status_code == 200

    r = client.post(f"{T}/benutzer/{editor.id}/rollen", data={})
    assert r.status_code == 422 and 'id="roles-error"' in body(r)
    assert (
        client.post(
            f"{T}/benutzer/{editor.id}/rollen", data={"roles": ["editor", "approver"]}
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert editor.roles_in(w.a.id) == {"editor", "approver"}

    # A tenant admin cannot drop their own admin role or lock themselves out.
    me = w.users["admin"]
    assert (
        client.post(f"{T}/benutzer/{me.id}/rollen", data={"roles": ["editor"]}).status_code == 409
    )
    assert client.post(f"{T}/benutzer/{me.id}/aktiv", data={"active": "0"}).status_code == 409

    # Deactivation ends the editor's session and blocks login; reactivation restores it.
    editor_client = app.test_client()
    login_as(editor_client, editor)
    assert editor_client.get(f"{T}/").status_code == 200
    assert client.post(f"{T}/benutzer/{editor.id}/aktiv", data={"active": "0"}).status_code == 302
    assert editor_client.get(f"{T}/").status_code == 302
    assert login(app.test_client(), editor.email).status_code == 401
    assert "deaktiviert" in body(client.get(f"{T}/benutzer/"))
    assert client.post(f"{T}/benutzer/{editor.id}/aktiv", data={"active": "1"}).status_code == 302
    assert login(app.test_client(), editor.email).status_code == 302

    # Password reset: validated, then the old password stops working.
    r = client.post(
        f"{T}/benutzer/{editor.id}/passwort", data={"password": "abc", "password_repeat": "abc"}
    )
    assert r.status_code == 422 and 'id="password-error"' in body(r)
    r = client.post(
        f"{T}/benutzer/{editor.id}/passwort",
        data={"password": NEW_PASSWORD, "password_repeat": "nicht gleich 1"},
    )
    assert r.status_code == 422 and 'id="password_repeat-error"' in body(r)
    assert login(app.test_client(), editor.email).status_code == 302  # unchanged
    r = client.post(
        f"{T}/benutzer/{editor.id}/passwort",
        data={"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD},
    )
    assert r.status_code == 302
    assert login(app.test_client(), editor.email, Factory.PASSWORD).status_code == 401
    assert login(app.test_client(), editor.email, NEW_PASSWORD).status_code == 302
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == str(editor.id))
    ).all()
    assert {"user.roles", "user.deactivate", "user.activate", "user.password_reset"} <= set(actions)


def test_tenant_admin_cannot_take_over_shared_or_system_accounts(client, world, factory, session):
    w = world
    shared = factory.user(w.a, "editor", email="shared@x.example")
    from server.models import Membership as M

    shared.memberships.append(M(tenant_id=w.b.id, role="editor"))
    session.commit()
    login_as(client, w.users["admin"])
    page = body(client.get(f"{T}/benutzer/{shared.id}"))
    assert "nur die Systemadministration" in page
    r = client.post(
        f"{T}/benutzer/{shared.id}/passwort",
        data={"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD},
    )
    assert r.status_code == 403
    assert client.post(f"{T}/benutzer/{shared.id}/aktiv", data={"active": "0"}).status_code == 403
    db.session.expire_all()
    assert shared.active
    # The system admin may.
    login_as(client, w.users["system"])
    assert client.post(f"{T}/benutzer/{shared.id}/aktiv", data={"active": "0"}).status_code == 302


# --- categories and channels ------------------------------------------------------------


def test_categories(client, world):
    w = world
    login_as(client, w.users["admin"])
    internet = next(c for c in w.a.channels if c.kind == "internet")
    before = (count(Category), count(AuditEntry))
    for data, fid in [
        ({"name": "", "min_days": "7"}, "name"),
        ({"name": "Bauleitplanung", "min_days": "-1"}, "min_days"),
        ({"name": "Bauleitplanung", "min_days": "dreißig"}, "min_days"),
        (
            {"name": "Bauleitplanung", "min_days": "30", "binding_channels": ["x"]},
            "binding_channels",
        ),
        (
            {"name": "Bauleitplanung", "min_days": "30", "binding_channels": [str(w.board_b.id)]},
            "binding_channels",
        ),
        ({"name": "satzungen", "min_days": "7"}, "name"),  # exists already
    ]:
        r = client.post(f"{T}/kategorien/", data=data)
        assert r.status_code == 422, data
        assert f'id="{fid}-error"' in body(r), data
    assert (count(Category), count(AuditEntry)) == before

    r = client.post(
        f"{T}/kategorien/",
        data={
            "name": "Bauleitplanung & Umwelt",
            "min_days": "30",
            "description": "Bebauungspläne",
            "binding_channels": [str(internet.id), str(w.board.id)],
        },
    )
    assert r.status_code == 302
    cat = db.session.scalars(select(Category).where(Category.name.like("Bauleit%"))).one()
    assert cat.slug == "bauleitplanung-umwelt" and cat.min_days == 30
    assert {c.kind for c in cat.binding_channels} == {"internet", "board"}

    r = client.post(f"{T}/kategorien/{cat.id}", data={"name": "Bauleitplanung", "min_days": "31"})
    assert r.status_code == 302
    db.session.expire_all()
    assert cat.min_days == 31 and cat.binding_channels == [] and cat.slug == "bauleitplanung-umwelt"
    page = body(client.get(f"{T}/kategorien/"))
    assert "Bauleitplanung" in page and "31 Tage" in page


def test_channels(client, world):
    w = world
    login_as(client, w.users["admin"])
    before = count(PublicationChannel)
    for data, fid in [
        ({"kind": "internet", "name": "Website", "location": "www.ohne-schema.de"}, "location"),
        ({"kind": "board", "name": "Tafel", "location": ""}, "location"),
        ({"kind": "fax", "name": "Fax", "location": ""}, "kind"),
        ({"kind": "amtsblatt", "name": "", "location": ""}, "name"),
    ]:
        r = client.post(f"{T}/bekanntmachungsformen/", data=data)
        assert r.status_code == 422 and f'id="{fid}-error"' in body(r), data
    assert count(PublicationChannel) == before
    r = client.post(
        f"{T}/bekanntmachungsformen/",
        data={"kind": "amtsblatt", "name": "Amtsblatt Musterstadt", "location": "Amtsblatt"},
    )
    assert r.status_code == 302
    ch = db.session.scalars(
        select(PublicationChannel).where(PublicationChannel.kind == "amtsblatt")
    ).one()
    r = client.post(
        f"{T}/bekanntmachungsformen/{ch.id}",
        data={"kind": "amtsblatt", "name": "Amtsblatt der Stadt", "location": ""},
    )
    assert r.status_code == 302
    assert "Amtsblatt der Stadt" in body(client.get(f"{T}/bekanntmachungsformen/"))

    # The internet channel is binding for a category: it cannot be deleted.
    internet = next(c for c in w.a.channels if c.kind == "internet")
    r = client.post(f"{T}/bekanntmachungsformen/{internet.id}/loeschen")
    assert r.status_code == 409 and "verbindlich" in body(r)
    assert client.post(f"{T}/bekanntmachungsformen/{ch.id}/loeschen").status_code == 302
    assert count(PublicationChannel) == before


# --- settings --------------------------------------------------------------------------


def settings_form(w, **overrides) -> dict[str, str]:
    form = {
        "name": "Stadt Musterstadt",
        "ars": "150855555555",
        "timezone": "Europe/Berlin",
        "website_url": "https://www.musterstadt.example",
        "contact_email": "info@musterstadt.example",
        "contact_phone": "03491 123-0",
        "address": "Markt 1\n06886 Musterstadt",
        "hauptsatzung_ref": "§ 16 Hauptsatzung",
        "hint_channel_id": str(w.board.id),
        "hint_due_days": "3",
        "accessibility_statement": "Diese Seite ist weitgehend barrierefrei.",
    }
    form.update(overrides)
    return form


def test_settings_validation(client, world):
    w = world
    login_as(client, w.users["admin"])
    assert client.get(f"{T}/einstellungen").status_code == 200
    before = count(AuditEntry)
    for overrides, fid, text in [
        ({"ars": "15085555555"}, "ars", "Genau 12 Ziffern"),  # 11 digits
        ({"ars": "1508555555555"}, "ars", "Genau 12 Ziffern"),  # 13 digits
        ({"ars": "99085555555a"}, "ars", "Genau 12 Ziffern"),
        ({"ars": "990855555555"}, "ars", "Länderschlüssel"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Unbekannte Zeitzone"),
        ({"website_url": "javascript:alert(1)"}, "website_url", "http"),
        ({"contact_email": "kein-at"}, "contact_email", "E-Mail"),
        ({"hint_due_days": "-2"}, "hint_due_days", "Zwischen 0 und 60"),
        ({"hint_due_days": "viel"}, "hint_due_days", "ganze Zahl"),
        ({"hint_channel_id": str(w.board_b.id)}, "hint_channel_id", "dieser Kommune"),
        ({"name": " "}, "name", "Namen"),
    ]:
        r = client.post(f"{T}/einstellungen", data=settings_form(w, **overrides))
        assert r.status_code == 422, overrides
        page = body(r)
        assert f'id="{fid}-error"' in page and text in page, overrides
        assert f'href="#{fid}"' in page
    db.session.expire_all()
    assert w.a.ars == "150855555555" and count(AuditEntry) == before

    r = client.post(f"{T}/einstellungen", data=settings_form(w, ars="15 08 5555 5556"))
    assert r.status_code == 302
    db.session.expire_all()
    assert w.a.ars == "150855555556" and w.a.hint_channel_id == w.board.id
    assert w.a.address == "Markt 1\n06886 Musterstadt"
    row = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "tenant.settings")).one()
    assert "ars" in row.details


def test_audit_log_is_paged_and_tenant_only(client, world, session, now):
    from server.services import audit

    w = world
    for i in range(60):
        audit.record(
            session,
            now=now,
            action="category.update",
            object_type="category",
            object_id=w.cat.id,
            actor=w.users["admin"],
            tenant_id=w.a.id,
            details={"i": i},
        )
    session.commit()
    login_as(client, w.users["admin"])
    first = body(client.get(f"{T}/protokoll"))
    assert "Kategorie geändert" in first and "Seite 1 von" in first
    assert 'rel="next"' in first
    last = body(client.get(f"{T}/protokoll?seite=999"))
    assert "Kommune angelegt" in last  # the oldest row of this tenant
    assert "anderstadt" not in last and "all@b.example" not in last
    assert client.get(f"{T}/protokoll?seite=abc").status_code == 200
