"""Configuration: the only module that reads ``os.environ``.

Every variable is documented in the README (section "Konfiguration").
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "ja"}


def _secret_key(instance_path: Path, explicit: str | None) -> str:
    """Use SECRET_KEY if set; otherwise keep a generated key in the instance folder so
    sessions survive restarts of a development server."""
    if explicit:
        return explicit
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _csv(value: str | None) -> tuple[str, ...]:
    """A comma-separated list, lower-cased, blanks dropped."""
    return tuple(p.strip().lower() for p in (value or "").split(",") if p.strip())


def _non_negative(value: str | None, name: str) -> int:
    number = int(value or "0")
    if number < 0:
        raise ValueError(f"{name} must be 0 or more")
    return number


@dataclass
class Settings:
    instance_path: Path
    database_url: str
    secret_key: str
    data_dir: Path
    upload_max_bytes: int
    base_url: str
    scheduler_in_process: bool
    session_cookie_secure: bool
    login_max_attempts: int
    login_lock_minutes: int
    nina_base_url: str
    nina_user_agent: str
    # Warnings (issue 6); every value documented in the README.
    alert_sender: str = ""
    alert_all_clear_minutes: float = 15
    alert_banner_sources: tuple[str, ...] = ()
    nina_stale_minutes: int = 3
    nina_enabled: bool = False
    # Displays (issue 4); documented in the README.
    notify_poll_seconds: float = 1.0
    display_outage_minutes: int = 5
    heartbeat_gather_seconds: float = 1.0
    heartbeat_retention_days: int = 30
    db_pool_size: int = 10
    # Production serving (``aushang serve``, server/serving.py); documented in the README.
    serve_bind: str = "127.0.0.1:8000"
    serve_workers: int = 2
    serve_threads: int = 1000
    serve_worker_class: str = "gthread"
    serve_connections: int = 4000
    serve_keepalive: int = 75
    serve_graceful_timeout: int = 10
    serve_access_log: str = ""
    # Sessions and login limits (issue 11); documented in the README.
    login_address_max_attempts: int = 30
    trusted_proxies: int = 0
    # Mail (issue 18); documented in the README.
    smtp_url: str = ""
    mail_from: str = ""
    maildir: str = ""
    push_services: tuple[str, ...] = ()
    # Push (issue 15, server/push/); documented in the README.
    push_engine: str = "embedded"
    push_publish_url: str = ""
    push_state_spread_s: float = 5.0
    extra: dict[str, object] = field(default_factory=dict)

    def flask_config(self) -> dict[str, object]:
        engine_options: dict[str, object] = {"pool_pre_ping": True}
        if not self.database_url.startswith("sqlite"):
            # Player requests hold a connection only while they read or write (group
            # commit writes heartbeats and acknowledgements); the overflow covers bursts.
            engine_options.update(pool_size=self.db_pool_size, max_overflow=self.db_pool_size)
        cfg: dict[str, object] = {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "MAX_CONTENT_LENGTH": self.upload_max_bytes + 1024 * 1024,
            "AUSHANG_UPLOAD_MAX_BYTES": self.upload_max_bytes,
            "AUSHANG_DATA_DIR": str(self.data_dir),
            "AUSHANG_BASE_URL": self.base_url,
            "AUSHANG_SCHEDULER_IN_PROCESS": self.scheduler_in_process,
            "AUSHANG_LOGIN_MAX_ATTEMPTS": self.login_max_attempts,
            "AUSHANG_LOGIN_LOCK_MINUTES": self.login_lock_minutes,
            "AUSHANG_LOGIN_ADDRESS_MAX_ATTEMPTS": self.login_address_max_attempts,
            "AUSHANG_TRUSTED_PROXIES": self.trusted_proxies,
            "AUSHANG_NINA_BASE_URL": self.nina_base_url,
            "AUSHANG_NINA_USER_AGENT": self.nina_user_agent,
            "AUSHANG_ALERT_SENDER": self.alert_sender,
            "AUSHANG_ALERT_ALL_CLEAR_MINUTES": self.alert_all_clear_minutes,
            "AUSHANG_ALERT_BANNER_SOURCES": self.alert_banner_sources,
            "AUSHANG_NINA_STALE_MINUTES": self.nina_stale_minutes,
            "AUSHANG_NINA_ENABLED": self.nina_enabled,
            "AUSHANG_NOTIFY_POLL_SECONDS": self.notify_poll_seconds,
            "AUSHANG_DISPLAY_OUTAGE_MINUTES": self.display_outage_minutes,
            "AUSHANG_HEARTBEAT_GATHER_SECONDS": self.heartbeat_gather_seconds,
            "AUSHANG_HEARTBEAT_RETENTION_DAYS": self.heartbeat_retention_days,
            "AUSHANG_SMTP_URL": self.smtp_url,
            "AUSHANG_MAIL_FROM": self.mail_from,
            "AUSHANG_MAILDIR": self.maildir or str(self.instance_path / "mail"),
            "AUSHANG_PUSH_SERVICES": self.push_services,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.session_cookie_secure,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.session_cookie_secure,
            "WTF_CSRF_TIME_LIMIT": None,
            "AUSHANG_PUSH_ENGINE": self.push_engine,
            "AUSHANG_PUSH_PUBLISH_URL": self.push_publish_url,
            "AUSHANG_PUSH_STATE_SPREAD_SECONDS": self.push_state_spread_s,
        }
        cfg.update(self.extra)
        return cfg


def _database_url(env: dict[str, str], instance_path: Path) -> str:
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'aushang.db'}"
    if database_url.startswith("postgresql://") or database_url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; plain URLs from hosting panels mean it too.
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
    return database_url


def _login_settings(env: dict[str, str]) -> dict[str, Any]:
    return {
        "session_cookie_secure": _bool(env.get("AUSHANG_SECURE_COOKIES"), False),
        "login_max_attempts": int(env.get("AUSHANG_LOGIN_MAX_ATTEMPTS", "5")),
        "login_lock_minutes": int(env.get("AUSHANG_LOGIN_LOCK_MINUTES", "15")),
        "login_address_max_attempts": int(env.get("AUSHANG_LOGIN_ADDRESS_MAX_ATTEMPTS") or "30"),
        "trusted_proxies": _non_negative(
            env.get("AUSHANG_TRUSTED_PROXIES"), "AUSHANG_TRUSTED_PROXIES"
        ),
    }


def _alert_settings(env: dict[str, str]) -> dict[str, Any]:
    return {
        "nina_base_url": (
            env.get("AUSHANG_NINA_BASE_URL") or "https://warnung.bund.de/api31"
        ).rstrip("/"),
        "nina_user_agent": env.get("AUSHANG_NINA_USER_AGENT")
        or "Aushang/0.1 (+kommunale Warnanzeige; Kontakt: Betreiber der Installation)",
        "alert_sender": env.get("AUSHANG_ALERT_SENDER", ""),
        "alert_all_clear_minutes": float(env.get("AUSHANG_ALERT_ALL_CLEAR_MINUTES", "15")),
        "alert_banner_sources": tuple(
            s.strip().lower()
            for s in env.get("AUSHANG_ALERT_BANNER_SOURCES", "").split(",")
            if s.strip()
        ),
        "nina_stale_minutes": int(env.get("AUSHANG_NINA_STALE_MINUTES", "3")),
        # Off until an operator turns it on: no outgoing connection nobody configured.
        "nina_enabled": _bool(env.get("AUSHANG_NINA_ENABLED"), False),
    }


def _display_settings(env: dict[str, str]) -> dict[str, Any]:
    return {
        "notify_poll_seconds": float(env.get("AUSHANG_NOTIFY_POLL_SECONDS", "1")),
        "display_outage_minutes": int(env.get("AUSHANG_DISPLAY_OUTAGE_MINUTES", "5")),
        "heartbeat_gather_seconds": float(env.get("AUSHANG_HEARTBEAT_GATHER_SECONDS", "1")),
        "heartbeat_retention_days": int(env.get("AUSHANG_HEARTBEAT_RETENTION_DAYS") or "30"),
        "db_pool_size": int(env.get("AUSHANG_DB_POOL_SIZE") or "10"),
    }


def _serve_settings(env: dict[str, str]) -> dict[str, Any]:
    return {
        "serve_bind": env.get("AUSHANG_BIND") or "127.0.0.1:8000",
        "serve_workers": int(env.get("AUSHANG_WORKERS") or "2"),
        "serve_threads": int(env.get("AUSHANG_THREADS") or "1000"),
        "serve_worker_class": env.get("AUSHANG_WORKER_CLASS") or "gthread",
        "serve_connections": int(env.get("AUSHANG_WORKER_CONNECTIONS") or "4000"),
        "serve_keepalive": int(env.get("AUSHANG_KEEPALIVE") or "75"),
        "serve_graceful_timeout": int(env.get("AUSHANG_GRACEFUL_TIMEOUT") or "10"),
        "serve_access_log": env.get("AUSHANG_ACCESS_LOG", ""),
    }


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    instance_path = Path(env.get("AUSHANG_INSTANCE_PATH") or PROJECT_ROOT / "instance").resolve()
    return Settings(
        instance_path=instance_path,
        database_url=_database_url(env, instance_path),
        secret_key=_secret_key(instance_path, env.get("SECRET_KEY")),
        data_dir=Path(env.get("AUSHANG_DATA_DIR") or instance_path / "files").resolve(),
        upload_max_bytes=int(env.get("AUSHANG_UPLOAD_MAX_MB", "20")) * 1024 * 1024,
        base_url=(env.get("AUSHANG_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        scheduler_in_process=_bool(env.get("AUSHANG_SCHEDULER_IN_PROCESS"), False),
        **_login_settings(env),
        **_alert_settings(env),
        **_display_settings(env),
        **_serve_settings(env),
        smtp_url=env.get("AUSHANG_SMTP_URL", ""),
        mail_from=env.get("AUSHANG_MAIL_FROM", ""),
        maildir=env.get("AUSHANG_MAILDIR", ""),
        push_services=_csv(env.get("AUSHANG_PUSH_SERVICES")),
        push_engine=(env.get("AUSHANG_PUSH_ENGINE") or "embedded").strip().lower(),
        push_publish_url=env.get("AUSHANG_PUSH_PUBLISH_URL", "").strip(),
        push_state_spread_s=float(env.get("AUSHANG_PUSH_STATE_SPREAD_SECONDS") or "5"),
    )
