"""OParl 1.0/1.1 client (https://oparl.org): fetch meetings and resolve their references.

The only module that talks to council information systems. Every failure — timeout,
connection error, HTTP error, an HTML page instead of JSON, broken JSON, an object of the
wrong type — becomes an :class:`~server.domain.oparl.OParlError` subclass with a German
message, so callers can show it and leave the database untouched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from server.domain.oparl import OParlDataError, OParlError, oparl_type, require_type

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "Aushang/0.1 (OParl-Import fuer amtliche Bekanntmachungen)"
MAX_RESPONSE_BYTES = 20 * 1024 * 1024


class OParlTimeoutError(OParlError):
    """The server did not answer in time."""


class OParlConnectionError(OParlError):
    """The server could not be reached."""


class OParlHTTPError(OParlError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class OParlFormatError(OParlError):
    """The answer was not JSON (an HTML error page, broken JSON, too large)."""


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to (or replacing keys in) its query string."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += sorted(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _since(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class OParlClient:
    """A small synchronous OParl client. ``timeout`` is seconds per request."""

    timeout: float = 15.0
    user_agent: str = DEFAULT_USER_AGENT
    max_pages: int = 500
    session: requests.Session = field(default_factory=requests.Session)
    _cache: dict[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)

    # -- transport -------------------------------------------------------------------

    def get_json(self, url: str) -> Any:
        """GET ``url`` and return its JSON, or raise an :class:`OParlError`."""
        host = urlsplit(url).netloc or url
        if urlsplit(url).scheme not in ("http", "https"):
            raise OParlError(f"„{url}“ ist keine http(s)-Adresse.")
        try:
            response = self.session.get(
                url,
                timeout=self.timeout,
                headers={"User-Agent": self.user_agent, "Accept": "application/json"},
                stream=True,
            )
        except requests.Timeout:
            raise OParlTimeoutError(
                f"Der OParl-Server {host} hat nicht innerhalb von {self.timeout:g} Sekunden "
                "geantwortet. Bitte später erneut versuchen."
            ) from None
        except requests.RequestException as exc:
            raise OParlConnectionError(
                f"Der OParl-Server {host} ist nicht erreichbar ({type(exc).__name__})."
            ) from None
        with response:
            try:
                raw = self._read_limited(response, host)
            except requests.Timeout:
                raise OParlTimeoutError(
                    f"Der OParl-Server {host} hat die Antwort nicht innerhalb von "
                    f"{self.timeout:g} Sekunden vollständig geliefert."
                ) from None
            except requests.RequestException as exc:
                raise OParlConnectionError(
                    f"Die Verbindung zum OParl-Server {host} brach ab ({type(exc).__name__})."
                ) from None
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        looks_like_html = content_type in ("text/html", "application/xhtml+xml") or raw.lstrip()[
            :15
        ].lower().startswith((b"<!doctype", b"<html"))
        if response.status_code >= 400:
            detail = " (eine HTML-Fehlerseite)" if looks_like_html else ""
            raise OParlHTTPError(
                f"Der OParl-Server {host} antwortete auf {url} mit HTTP-Status "
                f"{response.status_code}{detail}.",
                response.status_code,
            )
        if looks_like_html:
            raise OParlFormatError(
                f"Der OParl-Server {host} lieferte für {url} eine HTML-Seite statt JSON "
                "(vermutlich eine Fehler- oder Anmeldeseite). Ist die Adresse der "
                "OParl-Schnittstelle richtig?"
            )
        try:
            return json.loads(raw.decode(response.encoding or "utf-8"))
        except (UnicodeDecodeError, LookupError):
            raise OParlFormatError(
                f"Die Antwort des OParl-Servers {host} auf {url} ist kein lesbarer Text."
            ) from None
        except json.JSONDecodeError as exc:
            raise OParlFormatError(
                f"Die Antwort des OParl-Servers {host} auf {url} ist kein gültiges JSON "
                f"(Zeile {exc.lineno}, Spalte {exc.colno})."
            ) from None

    @staticmethod
    def _read_limited(response: requests.Response, host: str) -> bytes:
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_content(64 * 1024):
            total += len(chunk)
            if total > MAX_RESPONSE_BYTES:
                raise OParlFormatError(
                    f"Die Antwort des OParl-Servers {host} ist größer als "
                    f"{MAX_RESPONSE_BYTES // (1024 * 1024)} MB und wird nicht verarbeitet."
                )
            chunks.append(chunk)
        return b"".join(chunks)

    # -- objects and lists -----------------------------------------------------------

    def get_object(self, url: str, expected: str | None = None) -> Mapping[str, Any]:
        """Fetch one OParl object; with ``expected`` its type is checked."""
        cached = self._cache.get(url)
        if cached is None:
            data = self.get_json(url)
            if not isinstance(data, Mapping):
                raise OParlDataError(f"Unter {url} steht kein OParl-Objekt.")
            cached = data
            self._cache[url] = cached
        if expected is not None:
            require_type(cached, expected, url)
        return cached

    def iter_list(
        self, url: str, *, modified_since: datetime | None = None
    ) -> Iterator[Mapping[str, Any]]:
        """Yield the objects of a paginated OParl list, following ``links.next``.

        ``modified_since`` goes into the first URL only: servers carry the filter into
        their ``next`` links (OParl 1.1, 2.4.5).
        """
        first_url = self._filtered(url, modified_since)
        yield from self._pages(first_url, self.get_json(first_url))

    @staticmethod
    def _filtered(url: str, modified_since: datetime | None) -> str:
        if modified_since is None:
            return url
        return with_query(url, modified_since=_since(modified_since))

    def _pages(self, url: str, page: Any) -> Iterator[Mapping[str, Any]]:
        seen = {url}
        while True:
            if not isinstance(page, Mapping) or not isinstance(page.get("data"), list):
                raise OParlDataError(
                    f"Unter {url} steht keine OParl-Liste (das Feld „data“ fehlt)."
                )
            yield from page["data"]
            links = page.get("links")
            following = links.get("next") if isinstance(links, Mapping) else None
            if not isinstance(following, str) or not following:
                return
            if following in seen:
                raise OParlDataError(f"Die Seitenfolge der Liste {url} bildet eine Schleife.")
            if len(seen) >= self.max_pages:
                raise OParlDataError(f"Die Liste {url} hat mehr als {self.max_pages} Seiten.")
            seen.add(following)
            url = following
            page = self.get_json(url)

    # -- meetings --------------------------------------------------------------------

    def fetch_meetings(
        self, url: str, *, modified_since: datetime | None = None
    ) -> list[Mapping[str, Any]]:
        """Meetings behind ``url``, references resolved, ready for ``meeting_to_draft``.

        ``url`` may be a meeting list (``Body.meeting``), a single Meeting, a Body or a
        System (then the meetings of all its bodies). Everything is fetched before anything
        is returned, so an error part-way leaves the caller with nothing to apply.
        """
        first_url = self._filtered(url, modified_since)
        first = self.get_json(first_url)
        kind = oparl_type(first) if isinstance(first, Mapping) else ""
        raw: list[Mapping[str, Any]]
        if isinstance(first, Mapping) and "data" in first:
            raw = list(self._pages(first_url, first))
        elif kind == "Meeting":
            raw = [first]
        elif kind == "Body":
            raw = list(
                self.iter_list(self._list_url(first, "meeting"), modified_since=modified_since)
            )
        elif kind == "System":
            raw = []
            for body in self.iter_list(self._list_url(first, "body")):
                body = require_type(body, "Body", "Körperschaft")
                raw += self.iter_list(
                    self._list_url(body, "meeting"), modified_since=modified_since
                )
        else:
            found = f" (sondern ein Objekt vom Typ {kind})" if kind else ""
            raise OParlDataError(
                f"Unter {url} steht weder eine Sitzungsliste noch eine Sitzung, Körperschaft "
                f"oder ein OParl-System{found}."
            )
        return [self.resolve_meeting(meeting) for meeting in raw]

    @staticmethod
    def _list_url(obj: Mapping[str, Any], key: str) -> str:
        value = obj.get(key)
        if not isinstance(value, str) or not value:
            raise OParlDataError(f"Dem OParl-Objekt {obj.get('id')} fehlt die Liste „{key}“.")
        return value

    def resolve_meeting(self, meeting: object) -> dict[str, Any]:
        """Return a copy of ``meeting`` with agenda items, location, organizations and
        invitation embedded as objects (fetching those given as URLs)."""
        data = dict(require_type(meeting, "Meeting", "Sitzung"))
        if data.get("deleted") is True:
            return data
        items = data.get("agendaItem")
        if isinstance(items, list):
            data["agendaItem"] = [self._embed(item, "AgendaItem") for item in items]
        for key, kind in (("location", "Location"), ("invitation", "File")):
            if isinstance(data.get(key), str):
                data[key] = self._embed(data[key], kind)
        organizations = data.get("organization")
        if isinstance(organizations, list):
            resolved: list[Any] = []
            for org in organizations:
                try:
                    resolved.append(self._embed(org, "Organization"))
                except OParlError as exc:
                    # The committee's name is a nicety; the draft says it is missing.
                    log.warning("oparl event=organization-unresolved url=%s error=%s", org, exc)
                    resolved.append(org)
            data["organization"] = resolved
        return data

    def _embed(self, value: object, kind: str) -> Any:
        if isinstance(value, str):
            return self.get_object(value, kind)
        return value
