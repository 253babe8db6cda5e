"""Enrolment: a provisioning token from the config, or a pairing code that staff claim.

The pairing code and its claim secret are kept on disk, so a restart shows the same code.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from player import __version__
from player.cache import Cache, CacheError
from player.client import NotFound, Rejected, ServerError
from player.clock import TimeBase, parse_utc
from player.protocol import ProtocolError
from player.status import Status, kv

log = logging.getLogger("player")


class EnrolmentClient(Protocol):
    token: str | None
    last_date: datetime | None  # the Date header of the last answer

    def enroll(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def poll_enrollment(self, code: str, claim_secret: str) -> dict[str, Any]: ...


class Enrolment:
    def __init__(
        self,
        client: EnrolmentClient,
        cache: Cache,
        time: TimeBase,
        status: Status,
        *,
        hostname: str,
        provisioning_token: str = "",
        device_key: str = "",
    ) -> None:
        self.client = client
        self.cache = cache
        self.time = time
        self.status = status
        self.hostname = hostname
        self.provisioning_token = provisioning_token
        self.device_key = device_key
        self.pairing: dict[str, Any] | None = None

    @property
    def enrolled(self) -> bool:
        return bool(self.client.token)

    @property
    def pairing_code(self) -> str | None:
        code = (self.pairing or {}).get("pairing_code")
        return code if isinstance(code, str) else None

    def load(self) -> None:
        self.client.token = self.cache.read_token()
        pairing = self.cache.read_json("pairing.json")
        self.pairing = pairing if isinstance(pairing, dict) else None

    def step(self) -> float:
        """One enrolment request; returns the seconds to wait before the next pass."""
        try:
            return self._request()
        except ServerError as exc:
            if isinstance(exc, Rejected):
                return self.status.content_error(exc)
            return self.status.offline(exc)
        except (KeyError, TypeError) as exc:
            return self.status.content_error(ProtocolError(f"Antwort unvollständig: {exc}"))
        except CacheError as exc:
            return self.status.content_error(exc)

    def _request(self) -> float:
        body: dict[str, Any] = {"player_version": __version__, "hostname": self.hostname}
        if self.device_key:
            body["device_key"] = self.device_key
        if self.pairing and not self._pairing_expired():
            # Also with a provisioning token: the server holds a re-imaged device for
            # staff to choose "Gerät tauschen", and it shows the code meanwhile.
            return self._poll(self.pairing)
        if self.provisioning_token:
            body["provisioning_token"] = self.provisioning_token
        answer = self.client.enroll(body)
        self.status.contact(self.client.last_date)
        if answer.get("status") == "paired":
            return self._paired(answer)
        self.pairing = {
            k: answer[k] for k in ("pairing_code", "claim_secret", "expires_at", "poll_after_s")
        }
        self.cache.write_json("pairing.json", self.pairing)
        log.info(kv(event="pairing_code", code=self.pairing["pairing_code"]))
        self.status.healthy()
        return float(answer.get("poll_after_s", 5))

    def _poll(self, pairing: dict[str, Any]) -> float:
        try:
            answer = self.client.poll_enrollment(pairing["pairing_code"], pairing["claim_secret"])
        except NotFound:
            log.info(kv(event="pairing_expired", code=pairing["pairing_code"]))
            self.pairing = None
            self.cache.remove("pairing.json")
            return 0.0
        self.status.contact(self.client.last_date)
        if answer.get("status") == "paired":
            return self._paired(answer)
        self.status.healthy()
        return float(answer.get("poll_after_s", 5))

    def _pairing_expired(self) -> bool:
        try:
            return self.time.now() >= parse_utc(str((self.pairing or {})["expires_at"]))
        except (KeyError, TypeError, ValueError):
            return True

    def _paired(self, answer: dict[str, Any]) -> float:
        token = answer["token"]
        self.cache.write_token(token)
        self.client.token = token
        self.pairing = None
        self.cache.remove("pairing.json")
        display = answer.get("display") or {}
        log.info(kv(event="enrolled", display=display.get("id"), name=display.get("name", "")))
        self.status.healthy()
        return 0.0
