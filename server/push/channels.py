"""Channel names: which streams a display may hold, and where a change is published.

``d<display>`` its own, ``t<tenant>`` its Kommune (notices, content, configuration of
its displays and groups), ``w<tenant>-<ARS>-<0|1>`` the warnings for its place (the
Kommune's or the display's own ARS; ``1`` for test displays, W7). Warnings go to the
place, not to a Kreis or Land channel: which warning concerns which place is decided on
the server (W4: ARS, warn cells, geometry, area names), so each place gets the finished
list, one message per place however many screens show it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

MAX_CHANNELS = 16
_NAME = re.compile(r"^(d\d{1,12}|t\d{1,12}|w\d{1,12}-\d{2,12}-[01])$")


class HasPlace(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def tenant_id(self) -> int: ...
    @property
    def place_ars(self) -> str: ...
    @property
    def test_display(self) -> bool: ...


def warnings_channel(tenant_id: int, place_ars: str, test_display: bool) -> str:
    return f"w{tenant_id}-{place_ars}-{int(test_display)}"


def tenant_channel(tenant_id: int) -> str:
    return f"t{tenant_id}"


def display_channels(snap: HasPlace) -> tuple[str, ...]:
    """Every channel this display listens on, in a fixed order."""
    return (
        f"d{snap.id}",
        tenant_channel(snap.tenant_id),
        warnings_channel(snap.tenant_id, snap.place_ars, snap.test_display),
    )


def parse_request(raw: str) -> tuple[str, ...] | None:
    """The channels a stream request asks for (``c=a,b``), or None if malformed."""
    names = tuple(n for n in raw.split(",") if n)
    if not names or len(names) > MAX_CHANNELS or len(set(names)) != len(names):
        return None
    if not all(_NAME.match(n) for n in names):
        return None
    return names


def allowed(requested: Iterable[str], snap: HasPlace) -> bool:
    """A display may subscribe to its own channels only (D6)."""
    return set(requested) <= set(display_channels(snap))
