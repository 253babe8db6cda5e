"""Push tests reuse the display world (a tenant, released notices, an enrolled display)."""

from __future__ import annotations

from server.services import alerts as alert_svc

from ..displays.conftest import clock, dw, fresh_caches  # noqa: F401


def issue_alert(session, world, headline: str):
    """A manual warning for the display's Kommune, committed (outbox row included)."""
    from flask import current_app

    alert = alert_svc.issue_manual(
        session,
        tenant=world.tenant,
        user=world.factory.user(world.tenant, "alerter"),
        data=alert_svc.ManualAlertInput(
            template_key="hochwasser",
            area_desc="Stadt Musterstadt",
            tenant_ids=[world.tenant.id],
            warnstufe=2,
            headline=headline,
            description="Der Pegel steigt.",
            instruction="Meiden Sie das Ufer.",
            sender_name="Stadt Musterstadt",
        ),
        now=world.factory.now,
        policy=alert_svc.policy_from_config(current_app.config),
    )
    session.commit()
    return alert
