"""Fault tests reuse the display world (a tenant, released notices, an enrolled display)."""

from __future__ import annotations

from ..server.displays.conftest import clock, dw, fresh_caches  # noqa: F401
