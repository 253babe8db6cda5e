"""The layer contracts of pyproject.toml ([tool.importlinter]) hold, so CI enforces them.

Domain imports nothing of the server outside itself (and no Flask, no SQLAlchemy),
services never import the web layer, models neither services nor the web, feeds not the
web, services import no Flask. ``lint-imports`` (``make check``) runs the same contracts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_layer_contracts_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)  # grimp finds the root packages on sys.path, the config here
    try:
        code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "5 kept, 0 broken" in out, out
    assert code == 0, out
