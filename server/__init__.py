"""Aushang server: create_app wires configuration, extensions and blueprints."""

from __future__ import annotations

from typing import Any

from flask import Flask

from .config import PROJECT_ROOT, Settings, load_settings


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "server" / "static"),
        instance_path=str(settings.instance_path),
    )
    app.config.update(settings.flask_config())
    if config:
        app.config.update(config)

    from . import models  # noqa: F401  (register tables)
    from .extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "server" / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)

    from . import runtime

    runtime.init_app(app)

    from .web import sessions

    sessions.init_app(app)

    from . import notify

    notify.install()

    from .web import setup

    setup.init_app(app)
    return app
