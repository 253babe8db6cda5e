"""The layer contracts of pyproject.toml ([tool.importlinter]) hold, so CI enforces them.

Domain imports nothing of the server outside itself (and no Flask, no SQLAlchemy),
services never import the web layer, models neither services nor the web, feeds not the
web, services import no Flask. ``lint-imports`` (``make check``) runs the same contracts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# In a child process: import-linter configures logging as a command line tool does,
# which in this process would switch off the loggers later tests capture.
LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True))"
)


def test_layer_contracts_are_kept() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # grimp finds the root packages here
    result = subprocess.run(
        [sys.executable, "-c", LINT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    out = result.stdout + result.stderr
    assert "5 kept, 0 broken" in out, out
    assert result.returncode == 0, out
