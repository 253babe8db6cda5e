"""Passwort vergessen: a signed, single-use, expiring link; the same answer for every
address, and a mail only for an active account."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from server.extensions import db

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
NEW = "Neues-Eigenes-2026"


def _reset_path(message) -> str:
    [url] = re.findall(r"http://\S+/passwort-neu/\S+", message.get_body(("plain",)).get_content())
    return urlsplit(url).path


def test_forgotten_password_link_works_once_and_reveals_nothing(app_ctx, factory, smtp, send):
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="erika@musterstadt.example", name="Erika Muster")
    db.session.commit()
    client = app_ctx.test_client()
    assert "Passwort vergessen?" in client.get("/login").get_data(as_text=True)
    known = client.post("/passwort-vergessen", data={"email": "erika@musterstadt.example"})
    unknown = client.post("/passwort-vergessen", data={"email": "niemand@musterstadt.example"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert send(NOW) == 2  # both handled; only one is a mail
    assert len(smtp.received) == 1
    [message] = smtp.to("erika@musterstadt.example")
    path = _reset_path(message)

    page = client.get(path)
    assert page.status_code == 200 and "erika@musterstadt.example" in page.get_data(as_text=True)
    bad = client.post(path, data={"new_password": NEW, "new_password_repeat": NEW + "x"})
    assert bad.status_code == 422
    done = client.post(path, data={"new_password": NEW, "new_password_repeat": NEW})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert (
        client.post(
            "/login", data={"email": "erika@musterstadt.example", "password": NEW}
        ).status_code
        == 302
    )
    used = app_ctx.test_client().get(path)
    assert used.status_code == 410  # the link died with the old password


def test_reset_links_expire_and_forged_ones_are_refused(app_ctx, factory, smtp, send):
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW
    tenant = factory.tenant()
    factory.user(tenant, "editor", email="erika@musterstadt.example")
    db.session.commit()
    client = app_ctx.test_client()
    client.post("/passwort-vergessen", data={"email": "erika@musterstadt.example"})
    send(NOW)
    path = _reset_path(smtp.received[0][1])
    assert client.get(path[:-4] + "AAAA").status_code == 404
    assert client.get(path).status_code == 200
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW + timedelta(hours=2, seconds=1)
    expired = client.get(path)
    assert expired.status_code == 410 and "abgelaufen" in expired.get_data(as_text=True)


def test_malformed_address_and_limits(app_ctx, factory):
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW
    client = app_ctx.test_client()
    r = client.post("/passwort-vergessen", data={"email": "kein at"})
    assert r.status_code == 422 and "gültige E-Mail-Adresse" in r.get_data(as_text=True)
    codes = [
        client.post("/passwort-vergessen", data={"email": "erika@musterstadt.example"}).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]  # three an hour per address
    app_ctx.config["AUSHANG_CLOCK"] = lambda: NOW + timedelta(hours=1, minutes=1)
    again = client.post("/passwort-vergessen", data={"email": "erika@musterstadt.example"})
    assert again.status_code == 200
