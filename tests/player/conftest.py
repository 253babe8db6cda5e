"""Fixtures for the player tests: fakes live in player_fakes.py beside this file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from player_fakes import FakeClient, FakeClock, FakeKiosk, FakeScreen, World  # noqa: E402

REPO = HERE.parent.parent
SCHEMA_PATH = REPO / "contract" / "player-protocol-v1.schema.json"


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path / "state")


__all__ = ["FakeClient", "FakeClock", "FakeKiosk", "FakeScreen", "World", "SCHEMA_PATH"]
