"""What one application keeps in memory between requests, in one object.

``app.extensions["aushang"]`` holds a :class:`Runtime`: the player API's caches (built
manifest parts, whole manifests, token snapshots, alert facts, group-commit writers, the
sent log, the heartbeat limiter), the public feedback limiter and the throttle of the
player API's audit rows. Each application has its own, so two applications in one
process (a test server beside the suite's, two staging apps) never share ids or counts,
and a test starts with a fresh one (``reset``) instead of clearing module globals.

Still process-wide, by design of the push engine (``server/notify.py``): the change hub
and the listener that feeds it from other processes; the hub's generations are what the
caches here are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app

from .services.displays.manifest import DisplayCaches
from .services.limits import AuditThrottle, MemoryLimiter

KEY = "aushang"


def _feedback_limiter() -> MemoryLimiter:
    return MemoryLimiter(limit=10, window_s=600.0)


@dataclass
class Runtime:
    displays: DisplayCaches = field(default_factory=DisplayCaches)
    # Public feedback form: messages per address and ten minutes.
    feedback_limiter: MemoryLimiter = field(default_factory=_feedback_limiter)
    # Rejected player requests: at most one audit row per client, reason and minute.
    player_audit_throttle: AuditThrottle = field(default_factory=AuditThrottle)


def init_app(app: Flask) -> None:
    app.extensions[KEY] = Runtime()


def runtime(app: Flask | None = None) -> Runtime:
    """The application's runtime state (the current application's by default)."""
    extensions = (app or current_app).extensions
    found = extensions.get(KEY)
    return found if found is not None else extensions.setdefault(KEY, Runtime())


def caches(app: Flask | None = None) -> DisplayCaches:
    """The player API's caches of the application."""
    return runtime(app).displays


def reset(app: Flask) -> None:
    """Start the application's in-memory state afresh (tests, like their database)."""
    app.extensions[KEY] = Runtime()
