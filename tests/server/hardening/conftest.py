"""Hardening: two tenants, each with a display, an alerts token and a stored file; the
probes, the fuzzer and the upload tests attack one side with the other's credentials."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from server import runtime
from server.models import Display, Notice, Tenant
from server.services import alerts as alert_svc

from ..displays.conftest import enrolled_display

API = "/api/player/v1/"


@pytest.fixture(autouse=True)
def fresh_caches(app, now):
    app.config["AUSHANG_NOTIFY_LISTENER"] = False
    # The requests run at the data's fixed ``now``: on the machine's clock the notices'
    # windows would have ended by the time the test runs.
    app.config["AUSHANG_CLOCK"] = lambda: now
    runtime.reset(app)
    yield
    runtime.reset(app)
    app.config.pop("AUSHANG_CLOCK", None)


@dataclass
class Side:
    tenant: Tenant
    display: Display
    token: str
    alerts_token: str
    notice: Notice

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def alerts_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.alerts_token}"}


@dataclass
class TwoTenants:
    a: Side
    b: Side


def _side(factory, session, now, slug: str, ars: str, name: str) -> Side:
    tenant = factory.tenant(slug, ars=ars, name=name)
    cat = factory.category(tenant, "Satzungen", binding=("internet", "board"))
    editor = factory.user(tenant, "editor", email=f"editor@{slug}.example")
    approver = factory.user(tenant, "approver", email=f"approver@{slug}.example")
    notice = factory.released_notice(tenant, cat, editor, approver, title=f"Satzung {name}")
    display, token = enrolled_display(session, tenant, f"Foyer {name}", now)
    _, plain = alert_svc.create_api_token(
        session, tenant=tenant, name="Leitstelle", user=None, now=now
    )
    return Side(tenant, display, token, plain, notice)


@pytest.fixture()
def two(app_ctx, session, factory, now) -> TwoTenants:
    a = _side(factory, session, now, "musterstadt", "150855555555", "Musterstadt")
    b = _side(factory, session, now, "anderstadt", "150830000000", "Anderstadt")
    session.commit()
    return TwoTenants(a, b)
