"""Fixtures shared by the server tests (public site, PDFs, archive)."""

from .publicworld import clock, public_world  # noqa: F401
