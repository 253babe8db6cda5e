"""CLI commands of ``aushang`` (server/commands/): accounts, demo data, the server processes.

Each command ends its work in one unit of work: a refused command leaves nothing behind.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from server.cli import cli
from server.commands.servers import _start_demo_player
from server.extensions import db
from server.models import AuditEntry, Tenant, User
from server.security import check_password

PASSWORD = "Rathaus-Schluessel-2026"


def _create_user(runner, *extra: str):
    return runner.invoke(
        cli,
        ["user", "create", "--email", "kaemmerei@example.org", "--name", "Kämmerei"]
        + ["--password", PASSWORD, *extra],
    )


def test_user_create_stores_the_account_and_refuses_a_second_one_with_the_reason(app_ctx):
    runner = app_ctx.test_cli_runner()
    result = _create_user(runner, "--system-admin")
    assert result.exit_code == 0, result.output
    assert "Benutzer kaemmerei@example.org angelegt." in result.output
    db.session.rollback()  # what the command committed, not what this session holds
    user = db.session.scalar(select(User).where(User.email == "kaemmerei@example.org"))
    assert user is not None and user.is_system_admin
    assert check_password(user.password_hash, PASSWORD)
    rows = db.session.scalar(select(func.count()).select_from(AuditEntry))

    again = _create_user(runner, "--system-admin")
    assert again.exit_code == 1
    assert "Zu dieser E-Mail-Adresse gibt es bereits ein Konto." in again.output
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == rows


def test_user_create_for_an_unknown_tenant_is_refused_and_stores_nothing(app_ctx):
    result = _create_user(app_ctx.test_cli_runner(), "--tenant", "nirgendwo", "--role", "editor")
    assert result.exit_code == 1
    assert "tenant: Diese Kommune gibt es nicht." in result.output
    assert "Traceback" not in result.output
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_demo_load_commits_the_demo_and_leaves_the_player_token(app_ctx):
    runner = app_ctx.test_cli_runner()
    result = runner.invoke(cli, ["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "Demodaten geladen." in result.output
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Tenant)) >= 1
    token_file = Path(app_ctx.instance_path) / "demo-player" / "provisioning_token"
    assert token_file.read_text().strip()
    assert token_file.stat().st_mode & 0o777 == 0o600

    second = runner.invoke(cli, ["demo", "load", "--if-empty"])
    assert second.exit_code == 0
    assert "Demodaten: bereits vorhanden." in second.output


def test_the_demo_player_needs_the_token_of_demo_load(app_ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(app_ctx, "instance_path", str(tmp_path))
    assert _start_demo_player("http://127.0.0.1:5000", 8080) is None
    assert not (tmp_path / "demo-player" / "player.ini").exists()


def test_serve_refuses_an_unknown_worker_setting_with_a_message(tmp_path, monkeypatch):
    from click.testing import CliRunner

    monkeypatch.setenv("AUSHANG_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("AUSHANG_WORKER_CLASS", "eventlet")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1
    assert "Unbekannte Worker-Art „eventlet“" in result.output
