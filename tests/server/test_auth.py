import re
import statistics
import time
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from itsdangerous import BadSignature

from server import create_app, security
from server.config import load_settings
from server.extensions import db
from server.models import AuditEntry, LimitEvent, User
from server.web.auth import LOCKED_MESSAGE, WRONG_MESSAGE

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
    assert LOCKED_MESSAGE in r.get_data(as_text=True)


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


# --- sessions end on the server --------------------------------------------------------


def test_a_cookie_copied_before_logout_no_longer_signs_in(app_ctx, factory, session):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    victim = app_ctx.test_client()
    assert login(victim, "e@test.example").status_code == 302
    stolen = victim.get_cookie("session").value
    victim.post("/logout")
    assert victim.get("/konto").status_code == 302
    thief = app_ctx.test_client()
    thief.set_cookie("session", stolen)
    r = thief.get("/konto")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_logout_ends_only_this_browsers_session(app_ctx, factory, session):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    laptop, phone = app_ctx.test_client(), app_ctx.test_client()
    login(laptop, "e@test.example")
    login(phone, "e@test.example")
    laptop.post("/logout")
    assert laptop.get("/konto").status_code == 302
    assert phone.get("/konto").status_code == 200


def test_a_session_expires_on_the_server(app, app_ctx, factory, session, now):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    app.config["AUSHANG_CLOCK"] = lambda: now
    try:
        client = app_ctx.test_client()
        login(client, "e@test.example")
        assert client.get("/konto").status_code == 200
        later = now + app.permanent_session_lifetime + timedelta(seconds=1)
        app.config["AUSHANG_CLOCK"] = lambda: later
        assert client.get("/konto").status_code == 302
    finally:
        app.config.pop("AUSHANG_CLOCK", None)


# --- login answers do not tell which addresses have accounts ---------------------------


class CountingHasher(PasswordHasher):
    """The real Argon2 hasher, counting verifications."""

    def __init__(self) -> None:
        super().__init__()
        self.verifications = 0

    def verify(self, hash, password):  # noqa: A002 (argon2's own parameter name)
        self.verifications += 1
        return super().verify(hash, password)


def test_every_login_path_verifies_exactly_one_hash(client, factory, session, monkeypatch):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="known@test.example")
    gone = factory.user(tenant, "editor", email="gone@test.example")
    gone.active = False
    session.commit()
    hasher = CountingHasher()
    monkeypatch.setattr(security, "_hasher", hasher)
    cases = [
        ("nobody@test.example", "Falsch-Falsch-1", 401),
        ("known@test.example", "Falsch-Falsch-1", 401),
        ("gone@test.example", Factory.PASSWORD, 401),
        ("known@test.example", Factory.PASSWORD, 302),
    ]
    for email, password, status in cases:
        before = hasher.verifications
        r = client.post("/login", data={"email": email, "password": password})
        assert r.status_code == status, email
        assert hasher.verifications - before == 1, email
        client.post("/logout")


def test_login_time_of_unknown_and_known_addresses_is_alike(app_ctx, factory, session):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="known@test.example")
    session.commit()
    client = app_ctx.test_client()
    timings: dict[str, list[float]] = {"known@test.example": [], "nobody@test.example": []}
    app_ctx.config["AUSHANG_LOGIN_MAX_ATTEMPTS"] = 100  # measure answers, not the lock
    try:
        for _ in range(9):  # interleaved, so load on the machine hits both alike
            for email, times in timings.items():
                start = time.perf_counter()
                r = client.post("/login", data={"email": email, "password": "Falsch-Falsch-1"})
                times.append(time.perf_counter() - start)
                assert r.status_code == 401
    finally:
        app_ctx.config["AUSHANG_LOGIN_MAX_ATTEMPTS"] = 5
    known, unknown = (statistics.median(t) for t in timings.values())
    assert abs(known - unknown) <= 0.2 * max(known, unknown), (known, unknown)


