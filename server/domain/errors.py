"""Domain exceptions. The web layer turns them into clear 4xx answers."""

from __future__ import annotations


class DomainError(Exception):
    """Base class; ``message`` is German and safe to show to staff."""

    status = 400

    def __init__(self, message: str, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = dict(field_errors or {})


class ValidationFailed(DomainError):
    """Input is incomplete or contradictory; ``field_errors`` names each field."""

    status = 422


class PermissionDenied(DomainError):
    status = 403


class Conflict(DomainError):
    """The object is in a state that does not allow the change (e.g. released)."""

    status = 409


class NotFound(DomainError):
    status = 404
