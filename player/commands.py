"""The player's one adapter to ``subprocess`` (GUIDE rule 3; a ruff ban keeps it so).

Screen power (``player.screen``) runs ``cec-client`` and ``wlr-randr`` through a ``Runner``;
tests pass a fake runner instead.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

COMMAND_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str = ""
    stderr: str = ""


Runner = Callable[[Sequence[str], str | None], CommandResult]


def subprocess_runner(args: Sequence[str], stdin: str | None = None) -> CommandResult:
    """Run a command; a missing tool answers 127 and a hanging one 124, never an exception."""
    try:
        done = subprocess.run(
            list(args),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        return CommandResult(127, "", f"{args[0]}: not found")
    except subprocess.TimeoutExpired:
        return CommandResult(124, "", f"{args[0]}: timed out after {COMMAND_TIMEOUT_S:.0f} s")
    except OSError as exc:
        return CommandResult(126, "", f"{args[0]}: {exc}")
    return CommandResult(done.returncode, done.stdout or "", done.stderr or "")