def test_lock_answer_is_the_same_for_known_and_unknown_accounts(client, factory, session, app_ctx):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="known@test.example")
    session.commit()
    limit = app_ctx.config["AUSHANG_LOGIN_MAX_ATTEMPTS"]
    answers = {}
    for email in ("known@test.example", "nobody@test.example"):
        for _ in range(limit):
            assert login(client, email, "Falsch-Falsch-1").status_code == 401
        r = login(client, email, "Falsch-Falsch-1")
        answers[email] = (r.status_code, r.get_data(as_text=True).replace(email, "…"))
    assert answers["known@test.example"] == answers["nobody@test.example"]
    assert answers["known@test.example"][0] == 429
    assert LOCKED_MESSAGE in answers["known@test.example"][1]
    # The lock is on record for the account that exists.
    assert session.query(AuditEntry).filter_by(action="user.locked").count() == 1


def test_wrong_password_answer_is_the_same_for_known_and_unknown(client, factory, session):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="known@test.example")
    session.commit()
    bodies = set()
    for email in ("known@test.example", "nobody@test.example"):
        r = login(client, email, "Falsch-Falsch-1")
        assert r.status_code == 401
        bodies.add(r.get_data(as_text=True).replace(email, "…"))
    assert len(bodies) == 1 and WRONG_MESSAGE in bodies.pop()


# --- limits: per account and address, per address, failures only ----------------------


def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(app_ctx, factory, session):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    attacker = app_ctx.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    for _ in range(app_ctx.config["AUSHANG_LOGIN_MAX_ATTEMPTS"] + 2):
        login(attacker, "e@test.example", "Falsch-Falsch-1")
    assert login(attacker, "e@test.example").status_code == 429  # locked for the attacker
    user = app_ctx.test_client()
    user.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert login(user, "e@test.example").status_code == 302


def test_successful_logins_are_not_counted(app_ctx, factory, session, monkeypatch):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    monkeypatch.setitem(app_ctx.config, "AUSHANG_LOGIN_ADDRESS_MAX_ATTEMPTS", 2)
    monkeypatch.setitem(app_ctx.config, "AUSHANG_LOGIN_MAX_ATTEMPTS", 2)
    client = app_ctx.test_client()
    for _ in range(4):  # a whole office behind one address signs in all day
        assert login(client, "e@test.example").status_code == 302
        client.post("/logout")
    assert session.query(LimitEvent).count() == 0
    login(client, "e@test.example", "Falsch-Falsch-1")
    assert login(client, "e@test.example").status_code == 302  # a success clears the account
    login(client, "other@test.example", "Falsch-Falsch-1")
    assert login(client, "e@test.example").status_code == 429  # two failures: address full


def _second_app(database_url, tmp_path, **env):
    settings = load_settings(
        {
            "AUSHANG_INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            **env,
        }
    )
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}, settings=settings)


def _dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    app_ctx, database_url, tmp_path, factory, session
):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    proxied = _second_app(database_url, tmp_path, AUSHANG_TRUSTED_PROXIES="1")
    try:
        limit = proxied.config["AUSHANG_LOGIN_ADDRESS_MAX_ATTEMPTS"]
        nginx = {"REMOTE_ADDR": "127.0.0.1"}

        def attempt(forwarded_for: str, email: str, password: str) -> int:
            return (
                proxied.test_client()
                .post(
                    "/login",
                    data={"email": email, "password": password},
                    headers={"X-Forwarded-For": forwarded_for},
                    environ_base=nginx,
                )
                .status_code
            )

        # The attacker sprays accounts; a forged first entry does not help, nginx
        # appends the real address last.
        statuses = [
            attempt(f"10.9.9.{i}, 203.0.113.7", f"u{i}@test.example", "x" * 12)
            for i in range(limit + 1)
        ]
        assert statuses[-1] == 429 and set(statuses[:-1]) == {401}
        # Everybody else behind the same nginx still signs in, and still gets answers.
        assert attempt("198.51.100.20", "e@test.example", Factory.PASSWORD) == 302
        assert attempt("198.51.100.21", "x@test.example", "x" * 12) == 401
    finally:
        _dispose(proxied)


