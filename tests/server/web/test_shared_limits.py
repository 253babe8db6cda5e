"""The shared (database) limiter outside the login form: player enrolment and the staff
pairing form, keyed on the real client address behind the trusted proxies."""

from __future__ import annotations

from server import create_app
from server.config import load_settings
from server.extensions import db
from server.models import Display
from server.services.displays import enrolment
from server.web.admin.display_ops import PAIRING_LIMIT
from server.web.player_api import ENROL_LIMIT

from .conftest import login_as

API = "/api/player/v1/"


def _app(database_url, tmp_path, **env):
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


def test_bad_provisioning_tokens_lock_out_only_their_own_client(
    app_ctx, database_url, tmp_path, factory, session, now
):
    tenant = factory.tenant()
    admin = factory.user(tenant, "admin")
    _, good = enrolment.create_provisioning_token(session, tenant, admin, "Rollout", now)
    session.commit()
    proxied = _app(database_url, tmp_path, AUSHANG_TRUSTED_PROXIES="1")
    other_worker = _app(database_url, tmp_path / "w2", AUSHANG_TRUSTED_PROXIES="1")
    try:
        for flask_app in (proxied, other_worker):
            flask_app.config["AUSHANG_CLOCK"] = lambda: now

        def enrol(app, client_ip: str, token: str) -> int:
            return (
                app.test_client()
                .post(
                    API + "enroll",
                    json={"player_version": "0.1.0", "provisioning_token": token},
                    headers={"X-Forwarded-For": client_ip},
                    environ_base={"REMOTE_ADDR": "127.0.0.1"},  # all through one nginx
                )
                .status_code
            )

        statuses = [
            enrol((proxied, other_worker)[i % 2], "203.0.113.7", f"prov-wrong-{i:04d}")
            for i in range(ENROL_LIMIT.max_events)
        ]
        assert set(statuses) == {403}
        # Used up across both workers: even the right token is refused for this client…
        assert enrol(proxied, "203.0.113.7", good) == 429
        assert enrol(other_worker, "203.0.113.7", good) == 429
        # …while a new display elsewhere behind the same proxy enrols.
        assert enrol(other_worker, "198.51.100.30", good) == 201
    finally:
        _dispose(proxied)
        _dispose(other_worker)


def test_rate_limited_enrolment_answers_problem_json(client, session, now, app_ctx):
    app_ctx.config["AUSHANG_CLOCK"] = lambda: now
    for _ in range(ENROL_LIMIT.max_events):
        assert client.post(API + "enroll", json={"player_version": "0.1.0"}).status_code == 201
    r = client.post(API + "enroll", json={"player_version": "0.1.0"})
    assert r.status_code == 429
    assert r.mimetype == "application/problem+json"


def test_staff_pairing_codes_are_rate_limited(app_ctx, factory, session, now):
    tenant = factory.tenant()
    admin = factory.user(tenant, "admin")
    colleague = factory.user(tenant, "admin")
    display = Display(tenant_id=tenant.id, name="Rathaus Foyer", created_at=now)
    session.add(display)
    pairing, _ = enrolment.start_pairing(
        session, player_version="0.1.0", hostname="pi", remote_addr="192.0.2.9", now=now
    )
    session.commit()
    url = f"/admin/{tenant.slug}/anzeigen/koppeln"
    guesser = app_ctx.test_client()
    login_as(guesser, admin)
    for i in range(PAIRING_LIMIT.max_events):
        r = guesser.post(url, data={"code": f"AAA{i:03d}", "display_id": str(display.id)})
        assert r.status_code == 422
    r = guesser.post(url, data={"code": pairing.code, "display_id": str(display.id)})
    assert r.status_code == 429
    assert "Zu viele ungültige Codes" in r.get_data(as_text=True)
    assert session.get(type(pairing), pairing.id).display_id is None
    # Another admin at another address is not affected.
    other = app_ctx.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.40"
    login_as(other, colleague)
    r = other.post(url, data={"code": pairing.code, "display_id": str(display.id)})
    assert r.status_code == 302
