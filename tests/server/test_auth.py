import pytest
from itsdangerous import BadSignature

from server.models import User

from ..conftest import login
from ..factories import Factory


def test_login_logout_and_wrong_password(client, factory, session):
    tenant = factory.tenant()
    user = factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    r = login(client, "e@test.example", "falsch-falsch-1")
    assert r.status_code == 401 and "falsch" in r.get_data(as_text=True)
    r = login(client, "E@test.example")
    assert r.status_code == 302
    assert client.get("/konto").status_code == 200
    client.post("/logout")
    assert client.get("/konto").status_code == 302
    assert session.get(User, user.id).failed_logins == 0


def test_account_locks_after_repeated_failures(client, factory, session, app_ctx):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    limit = app_ctx.config["AUSHANG_LOGIN_MAX_ATTEMPTS"]
    for _ in range(limit):
        login(client, "e@test.example", "nope-nope-1")
    r = login(client, "e@test.example")  # right password, but locked
    assert r.status_code == 429
    assert "gesperrt" in r.get_data(as_text=True)


def test_password_change_ends_other_sessions(app_ctx, factory, session):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    a, b = app_ctx.test_client(), app_ctx.test_client()
    login(a, "e@test.example")
    login(b, "e@test.example")
    r = a.post(
        "/konto/passwort",
        data={"current_password": "wrong", "new_password": "kurz", "new_password_repeat": "x"},
    )
    assert r.status_code == 422
    r = a.post(
        "/konto/passwort",
        data={
            "current_password": Factory.PASSWORD,
            "new_password": "Ganz-Neu-2026!",
            "new_password_repeat": "Ganz-Neu-2026!",
        },
    )
    assert r.status_code == 302
    assert a.get("/konto").status_code == 200
    assert b.get("/konto").status_code == 302  # the other session ended


def test_open_redirect_after_login_is_refused(client, factory, session):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    r = client.post(
        "/login?next=https://evil.example/",
        data={"email": "e@test.example", "password": Factory.PASSWORD},
    )
    assert r.status_code == 302 and "evil.example" not in r.headers["Location"]


def test_csrf_is_enforced_on_forms(app, database_url):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        with app.app_context():
            r = app.test_client().post("/login", data={"email": "a@b.c", "password": "x"})
            assert r.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_session_signer_is_built_once_and_follows_the_secret_key(app):
    interface = app.session_interface
    first = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is first
    old = app.secret_key
    try:
        app.secret_key = "rotated-secret"
        rotated = interface.get_signing_serializer(app)
        assert rotated is not first
        assert rotated.loads(rotated.dumps({"a": 1})) == {"a": 1}
        with pytest.raises(BadSignature):  # a cookie signed with the old key is refused
            rotated.loads(first.dumps({"a": 1}))
    finally:
        app.secret_key = old
