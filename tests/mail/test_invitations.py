"""Inviting people (issue 18, and issue 11's last finding): a tenant admin cannot tell
whether an address already has an account elsewhere, and a membership begins only
when the invited person accepts it through the link in the mail."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import event, select

from server.extensions import db
from server.models import StaffInvitation, Tenant, User

from ..server.web.conftest import login_as

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
PASSWORD = "Eigenes-Passwort-2026"


class Statements:
    """The SQL a request runs, with literals out, to compare the work of two requests."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __enter__(self) -> Statements:
        event.listen(db.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(db.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append(re.sub(r"\s+", " ", statement))


def _world(factory):
    a = factory.tenant("musterstadt", name="Musterstadt")
    b = factory.tenant("anderstadt", ars="150830000000", name="Anderstadt")
    admin = factory.user(a, "admin", email="admin@musterstadt.example")
    elsewhere = factory.user(b, "editor", email="secret@anderstadt.example", name="Sabine Geheim")
    db.session.commit()
    # Ids: the requests below start from a fresh session, which detaches objects.
    return a.id, b.id, admin, elsewhere.id


def _invite(client, email: str):
    data = {"name": "Neue Person", "email": email, "roles": ["editor"]}
    db.session.remove()  # each request from a cold session, as in production
    with Statements() as sql:
        response = client.post("/admin/musterstadt/benutzer/neu", data=data)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return response, sql.seen, page


def test_the_answer_is_the_same_for_a_new_address_and_one_with_an_account(
    app_ctx, factory, smtp, send
):
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW
    a_id, _, admin, elsewhere_id = _world(factory)
    client = app_ctx.test_client()
    login_as(client, admin)
    fresh, fresh_sql, fresh_page = _invite(client, "neu@musterstadt.example")
    known, known_sql, known_page = _invite(client, "Secret@Anderstadt.example")

    assert fresh.status_code == known.status_code == 302
    assert fresh.headers["Location"] == known.headers["Location"]
    assert fresh.get_data() == known.get_data()
    assert "Einladung versandt an neu@musterstadt.example" in fresh_page
    assert "Einladung versandt an secret@anderstadt.example" in known_page
    # The same statements in the same order: no lookup of the account on either path.
    assert fresh_sql == known_sql
    assert not any("user_account" in s and "lower" in s.lower() for s in fresh_sql)
    # Nothing is granted yet.
    assert a_id not in db.session.get(User, elsewhere_id).tenant_ids()
    assert db.session.scalar(select(User).where(User.email == "neu@musterstadt.example")) is None

    assert send(NOW) == 2
    [new_mail] = smtp.to("neu@musterstadt.example")
    [known_mail] = smtp.to("secret@anderstadt.example")
    assert new_mail["Subject"] == known_mail["Subject"] == "Einladung zu Aushang – Musterstadt"
    new_text = new_mail.get_body(("plain",)).get_content()
    known_text = known_mail.get_body(("plain",)).get_content()
    assert "Legen Sie über den folgenden Link Ihr Passwort fest" in new_text
    assert "Sie haben bereits ein Konto" in known_text and "Sabine Geheim" in known_text


def _link(message) -> str:
    text = message.get_body(("plain",)).get_content()
    [url] = re.findall(r"http://\S+/einladung/\S+", text)
    return urlsplit(url).path


def test_an_existing_account_gains_the_roles_only_by_accepting_once(app_ctx, factory, smtp, send):
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW
    a_id, _, admin, elsewhere_id = _world(factory)
    client = app_ctx.test_client()
    login_as(client, admin)
    _invite(client, "secret@anderstadt.example")
    send(NOW)
    path = _link(smtp.to("secret@anderstadt.example")[0])
    invited = app_ctx.test_client()
    page = invited.get(path)
    assert page.status_code == 200 and "Mitgliedschaft annehmen" in page.get_data(as_text=True)
    assert a_id not in db.session.get(User, elsewhere_id).tenant_ids()  # a GET grants nothing
    assert invited.post(path).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, elsewhere_id).roles_in(a_id) == {"editor"}
    again = invited.post(path)
    assert again.status_code == 409 and "bereits angenommen" in again.get_data(as_text=True)


def test_a_new_address_sets_its_password_and_is_signed_in(app_ctx, factory, smtp, send):
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW
    a_id, _, admin, _ = _world(factory)
    client = app_ctx.test_client()
    login_as(client, admin)
    _invite(client, "neu@musterstadt.example")
    send(NOW)
    path = _link(smtp.to("neu@musterstadt.example")[0])
    invited = app_ctx.test_client()
    weak = invited.post(
        path, data={"name": "N", "new_password": "kurz", "new_password_repeat": "kurz"}
    )
    assert weak.status_code == 422 and 'id="new_password-error"' in weak.get_data(as_text=True)
    done = invited.post(
        path,
        data={"name": "Nora Neu", "new_password": PASSWORD, "new_password_repeat": PASSWORD},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/musterstadt/")
    user = db.session.scalar(select(User).where(User.email == "neu@musterstadt.example"))
    assert user.name == "Nora Neu" and user.roles_in(a_id) == {"editor"}
    assert invited.get("/admin/musterstadt/").status_code == 200
    assert invited.post(path, data={}).status_code == 409


def test_expired_revoked_and_forged_invitation_links(app_ctx, factory, smtp, send):
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW
    _, _, admin, _ = _world(factory)
    client = app_ctx.test_client()
    login_as(client, admin)
    _invite(client, "neu@musterstadt.example")
    _invite(client, "zweite@musterstadt.example")
    send(NOW)
    first = _link(smtp.to("neu@musterstadt.example")[0])
    second = _link(smtp.to("zweite@musterstadt.example")[0])
    assert app_ctx.test_client().get(first[:-3] + "xyz").status_code == 404
    invitation = db.session.scalars(
        select(StaffInvitation).where(StaffInvitation.email == "zweite@musterstadt.example")
    ).one()
    page = client.get("/admin/musterstadt/benutzer/").get_data(as_text=True)
    assert "zweite@musterstadt.example" in page  # listed as open
    client.post(f"/admin/musterstadt/benutzer/einladungen/{invitation.id}/zurueckziehen")
    assert app_ctx.test_client().get(second).status_code == 404
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW + timedelta(days=8)
    assert app_ctx.test_client().get(first).status_code in (409, 410)


def test_an_admin_chosen_password_must_be_changed_at_first_login(app_ctx, factory):
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW
    a_id, _, admin, _ = _world(factory)
    editor = factory.user(db.session.get(Tenant, a_id), "editor", email="erika@musterstadt.example")
    db.session.commit()
    client = app_ctx.test_client()
    login_as(client, admin)
    data = {"password": "Vom-Admin-2026", "password_repeat": "Vom-Admin-2026"}
    assert (
        client.post(f"/admin/musterstadt/benutzer/{editor.id}/passwort", data=data).status_code
        == 302
    )
    erika = app_ctx.test_client()
    assert (
        erika.post("/login", data={"email": editor.email, "password": "Vom-Admin-2026"}).status_code
        == 302
    )
    blocked = erika.get("/admin/musterstadt/")
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/konto")
    assert "Bitte legen Sie jetzt ein eigenes fest." in erika.get("/konto").get_data(as_text=True)
    changed = erika.post(
        "/konto/passwort",
        data={
            "current_password": "Vom-Admin-2026",
            "new_password": PASSWORD,
            "new_password_repeat": PASSWORD,
        },
    )
    assert changed.status_code == 302
    assert erika.get("/admin/musterstadt/").status_code == 200
