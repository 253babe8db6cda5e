"""Security headers, cookie flags, login rate limit and CSRF over every route.

The route-wide tests iterate ``app.url_map``, so routes added later are covered without
touching this file: every GET route (with placeholder arguments) must send the security
headers and never answer 500, and every POST route outside the bearer-token JSON API must
refuse a request without CSRF token.
"""

from __future__ import annotations

import re
import uuid
from http.cookies import SimpleCookie

import pytest
from werkzeug.routing import IntegerConverter, PathConverter, Rule, UUIDConverter

from server import create_app
from server.config import load_settings

from ..conftest import login

# JSON APIs authenticate with bearer tokens, not cookies: CSRF does not apply there.
CSRF_EXEMPT_PREFIXES = ("/api/",)
# The kiosk page's reports (ping, played, alert-shown) inside the staff previews: the
# page is the player's and sends no token; the views answer 204 and change nothing
# (tests/alerts/test_alert_preview_kiosk.py, test_display_live_preview.py).
CSRF_EXEMPT_ENDPOINTS = {"admin.alert_preview_report", "admin.display_preview_report"}
# RFC 8058 one-click unsubscribe: the mail client posts without a form token; the signed
# token in the URL is the authority (tests/mail/test_subscriptions.py).
CSRF_EXEMPT_ENDPOINTS |= {"subscriptions.unsubscribe"}
TENANT_ARGS = {"tenant", "tenant_slug", "slug"}


def sample_path(rule: Rule, tenant_slug: str) -> str:
    """A URL for ``rule`` with placeholder values (a real tenant where one is asked for)."""
    values: dict[str, object] = {}
    for name, converter in rule._converters.items():
        if name in TENANT_ARGS:
            values[name] = tenant_slug
        elif isinstance(converter, IntegerConverter):
            values[name] = 1
        elif isinstance(converter, UUIDConverter):
            values[name] = uuid.UUID(int=1)
        elif rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            values[name] = "aushang.css"
        elif isinstance(converter, PathConverter):
            values[name] = "x/y"
        else:
            values[name] = "x"
    built = rule.build(values, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


def rules_with(app, method: str) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if method in (r.methods or ())),
        key=lambda r: r.rule,
    )


def csp_directives(value: str) -> dict[str, str]:
    out = {}
    for part in value.split(";"):
        part = part.strip()
        if part:
            name, _, rest = part.partition(" ")
            out[name] = rest
    return out


