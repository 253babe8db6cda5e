"""Group commit: concurrent writes share one transaction, each caller gets its own
result only after its batch was written, and a failing batch fails all of its callers."""

from __future__ import annotations

import threading

import pytest

from server.services.displays.group_commit import GroupCommit


def _run_all(fn, items):
    results: dict[int, object] = {}

    def call(item):
        try:
            results[item] = fn(item)
        except Exception as exc:  # noqa: BLE001 - the test looks at what each caller got
            results[item] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in items]
    for t in threads:
        t.start()
    return threads, results


def _until(condition) -> None:
    """Wait (with a deadline) until ``condition()`` holds."""
    for _ in range(5000):
        if condition():
            return
        threading.Event().wait(0.001)
    raise AssertionError("condition not reached")


def _queued(group, n: int) -> bool:
    with group._lock:
        return len(group._queue) == n


def test_callers_queued_during_a_write_share_the_next_batch():
    first_batch_started = threading.Event()
    release = threading.Event()
    batches: list[list[int]] = []

    def write(items):
        batches.append(list(items))
        if len(batches) == 1:
            first_batch_started.set()
            assert release.wait(10)
        return [i * 10 for i in items]

    group = GroupCommit(write)
    threads, results = _run_all(group.submit, [0])
    assert first_batch_started.wait(10)
    # While the first batch is being written, nine more callers queue up.
    more, more_results = _run_all(group.submit, range(1, 10))
    _until(lambda: _queued(group, 9))
    release.set()
    for t in threads + more:
        t.join(10)
    assert results == {0: 0}
    assert more_results == {i: i * 10 for i in range(1, 10)}
    # One batch for the first caller, one for all nine who came while it was written.
    assert batches == [[0], list(range(1, 10))]
    assert (group.batches, group.items) == (2, 10)


def test_a_failing_batch_fails_each_of_its_callers_and_the_next_batch_still_runs():
    calls = []

    def write(items):
        calls.append(list(items))
        if len(calls) == 1:
            raise RuntimeError("database gone")
        return ["ok"] * len(items)

    group = GroupCommit(write)
    with pytest.raises(RuntimeError, match="database gone"):
        group.submit("a")
    assert group.submit("b") == "ok"
    assert calls == [["a"], ["b"]]


def test_wrong_number_of_results_is_an_error_not_a_silent_mixup():
    group = GroupCommit(lambda items: [])
    with pytest.raises(RuntimeError, match="one result per item"):
        group.submit(1)


def test_batches_are_capped():
    gate = threading.Event()
    seen: list[int] = []

    def write(items):
        seen.append(len(items))
        if len(seen) == 1:
            assert gate.wait(10)
        return items

    group = GroupCommit(write, max_batch=3)
    threads, _ = _run_all(group.submit, [0])
    _until(lambda: bool(seen))
    more, results = _run_all(group.submit, range(1, 8))
    _until(lambda: _queued(group, 7))
    gate.set()
    for t in threads + more:
        t.join(10)
    assert results == {i: i for i in range(1, 8)}
    assert seen == [1, 3, 3, 1]
