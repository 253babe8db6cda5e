"""External services of the messaging area, faked on 127.0.0.1: a real SMTP server
(aiosmtpd) and a push service that decrypts what it gets (http_ece) with the
subscription's private key and checks the VAPID signature, as a browser vendor's would."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from aiosmtpd.controller import Controller
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Collect:
    def __init__(self, box: SmtpServer) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.box.lock:
            self.box.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that keeps what it receives; stop/start keep the port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for rcpts, m in self.received if address in rcpts]

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} mails arrived")
            time.sleep(0.01)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class BrowserKeys:
    """What a browser makes for one push subscription (RFC 8291)."""

    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )


def verify_vapid(header: str, origin: str) -> dict[str, Any]:
    """Check ``Authorization: vapid t=<JWT>,k=<key>`` (RFC 8292): ES256 over the JWT
    with the key in ``k``, audience = the push service's origin, expiry ≤ 24 h."""
    scheme, _, params = header.partition(" ")
    assert scheme.lower() == "vapid", header
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    token, key = parts["t"], parts["k"]
    head_b64, claims_b64, sig_b64 = token.split(".")
    assert json.loads(unb64url(head_b64))["alg"] == "ES256"
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    sig = unb64url(sig_b64)
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise AssertionError("VAPID signature does not verify") from exc
    claims = json.loads(unb64url(claims_b64))
    assert claims["aud"] == origin, claims
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
    assert claims["sub"].startswith(("mailto:", "https:", "http:")), claims
    return {"claims": claims, "key": key}


class PushService:
    """A push service on 127.0.0.1: ``/push/<name>`` endpoints, one per browser."""

    def __init__(self) -> None:
        self.browsers: dict[str, BrowserKeys] = {}
        self.answers: dict[str, int] = {}  # name -> status to answer (default 201)
        self.delivered: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.vapid_keys: set[str] = set()
        self.errors: list[str] = []
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                name = self.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = service.receive(name, body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def browser(self, name: str) -> dict[str, Any]:
        """A new subscription as ``PushSubscription.toJSON()`` gives it."""
        keys = BrowserKeys()
        self.browsers[name] = keys
        return {
            "endpoint": f"{self.origin}/push/{name}",
            "keys": {"p256dh": keys.p256dh, "auth": b64url(keys.auth)},
        }

    def receive(self, name: str, body: bytes, headers: dict[str, str]) -> int:
        keys = self.browsers.get(name)
        if keys is None:
            return 404
        answer = self.answers.get(name, 201)
        if answer != 201:
            return answer
        try:
            lower = {k.lower(): v for k, v in headers.items()}
            assert lower["content-encoding"] == "aes128gcm", lower
            assert int(lower["ttl"]) > 0
            vapid = verify_vapid(lower["authorization"], self.origin)
            plain = http_ece.decrypt(
                body, private_key=keys.private, auth_secret=keys.auth, version="aes128gcm"
            )
            message = json.loads(plain)
        except Exception as exc:  # the test reads these
            with self.lock:
                self.errors.append(f"{name}: {exc!r}")
            return 400
        with self.lock:
            self.vapid_keys.add(vapid["key"])
            self.delivered.append((name, message, lower))
        return 201

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
