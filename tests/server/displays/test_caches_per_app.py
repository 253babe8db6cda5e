"""The player API's in-memory caches belong to one application, not to the process.

Two applications in one process have different databases whose rows carry the same
ids (tenant 1, display 1). A manifest built by one must never be served by the other:
that is how an end-to-end test's players once received another server's warning.
"""

from __future__ import annotations

from pathlib import Path

from server import create_app
from server.config import load_settings
from server.extensions import db
from server.runtime import caches

from ...factories import Factory
from .conftest import API, enrolled_display
from .test_long_poll import issue_alert


def _second_app(tmp_path: Path):
    settings = load_settings(
        {
            "AUSHANG_INSTANCE_PATH": str(tmp_path / "instance2"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'second.db'}",
            "SECRET_KEY": "second-app",
        }
    )
    app = create_app({"TESTING": True}, settings=settings)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return app


def test_two_apps_in_one_process_never_share_a_manifest(dw, client, session, clock, now, tmp_path):
    alert = issue_alert(session, dw)
    first = client.get(API + "manifest", headers=dw.auth())
    assert first.status_code == 200
    assert [i["title"] for i in first.get_json()["items"]] == ["Friedhofssatzung"]
    assert [w["id"] for w in first.get_json()["warnings"]] == [str(alert.id)]

    other = _second_app(tmp_path)
    other.config["AUSHANG_CLOCK"] = lambda: now
    with other.app_context():
        factory = Factory(db.session, now)
        tenant = factory.tenant("musterstadt", name="Stadt Musterstadt")
        display, token = enrolled_display(db.session, tenant, "Rathaus Foyer", now)
        db.session.commit()
        # Same ids as the first app's tenant and display, different rows behind them.
        assert (tenant.id, display.id) == (dw.tenant.id, dw.display.id)
        answer = other.test_client().get(
            API + "manifest", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200
        assert answer.get_json()["items"] == []
        assert answer.get_json()["warnings"] == []
        assert caches() is not caches(client.application)
        db.session.remove()
    with other.app_context():
        db.engine.dispose()
