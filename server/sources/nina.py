"""Client for the NINA API of the BBK (https://warnung.bund.de/api31), W1–W3.

``/dashboard/{key}.json`` lists the current warnings of a Kreis; ``/warnings/{id}.json``
is one warning as CAP-as-JSON. Requests are conditional (ETag / Last-Modified), carry
a descriptive User-Agent and time out. Anything but a JSON answer — an HTTP error, the
HTML 404 page NINA sends for an unknown key, a timeout, a broken body — raises
:class:`NinaFeedError`: a failed poll is never read as "no warnings".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from server.domain.alerts.lifecycle import Change
from server.domain.alerts.model import Alert
from server.domain.alerts.polling import (
    DashboardEntry,
    DashboardFailed,
    DashboardOk,
    DashboardResult,
    FeedState,
    PollConfig,
    entries_to_fetch,
    poll_step,
)
from server.domain.ars import nina_dashboard_key, validate_ars
from server.sources.cap import CapError, alert_from_cap_json

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://warnung.bund.de/api31"
DEFAULT_TIMEOUT = (3.05, 10.0)  # connect, read (seconds)
MAX_RESPONSE_BYTES = 20_000_000


class NinaFeedError(Exception):
    """The NINA feed did not deliver usable data; ``message`` is German."""

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.url = url


class NinaFormatError(NinaFeedError):
    """A JSON answer whose shape is not what NINA documents."""


@dataclass(frozen=True)
class FetchedWarning:
    alert: Alert
    raw: bytes


def parse_dashboard(data: bytes, url: str = "") -> tuple[DashboardEntry, ...]:
    """Parse a ``/dashboard/{key}.json`` body into entries; raise :class:`NinaFeedError`."""
    obj = _json(data, url)
    if not isinstance(obj, list):
        raise NinaFormatError("Die NINA-Übersicht ist keine Liste von Warnungen.", url)
    entries = []
    for item in obj:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            raise NinaFormatError("Ein Eintrag der NINA-Übersicht hat keine Kennung (id).", url)
        payload: Mapping[str, Any] = _mapping(item.get("payload"))
        version = payload.get("version", 0)
        data_block: Mapping[str, Any] = _mapping(payload.get("data"))
        entries.append(
            DashboardEntry(
                id=item["id"],
                version=version if isinstance(version, int) else 0,
                hash=payload.get("hash") if isinstance(payload.get("hash"), str) else None,
                msg_type=data_block.get("msgType")
                if isinstance(data_block.get("msgType"), str)
                else None,
                sent=item.get("sent") if isinstance(item.get("sent"), str) else None,
            )
        )
    return tuple(entries)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def parse_warning(data: bytes, url: str = "") -> Alert:
    """Parse a ``/warnings/{id}.json`` body (CAP-as-JSON) into an :class:`Alert`."""
    try:
        return alert_from_cap_json(_json(data, url))
    except CapError as exc:
        raise NinaFormatError(f"NINA-Warnung nicht lesbar: {exc.message}", url) from None


def _json(data: bytes, url: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        start = data[:200].lstrip().lower()
        kind = "eine HTML-Seite" if start.startswith((b"<!doctype", b"<html")) else "kein JSON"
        raise NinaFeedError(f"NINA lieferte {kind} statt JSON.", url) from None


class NinaClient:
    """A small, blocking NINA client; one per poller, sharing a ``requests.Session``."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        user_agent: str = "Aushang (kommunale Warnanzeige)",
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.user_agent = user_agent
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_bytes = max_bytes

    def _get(self, path: str, headers: Mapping[str, str] | None = None) -> requests.Response:
        url = f"{self.base_url}{path}"
        all_headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        all_headers.update(headers or {})
        try:
            response = self.session.get(url, headers=all_headers, timeout=self.timeout, stream=True)
        except requests.Timeout:
            raise NinaFeedError("Zeitüberschreitung bei der Abfrage von NINA.", url) from None
        except requests.RequestException as exc:
            raise NinaFeedError(f"NINA nicht erreichbar ({type(exc).__name__}).", url) from None
        return response

    def _body(self, response: requests.Response) -> bytes:
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_content(65536):
                total += len(chunk)
                if total > self.max_bytes:
                    raise NinaFeedError("Antwort von NINA ist unerwartet groß.", response.url)
                chunks.append(chunk)
        except requests.RequestException:
            raise NinaFeedError(
                "Verbindung zu NINA während der Antwort abgebrochen.", response.url
            ) from None
        finally:
            response.close()
        return b"".join(chunks)

    def _check(self, response: requests.Response) -> None:
        if response.status_code != 200:
            response.close()
            raise NinaFeedError(f"NINA antwortete mit HTTP {response.status_code}.", response.url)

    def dashboard(
        self, key: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> DashboardOk:
        """Fetch the dashboard of a Kreis key (``ARS[0:5] + "0000000"``)."""
        key = validate_ars(key)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        response = self._get(f"/dashboard/{key}.json", headers)
        if response.status_code == 304:
            response.close()
            return DashboardOk(
                entries=(),
                etag=response.headers.get("ETag") or etag,
                last_modified=response.headers.get("Last-Modified") or last_modified,
                not_modified=True,
            )
        self._check(response)
        body = self._body(response)
        return DashboardOk(
            entries=parse_dashboard(body, response.url),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
        )

    def warning(self, identifier: str) -> FetchedWarning:
        """Fetch one warning's details; the raw bytes are kept for the archive (W14)."""
        response = self._get(f"/warnings/{quote(identifier, safe='')}.json")
        self._check(response)
        body = self._body(response)
        return FetchedWarning(parse_warning(body, response.url), body)


@dataclass(frozen=True)
class PollOutcome:
    """Result of one poll of one Kreis: new state, changes, and raw documents to archive."""

    state: FeedState
    changes: tuple[Change, ...]
    documents: Mapping[str, bytes] = field(default_factory=dict)
    detail_errors: Mapping[str, str] = field(default_factory=dict)


def poll(
    client: NinaClient, state: FeedState, now: datetime, config: PollConfig | None = None
) -> PollOutcome:
    """Poll one dashboard, fetch new and changed details, and fold it all into the state."""
    result: DashboardResult
    try:
        result = client.dashboard(state.key, etag=state.etag, last_modified=state.last_modified)
    except NinaFeedError as exc:
        log.warning("nina feed=%s event=poll_failed error=%r", state.key, exc.message)
        result = DashboardFailed(exc.message)
    details: dict[str, Alert] = {}
    documents: dict[str, bytes] = {}
    errors: dict[str, str] = {}
    for entry_id in entries_to_fetch(state, result, now):
        known = entry_id in state.detail_failures
        try:
            fetched = client.warning(entry_id)
        except NinaFeedError as exc:
            if not known:  # once per disturbance, not once per retry
                log.warning("nina warning=%s event=details_failed error=%r", entry_id, exc.message)
            errors[entry_id] = exc.message
            continue
        if known:
            log.info("nina warning=%s event=details_recovered", entry_id)
        details[entry_id] = fetched.alert
        documents[entry_id] = fetched.raw
    new_state, changes = poll_step(state, result, details, now, config, errors)
    for change in changes:
        log.info("nina feed=%s warning=%s event=%s", state.key, change.key, change.kind.value)
    return PollOutcome(new_state, changes, documents, errors)


def feed_keys(ars_values: Iterable[str]) -> list[str]:
    """The distinct dashboard keys to poll for a set of tenant/display ARS."""
    return sorted({nina_dashboard_key(a) for a in ars_values})
