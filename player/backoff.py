"""Exponential backoff with a cap and full jitter (AWS architecture blog's variant)."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    def __init__(
        self,
        base: float = 1.0,
        cap: float = 60.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.base = base
        self.cap = cap
        self.rng = rng
        self.failures = 0

    def next_delay(self) -> float:
        """Record one more failure and return the delay before the next try."""
        ceiling = min(self.cap, self.base * 2.0 ** min(self.failures, 30))
        self.failures += 1
        return ceiling * self.rng()

    def reset(self) -> None:
        self.failures = 0
