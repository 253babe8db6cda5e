"""Smoke run of ``python -m bench.messages`` with a few subscribers, so it cannot rot:
every message reaches the fake SMTP server and push service (exit code 0)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[2]


def test_messages_bench_hands_every_message_over():
    result = subprocess.run(
        [sys.executable, "-m", "bench.messages", "--emails", "20", "--pushes", "20", "--no-write"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "| 20 of 20 |" in out and out.count("20 of 20") == 2, out