def assert_security_headers(response, where: str) -> None:
    h = response.headers
    assert h.get("X-Content-Type-Options") == "nosniff", where
    assert h.get("Referrer-Policy") in (
        "same-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    ), where
    if response.mimetype != "text/html":
        return
    csp = h.get("Content-Security-Policy")
    assert csp, f"{where}: no Content-Security-Policy"
    directives = csp_directives(csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, f"{where}: {csp}"
    assert "default-src" in directives, f"{where}: {csp}"
    assert directives.get("object-src") == "'none'", f"{where}: {csp}"
    assert "script-src" in directives or "'self'" in directives["default-src"], where
    assert "*" not in directives.get("script-src", directives["default-src"]).split(), where
    framing = directives.get("frame-ancestors") or h.get("X-Frame-Options")
    assert framing and framing.strip().lower() not in ("*", "allowall"), f"{where}: framing open"


@pytest.fixture()
def staff_client(client, factory, session):
    """Logged in as system admin who is also tenant admin: views get past their guards."""
    tenant = factory.tenant(slug="musterstadt")
    factory.category(tenant)
    factory.user(tenant, "admin", email="sys@test.example", system_admin=True)
    session.commit()
    assert login(client, "sys@test.example").status_code == 302
    return client, tenant


def test_every_get_route_sends_security_headers_and_never_a_500(app_ctx, staff_client):
    client, tenant = staff_client
    checked = 0
    for rule in rules_with(app_ctx, "GET"):
        path = sample_path(rule, tenant.slug)
        for c in (client, app_ctx.test_client()):  # logged in and anonymous
            response = c.get(path, buffered=False)
            try:
                where = f"GET {path} ({rule.endpoint}) -> {response.status_code}"
                assert response.status_code < 500, where
                assert_security_headers(response, where)
                if response.mimetype == "text/html" and response.status_code == 200:
                    html = response.get_data(as_text=True)
                    for form in re.findall(r"<form\b[^>]*>.*?</form>", html, re.S | re.I):
                        if re.search(r"method=[\"']?post", form, re.I):
                            assert 'name="csrf_token"' in form, f"{where}: form without CSRF"
            finally:
                response.close()
            checked += 1
    assert checked >= 8


def test_error_pages_and_json_problems_carry_the_headers_too(client):
    r = client.get("/gibt-es-nicht/")
    assert r.status_code == 404
    assert_security_headers(r, "404 page")
    r = client.get("/gibt-es-nicht/", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert_security_headers(r, "404 problem")


def test_staff_pages_are_not_cached(staff_client):
    client, tenant = staff_client
    for path in ("/login", "/konto", f"/admin/{tenant.slug}/"):
        assert "no-store" in client.get(path).headers.get("Cache-Control", ""), path


def _set_cookies(response) -> dict[str, SimpleCookie]:
    out = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            out[name] = header
    return out


def test_session_cookie_is_httponly_and_samesite(client, factory, session):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    r = login(client, "e@test.example")
    assert r.status_code == 302
    header = _set_cookies(r)["session"]
    flags = [p.strip().lower() for p in header.split(";")]
    assert "httponly" in flags
    assert "samesite=lax" in flags or "samesite=strict" in flags
    assert "secure" not in flags  # plain-HTTP development default


def test_session_cookie_is_secure_when_configured(app, database_url, factory, session, tmp_path):
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="e@test.example")
    session.commit()
    settings = load_settings(
        {
            "AUSHANG_INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "AUSHANG_SECURE_COOKIES": "true",
        }
    )
    secure_app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}, settings=settings)
    r = login(secure_app.test_client(), "e@test.example")
    assert r.status_code == 302
    flags = [p.strip().lower() for p in _set_cookies(r)["session"].split(";")]
    assert {"secure", "httponly"} <= set(flags)


def test_login_attempts_are_limited_per_client_address(app_ctx, session):
    limit = app_ctx.config["AUSHANG_LOGIN_ADDRESS_MAX_ATTEMPTS"]
    attacker = app_ctx.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    statuses = []
    for i in range(limit + 1):
        # A different account each time: the per-account lock alone would not notice.
        r = attacker.post("/login", data={"email": f"u{i}@test.example", "password": "x" * 12})
        statuses.append(r.status_code)
    assert statuses[:-1] == [401] * limit
    assert statuses[-1] == 429
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in r.get_data(as_text=True)
    other = app_ctx.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.1"
    assert (
        other.post("/login", data={"email": "a@test.example", "password": "y" * 12}).status_code
        == 401
    )


@pytest.fixture()
def csrf_app(app, database_url, tmp_path):
    settings = load_settings(
        {
            "AUSHANG_INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
        }
    )
    # Production configuration: CSRF on, no TESTING shortcuts.
    return create_app({"WTF_CSRF_ENABLED": True}, settings=settings)


def test_every_post_route_refuses_a_request_without_csrf_token(csrf_app):
    client = csrf_app.test_client()
    checked = []
    for rule in rules_with(csrf_app, "POST"):
        if rule.rule.startswith(CSRF_EXEMPT_PREFIXES) or rule.endpoint in CSRF_EXEMPT_ENDPOINTS:
            continue
        path = sample_path(rule, "musterstadt")
        r = client.post(path, data={"name": "x"})
        assert r.status_code == 400, (
            f"POST {path} ({rule.endpoint}) without CSRF token -> {r.status_code}"
        )
        checked.append(path)
    assert {"/login", "/logout", "/konto/passwort"} <= set(checked)


def test_a_valid_csrf_token_gets_past_the_check(csrf_app, app_ctx):
    """The control for the test above: the 400 really comes from the CSRF check."""
    client = csrf_app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post(
        "/login", data={"email": "a@test.example", "password": "x" * 12, "csrf_token": token}
    )
    assert r.status_code == 401
    r = client.post(
        "/login", data={"email": "a@test.example", "password": "x" * 12, "csrf_token": token + "x"}
    )
    assert r.status_code == 400
