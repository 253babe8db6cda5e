"""The ``aushang`` command: database, demo data, audit, archive, server processes."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask.cli import FlaskGroup

from . import create_app


def _create_app(*_: Any) -> Any:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def cli() -> None:
    """Aushang – digitale Bekanntmachungen und Warnungen."""


def _register() -> None:
    from flask_migrate.cli import db as db_group

    cli.add_command(db_group, "db")
    from .commands import register

    register(cli)
    from .sources.warncells import warncells_group

    cli.add_command(warncells_group)

    from .push.cli import publisher_command  # issue 15

    cli.add_command(publisher_command)


_register()


def main() -> None:
    sys.exit(cli.main(prog_name="aushang"))
