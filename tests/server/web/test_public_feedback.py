"""Accessibility statement and the feedback form (L19); staff read the messages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server import runtime
from server.models import Feedback

from ...conftest import login


@pytest.fixture(autouse=True)
def _fresh_limiter(app):
    runtime.reset(app)
    yield
    runtime.reset(app)


def test_accessibility_statement_links_to_feedback(client, public_world, clock):
    public_world.tenant.accessibility_statement = "Wir bemühen uns um Barrierefreiheit."
    public_world.tenant.contact_email = "buergerbuero@musterstadt.example"
    page = client.get("/musterstadt/barrierefreiheit").get_data(as_text=True)
    assert "<h1>Erklärung zur Barrierefreiheit</h1>" in page
    assert "Wir bemühen uns um Barrierefreiheit." in page
    assert 'href="/musterstadt/rueckmeldung?thema=barrierefreiheit"' in page
    assert 'href="mailto:buergerbuero@musterstadt.example"' in page


def test_feedback_is_stored_for_the_tenant(client, public_world, clock, session, now):
    response = client.post(
        "/musterstadt/rueckmeldung",
        data={
            "topic": "barrierefreiheit",
            "message": "Der Kontrast der Tabelle ist zu schwach.",
            "name": "Erika",
            "email": "erika@example.org",
            "page_url": "/musterstadt/archiv",
        },
    )
    assert response.status_code == 302
    assert "gesendet=1" in response.headers["Location"]
    item = session.scalar(select(Feedback))
    assert item.tenant_id == public_world.tenant.id
    assert item.message == "Der Kontrast der Tabelle ist zu schwach."
    assert item.page_url == "/musterstadt/archiv"
    assert item.created_at == now
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ihre Nachricht ist bei der Stadt Musterstadt eingegangen" in page


def test_feedback_validation_names_fields(client, public_world, clock, session):
    response = client.post(
        "/musterstadt/rueckmeldung",
        data={
            "topic": "quatsch",
            "message": "  ",
            "email": "kein-mail",
            "page_url": "https://evil.example/",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Bitte geben Sie eine Nachricht ein." in page
    assert "Bitte eine gültige E-Mail-Adresse angeben" in page
    assert "Bitte ein Thema auswählen." in page
    assert 'aria-invalid="true"' in page
    assert session.scalar(select(Feedback)) is None
    long = client.post("/musterstadt/rueckmeldung", data={"topic": "inhalt", "message": "x" * 5001})
    assert long.status_code == 422
    assert "zu lang" in long.get_data(as_text=True)


def test_feedback_honeypot_is_silently_dropped(client, public_world, clock, session):
    response = client.post(
        "/musterstadt/rueckmeldung",
        data={"topic": "inhalt", "message": "Kaufen Sie jetzt!", "website": "http://spam"},
    )
    assert response.status_code == 302
    assert session.scalar(select(Feedback)) is None


def test_feedback_requires_csrf_token(client, public_world, clock, app_ctx, session):
    app_ctx.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(
            "/musterstadt/rueckmeldung", data={"topic": "inhalt", "message": "Hallo"}
        )
        assert response.status_code == 400
        assert session.scalar(select(Feedback)) is None
        form = client.get("/musterstadt/rueckmeldung").get_data(as_text=True)
        assert 'name="csrf_token"' in form
    finally:
        app_ctx.config["WTF_CSRF_ENABLED"] = False


def test_feedback_is_rate_limited(client, public_world, clock):
    data = {"topic": "inhalt", "message": "Hallo"}
    codes = [client.post("/musterstadt/rueckmeldung", data=data).status_code for _ in range(11)]
    assert codes[:10] == [302] * 10
    assert codes[10] == 429


def test_tenant_admin_reads_feedback_others_do_not(client, public_world, clock, factory, session):
    session.add(
        Feedback(
            tenant_id=public_world.tenant.id,
            created_at=clock.now,
            topic="inhalt",
            message="Frage X",
        )
    )
    admin = factory.user(public_world.tenant, "admin")
    session.flush()
    login(client, public_world.editor.email)
    assert client.get("/admin/musterstadt/rueckmeldungen").status_code == 403
    client.post("/logout")
    login(client, admin.email)
    page = client.get("/admin/musterstadt/rueckmeldungen").get_data(as_text=True)
    assert "Frage X" in page
    item = session.scalar(select(Feedback))
    response = client.post(f"/admin/musterstadt/rueckmeldungen/{item.id}/erledigt")
    assert response.status_code == 302
    assert item.handled_at is not None
