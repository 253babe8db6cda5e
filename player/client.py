"""The server side of protocol v1 as seen by the player: the only module that uses requests."""

from __future__ import annotations

import codecs
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from player.protocol import API_PREFIX

STREAM_READ_TIMEOUT_S = 70.0  # the server sends a keep-alive comment at least every 30 s


class ServerError(Exception):
    """Base: the server could not be used for this request."""

    code = "server_error"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Unreachable(ServerError):
    """Network down, timeout, or a 5xx: try again later."""

    code = "server_unreachable"


class Rejected(ServerError):
    """A 4xx answer: the request itself was refused."""

    code = "request_rejected"


class Unauthorized(Rejected):
    """401/403: the token is unknown or revoked."""

    code = "unauthorized"


class NotFound(Rejected):
    code = "not_found"


@dataclass
class ManifestAnswer:
    changed: bool
    manifest: dict[str, Any] | None
    etag: str | None
    server_date: datetime | None


def _date(response: requests.Response) -> datetime | None:
    raw = response.headers.get("Date")
    if not raw:
        return None
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _as_they_arrive(response: requests.Response) -> Iterator[bytes]:
    """The body in the pieces the network delivers them. An event stream has neither a
    length nor chunked encoding behind nginx, and ``iter_content`` would wait for a full
    buffer: urllib3 2's ``read1`` returns what is there; older urllib3 reads byte-wise."""
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None:
        yield from response.iter_content(chunk_size=1)
        return
    while True:
        data = read1(65536)
        if not data:
            return
        yield data


class HttpClient:
    def __init__(self, base_url: str, user_agent: str, timeout: float = 15.0) -> None:
        self.base = base_url.rstrip("/") + API_PREFIX
        self.user_agent = user_agent
        self.timeout = timeout
        self.token: str | None = None
        self._local = threading.local()
        self.last_date: datetime | None = None

    def _session(self) -> requests.Session:
        # requests.Session is not thread-safe; the kiosk thread sends acks on its own.
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = self.user_agent
            self._local.session = session
        return session

    def _request(
        self,
        method: str,
        path: str,
        *,
        auth: str | None = None,
        timeout: float | tuple[float, float] | None = None,
        base: str | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        headers = kwargs.pop("headers", {})
        bearer = auth if auth is not None else self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            response = self._session().request(
                method,
                (base or self.base) + path,
                headers=headers,
                timeout=timeout or self.timeout,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from None
        self.last_date = _date(response) or self.last_date
        if response.status_code >= 500:
            response.close()
            raise Unreachable(f"HTTP {response.status_code}", response.status_code)
        if response.status_code in (401, 403):
            response.close()
            raise Unauthorized(f"HTTP {response.status_code}", response.status_code)
        if response.status_code in (404, 410):
            response.close()
            raise NotFound(f"HTTP {response.status_code}", response.status_code)
        if response.status_code >= 400:
            detail = ""
            try:
                detail = str(response.json().get("detail", ""))
            except ValueError:
                pass
            response.close()
            raise Rejected(f"HTTP {response.status_code} {detail}".strip(), response.status_code)
        return response

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            raise Unreachable("Antwort ist kein JSON", response.status_code) from None
        if not isinstance(data, dict):
            raise Unreachable("Antwort ist kein JSON-Objekt", response.status_code)
        return data

    # -- enrolment ----------------------------------------------------------------------

    def enroll(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._json(self._request("POST", "enroll", json=body, auth=""))

    def poll_enrollment(self, code: str, claim_secret: str) -> dict[str, Any]:
        return self._json(self._request("GET", f"enroll/{code}", auth=claim_secret))

    # -- content ------------------------------------------------------------------------

    def manifest(self, etag: str | None, wait: int) -> ManifestAnswer:
        headers = {"If-None-Match": f'"{etag}"'} if etag else {}
        response = self._request(
            "GET",
            "manifest",
            params={"wait": str(wait)},
            headers=headers,
            timeout=wait + self.timeout,
        )
        if response.status_code == 304:
            response.close()
            return ManifestAnswer(False, None, etag, _date(response))
        data = self._json(response)
        new_etag = response.headers.get("ETag", "").strip('W/"') or data.get("etag")
        return ManifestAnswer(True, data, new_etag, _date(response))

    @contextmanager
    def asset(self, sha256: str) -> Iterator[Iterator[bytes]]:
        response = self._request("GET", f"assets/{sha256}", stream=True)
        try:

            def chunks() -> Iterator[bytes]:
                try:
                    yield from response.iter_content(chunk_size=65536)
                except requests.RequestException as exc:
                    raise Unreachable(f"Abbruch beim Laden: {exc}") from None

            yield chunks()
        finally:
            response.close()

    @contextmanager
    def event_stream(
        self, url_base: str, path: str, params: dict[str, str], headers: dict[str, str]
    ) -> Iterator[Iterator[str]]:
        """A text/event-stream as text chunks as they arrive (protocol v2, player.stream).
        The read timeout is longer than the server's keep-alive comments."""
        response = self._request(
            "GET",
            path,
            base=url_base,
            params=params,
            headers=headers,
            stream=True,
            timeout=(self.timeout, STREAM_READ_TIMEOUT_S),
        )
        try:

            def chunks() -> Iterator[str]:
                decoder = codecs.getincrementaldecoder("utf-8")("replace")
                try:
                    for chunk in _as_they_arrive(response):
                        yield decoder.decode(chunk)
                except (requests.RequestException, OSError) as exc:
                    raise Unreachable(f"Stream abgebrochen: {type(exc).__name__}") from None

            yield chunks()
        finally:
            response.close()

    def request_json(
        self, url_base: str, path: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        """GET returning status, JSON body (None for 304) and headers (protocol v2)."""
        response = self._request("GET", path, base=url_base, headers=headers)
        if response.status_code == 304:
            response.close()
            return 304, None, dict(response.headers)
        return response.status_code, self._json(response), dict(response.headers)

    # -- reports ------------------------------------------------------------------------

    def heartbeat(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._json(self._request("POST", "heartbeat", json=body))

    def events(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._json(self._request("POST", "events", json=body))

    def ack(self, alert_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json(self._request("POST", f"alerts/{alert_id}/ack", json=body, timeout=5))
