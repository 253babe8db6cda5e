"""The server's one adapter for child processes (GUIDE rule 3: one adapter per library).

The server runs a few external tools (pg_dump/pg_restore for backups, pdfinfo/pdftoppm for
PDF slides) and, in development, the demo player. Everything else imports this module
instead of ``subprocess``; ruff's TID251 ban keeps it that way.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

#: What a failed or timed-out tool run raises (besides ``OSError`` when it is missing).
ToolError = subprocess.SubprocessError
ToolFailed = subprocess.CalledProcessError
Process = subprocess.Popen


def run_tool(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` to its end with its output captured as text."""
    return subprocess.run(
        list(cmd), env=env, capture_output=True, text=True, timeout=timeout, check=check
    )


def run_tool_quietly(cmd: Sequence[str], *, timeout: float) -> None:
    """Run ``cmd`` for its files, discarding (binary) output; raise if it fails."""
    subprocess.run(list(cmd), capture_output=True, timeout=timeout, check=True)


def start_child(cmd: Sequence[str], log_file: IO[bytes], cwd: Path | None = None) -> Process[bytes]:
    """Start a long-running child whose stdout and stderr go to ``log_file``."""
    return subprocess.Popen(list(cmd), stdout=log_file, stderr=subprocess.STDOUT, cwd=cwd)
