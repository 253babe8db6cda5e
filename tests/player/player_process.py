"""Start the real player (``python -m player``) as a process for integration tests."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def wait_for(condition, timeout: float = 60.0, interval: float = 0.01, what: str = "condition"):
    """Wait on a condition with a deadline (never for a fixed time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


class PlayerProcess:
    def __init__(self, workdir: Path, server_url: str, **options: Any) -> None:
        self.workdir = workdir
        self.state_dir = workdir / "state"
        self.config = workdir / "player.ini"
        self.log = workdir / "player.log"
        opts = {
            "provisioning_token": "prov-secret-123",
            "stale_after_seconds": 300,
            "poll_wait_seconds": 2,
            "heartbeat_seconds": 5,
            "backoff_cap_seconds": 1,
            **options,
        }
        self.config.write_text(
            "[server]\n"
            f"url = {server_url}\n"
            f"provisioning_token = {opts['provisioning_token']}\n"
            f"poll_wait_seconds = {opts['poll_wait_seconds']}\n"
            f"heartbeat_seconds = {opts['heartbeat_seconds']}\n"
            f"backoff_cap_seconds = {opts['backoff_cap_seconds']}\n"
            "[player]\n"
            f"state_dir = {self.state_dir}\n"
            "kiosk_host = 127.0.0.1\n"
            "kiosk_port = 0\n"
            f"stale_after_seconds = {opts['stale_after_seconds']}\n"
            "[screen]\n"
            "control = none\n"
        )
        self.proc: subprocess.Popen | None = None
        self.kiosk_url: str | None = None

    def start(self, wait_kiosk: bool = True) -> PlayerProcess:
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        env["PYTHONPATH"] = str(REPO)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "player", "--config", str(self.config)],
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        if wait_kiosk:
            self.kiosk_url = wait_for(self._kiosk_url, what="kiosk server")
        return self

    def _kiosk_url(self) -> str | None:
        if self.proc and self.proc.poll() is not None:
            raise AssertionError(f"player exited: {self.output()}")
        text = self.log.read_bytes()[self._log_offset :].decode(errors="replace")
        match = re.search(r"event=kiosk_listening url=(\S+)", text)
        return match.group(1) if match else None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.kiosk_url.rstrip("/") + path, timeout=30) as r:
            return json.loads(r.read())

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=35)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    # -- what is on disk ------------------------------------------------------------------

    def stored_manifest(self) -> dict[str, Any] | None:
        path = self.state_dir / "manifest.json"
        if not path.exists():
            return None
        return json.loads(path.read_text())

    def referenced(self, manifest: dict[str, Any] | None) -> set[str]:
        if not manifest:
            return set()
        shas = set()
        for item in manifest["manifest"]["items"]:
            shas.add(item["slide"]["sha256"])
            shas.update(a["sha256"] for a in item["assets"])
        return shas

    def read_asset(self, name: str) -> bytes | None:
        """The bytes of a stored file, or None when it is not (or no longer) there."""
        try:
            return (self.state_dir / "assets" / name).read_bytes()
        except FileNotFoundError:
            return None

    def verified(self, sha: str) -> bool:
        data = self.read_asset(sha)
        return data is not None and hashlib.sha256(data).hexdigest() == sha

    def consistency_problems(self) -> list[str]:
        """Everything the stored manifest refers to is there and correct; nothing with a
        final name is damaged.

        The player may be running: a file it prunes between the listing and the reading is
        gone, not damaged (it only ever prunes files no stored manifest refers to, and those
        are checked above). A file that is there with the wrong content — torn, truncated or
        corrupt — is damage, however briefly it exists."""
        problems = []
        manifest = self.stored_manifest()
        referenced = self.referenced(manifest)
        for sha in referenced:
            if not self.verified(sha):
                problems.append(f"missing or damaged: {sha[:12]}")
        assets = self.state_dir / "assets"
        if assets.exists():
            for path in assets.iterdir():
                if path.name.startswith(".tmp-") or path.name in referenced:
                    continue
                data = self.read_asset(path.name)
                if data is not None and hashlib.sha256(data).hexdigest() != path.name:
                    problems.append(f"damaged file with final name: {path.name[:12]}")
        return problems