def test_without_trusted_proxies_a_forged_forwarded_for_is_ignored(app_ctx, monkeypatch):
    assert app_ctx.config["AUSHANG_TRUSTED_PROXIES"] == 0
    monkeypatch.setitem(app_ctx.config, "AUSHANG_LOGIN_ADDRESS_MAX_ATTEMPTS", 3)
    client = app_ctx.test_client()
    statuses = [
        client.post(
            "/login",
            data={"email": f"u{i}@test.example", "password": "x" * 12},
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
            environ_base={"REMOTE_ADDR": "203.0.113.7"},
        ).status_code
        for i in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_limits_hold_across_two_app_instances_sharing_one_database(
    app_ctx, database_url, tmp_path, factory, session
):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    other = _second_app(database_url, tmp_path)  # another worker process, as it were
    try:
        limit = app_ctx.config["AUSHANG_LOGIN_MAX_ATTEMPTS"]
        workers = [app_ctx.test_client(), other.test_client()]
        for i in range(limit):
            assert login(workers[i % 2], "e@test.example", "Falsch-Falsch-1").status_code == 401
        for worker in workers:
            assert login(worker, "e@test.example").status_code == 429
    finally:
        _dispose(other)


def test_a_logout_through_one_worker_ends_the_session_in_the_other(
    app_ctx, database_url, tmp_path, factory, session
):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    other = _second_app(database_url, tmp_path)
    try:
        a = app_ctx.test_client()
        login(a, "e@test.example")
        b = other.test_client()
        b.set_cookie("session", a.get_cookie("session").value)
        assert b.get("/konto").status_code == 200
        a.post("/logout")
        assert b.get("/konto").status_code == 302
    finally:
        _dispose(other)


# --- password policy ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        " " * 10,
        " " * 12 + "\t",
        "a" * 12,
        "!!!!!!!!!!",
        "1234567890",
        "Passwort123",
        "password1234",
        "Sommer2026!",
        "QWERTZUIOP",
        "qwertzuiop1",
        "abcdefghij",
        "kurz-1",
        "nurkleinbuchstaben",
    ],
)
def test_weak_passwords_are_refused(password):
    assert security.password_problem(password) is not None


@pytest.mark.parametrize(
    "password", [Factory.PASSWORD, "Ganz-Neu-2026!", "Aushang-Demo-2026", "grün Tür 7 Bode"]
)
def test_reasonable_passwords_pass(password):
    assert security.password_problem(password) is None


def test_password_of_spaces_is_refused_with_a_message_by_the_field(client, factory, session):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    login(client, "e@test.example")
    r = client.post(
        "/konto/passwort",
        data={
            "current_password": Factory.PASSWORD,
            "new_password": " " * 10,
            "new_password_repeat": " " * 10,
        },
    )
    assert r.status_code == 422
    assert "Leerzeichen" in r.get_data(as_text=True)


# --- the ``next`` parameter after login -------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/admin\r\nSet-Cookie: evil=1",
        "/\\evil.example/",
        "/\t/evil.example/",
        "//evil.example/",
        "https://evil.example/",
    ],
)
def test_next_accepts_only_plain_same_site_paths(client, factory, session, target):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    r = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "e@test.example", "password": Factory.PASSWORD},
    )
    assert r.status_code == 302
    location = r.headers["Location"]
    assert "evil" not in location and "\r" not in location and "\n" not in location
    assert "Set-Cookie" not in r.headers or "evil" not in r.headers["Set-Cookie"]


def test_next_keeps_a_same_site_path_with_query(client, factory, session):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    r = client.post(
        "/login",
        query_string={"next": "/admin/musterstadt/?seite=2"},
        data={"email": "e@test.example", "password": Factory.PASSWORD},
    )
    assert r.headers["Location"] == "/admin/musterstadt/?seite=2"


def test_deploy_example_trusts_exactly_its_one_nginx():
    root = Path(__file__).parents[2]
    env = (root / "deploy/server/aushang.env.example").read_text()
    assert re.search(r"^AUSHANG_TRUSTED_PROXIES=1$", env, re.M)
    nginx = (root / "deploy/server/nginx/aushang.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx
    assert "`AUSHANG_TRUSTED_PROXIES`" in (root / "README.md").read_text()
