"""CLI commands of ``aushang``, one module per area; each command takes ``now`` once and
ends its work in one unit of work (``server.uow``)."""

from __future__ import annotations

import click

from .accounts import audit_group, demo_group, user_group
from .maintenance import archive_group, backup_command, restore_command
from .oparl import oparl_group, oparl_import
from .servers import run_command, scheduler_command, serve_command

__all__ = [
    "archive_group",
    "audit_group",
    "backup_command",
    "demo_group",
    "oparl_group",
    "oparl_import",
    "register",
    "restore_command",
    "run_command",
    "scheduler_command",
    "serve_command",
    "user_group",
]


def register(cli: click.Group) -> None:
    for command in (
        run_command,
        serve_command,
        scheduler_command,
        audit_group,
        user_group,
        demo_group,
        oparl_group,
        backup_command,
        restore_command,
        archive_group,
    ):
        cli.add_command(command)
