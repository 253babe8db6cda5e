"""A Kommune in five minutes (issue 17, build 5), without a browser: the one form's
field errors, the starter set, the checklist and the public page "im Aufbau"."""

from __future__ import annotations

from server.models import Tenant
from server.services import onboarding

from ...conftest import login


def _system_admin(factory):
    return factory.user(None, system_admin=True)


def test_kommune_with_admin_and_starter_set_then_checklist(client, factory, session):
    admin = _system_admin(factory)
    session.commit()
    login(client, admin.email)
    bad = client.post(
        "/admin/system/kommunen",
        data={"name": "Gemeinde Test", "slug": "test-ort", "ars": "150855555598",
              "timezone": "Africa/Abidjan", "admin_email": "a@test.example", "starter": "1"},
    )  # fmt: skip
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Bitte eine Zeitzone aus der Liste wählen." in text
    assert "E-Mail-Adresse und Kennwort" in text
    assert session.query(Tenant).filter_by(slug="test-ort").count() == 0  # nothing half-made

    ok = client.post(
        "/admin/system/kommunen",
        data={"name": "Gemeinde Test", "slug": "test-ort", "ars": "150855555598",
              "timezone": "Europe/Berlin", "admin_name": "Ada Admin",
              "admin_email": "ada@test.example", "admin_password": "Sehr-geheim-1", "starter": "1"},
    )  # fmt: skip
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/admin/test-ort/")
    tenant = session.query(Tenant).filter_by(slug="test-ort").one()
    assert [c.kind for c in tenant.channels] == ["internet", "board"]
    assert tenant.channels[0].location.endswith("/test-ort/")
    cats = {
        c.name: (c.min_days, sorted(b.kind for b in c.binding_channels)) for c in tenant.categories
    }
    assert cats["Bauleitplanung"] == (30, ["board", "internet"])
    assert cats["Satzungen und Verordnungen"] == (7, ["internet"])
    steps = {s.label: s.done for s in onboarding.checklist(session, tenant)}
    assert steps["Erste Administratorin oder erster Administrator"] is True
    assert steps["Erste Bekanntmachung freigegeben"] is False
    dashboard = client.get("/admin/test-ort/").get_data(as_text=True)
    assert "Erste Schritte für Gemeinde Test" in dashboard
    public = client.get("/test-ort/").get_data(as_text=True)
    assert "Diese Seite ist im Aufbau." in public and 'name="robots" content="noindex"' in public


def test_settings_offer_the_sensible_time_zones(client, factory, session):
    tenant = factory.tenant("zeitort", ars="150855555597", name="Zeitort")
    admin = factory.user(tenant, "admin")
    session.commit()
    login(client, admin.email)
    page = client.get("/admin/zeitort/einstellungen").get_data(as_text=True)
    assert page.index("Europe/Berlin") < page.index("Europe/Vienna")
    assert "Africa/Abidjan" not in page
