"""Posting to browsers' push services (RFC 8030): the server's only Web Push HTTP client.

``pywebpush`` encrypts the payload for the subscription (RFC 8291, aes128gcm, through
``http_ece``) and posts it; the VAPID token (RFC 8292, ``py_vapid``) is valid for one
push service origin, so one token per origin is kept for an hour instead of signing
each of thousands of requests.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from py_vapid import Vapid02
from pywebpush import WebPusher

TOKEN_LIFETIME_S = 12 * 3600
TOKEN_REUSE_S = 3600


class Subscription(Protocol):
    endpoint: str
    p256dh: str
    auth: str


class Pusher:
    """Posts encrypted messages; one HTTP session (keep-alive) per run."""

    def __init__(self, key: Vapid02, subject: str, timeout: float = 10.0) -> None:
        self.key = key
        self.subject = subject
        self.timeout = timeout
        # Worker threads post in parallel: one HTTP session (keep-alive) per thread.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[float, dict[str, str]]] = {}

    @property
    def http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(session)
        return session

    def _vapid_headers(self, endpoint: str) -> dict[str, str]:
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            cached = self._tokens.get(audience)
            now = time.time()
            if cached is None or now - cached[0] > TOKEN_REUSE_S:
                claims = {"aud": audience, "exp": int(now) + TOKEN_LIFETIME_S, "sub": self.subject}
                cached = (now, self.key.sign(claims))
                self._tokens[audience] = cached
            return dict(cached[1])

    def send(self, sub: Subscription, message: dict[str, Any], ttl: int) -> int:
        """Post one message; returns the push service's status (``-1``: unreachable)."""
        info = {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
        data = json.dumps(message, ensure_ascii=False).encode()
        headers = self._vapid_headers(sub.endpoint)
        headers["Urgency"] = "high" if message.get("urgent") else "normal"
        try:
            response = WebPusher(info, requests_session=self.http).send(
                data=data, headers=headers, ttl=ttl, timeout=self.timeout
            )
        except requests.RequestException:
            return -1
        return int(response.status_code)  # type: ignore[union-attr]

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
