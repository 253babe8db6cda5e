"""What the command modules share: failing with a message, the app behind the proxy."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn, cast

import click
from flask import Flask, current_app
from werkzeug.local import LocalProxy


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` to stderr and end the command with exit status ``code``."""
    click.echo(message, err=True)
    sys.exit(code)


def flask_app() -> Flask:
    """The application object behind ``current_app`` (for servers and threads)."""
    return cast("LocalProxy[Flask]", current_app)._get_current_object()


def demo_player_dir() -> Path:
    return Path(current_app.instance_path) / "demo-player"


def size_label(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB".replace(".", ",")
