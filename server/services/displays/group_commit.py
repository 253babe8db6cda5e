"""Group commit: many small writes from concurrent requests in one transaction.

2,000 players send a heartbeat a minute each, and after a warning every one of them
acknowledges it within the same second. Written one by one, each is a transaction of
its own: a connection checkout, statements, a commit, a round trip each. Here the
requests queue their rows; one of them (the leader) writes the queue in one transaction
and wakes the others with their results. Every request still answers only once its row
is committed, so an answer to the player still means "stored".

Leadership is handed on: after its batch the leader appoints the first request that
queued meanwhile, so no request ever writes more than one batch for the others. With
``gather_s`` the leader first waits that long for more rows (heartbeats: a second is
nothing to a player, and it turns 30 transactions into one); with 0, batches form only
from what arrives while the previous one is written (acknowledgements: no added delay).

Works under gevent (greenlets) and threads alike: only ``threading`` primitives and
``time.sleep``, which gevent patches.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Entry(Generic[T, R]):
    __slots__ = ("item", "event", "lead", "result", "error")

    def __init__(self, item: T) -> None:
        self.item = item
        self.event = threading.Event()
        self.lead = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        write: Callable[[list[T]], Sequence[R]],
        *,
        gather_s: float = 0.0,
        max_batch: int = 1000,
    ) -> None:
        self._write = write
        self.gather_s = gather_s
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Entry[T, R]] = []
        self._leading = False
        self.batches = 0  # for tests and the benchmark
        self.items = 0

    def submit(self, item: T) -> R:
        """Queue ``item``; returns its result once its batch is committed, or raises
        what the batch's write raised."""
        entry: _Entry[T, R] = _Entry(item)
        with self._lock:
            self._queue.append(entry)
            if not self._leading:
                self._leading = True
                entry.lead = True
        if not entry.lead:
            entry.event.wait()  # set when written, or when appointed the next leader
        if entry.lead:
            if self.gather_s > 0:
                time.sleep(self.gather_s)
            self._write_batch()
        if entry.error is not None:
            raise entry.error
        return entry.result  # type: ignore[return-value]

    def _write_batch(self) -> None:
        with self._lock:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
        try:
            results = self._write([e.item for e in batch])
            if len(results) != len(batch):
                raise RuntimeError("group commit: one result per item expected")
            for entry, result in zip(batch, results, strict=True):
                entry.result = result
        except BaseException as exc:  # every waiter must wake, whatever happened
            for entry in batch:
                entry.error = exc
        with self._lock:
            self.batches += 1
            self.items += len(batch)
            successor = self._queue[0] if self._queue else None
            if successor is not None:
                successor.lead = True
            else:
                self._leading = False
        for entry in batch:
            entry.lead = False
            entry.event.set()
        if successor is not None:
            successor.event.set()
