"""parallel.fork_map: results in order, errors raised where the results are read, workers always stopped."""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tokenward.parallel import WorkerDied, fork_map


def _square_and_pid(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def test_results_come_in_item_order_from_the_workers() -> None:
    out = list(fork_map(_square_and_pid, range(300), 2))
    assert [square for square, _ in out] == [n * n for n in range(300)]
    assert os.getpid() not in {pid for _, pid in out}
    assert not multiprocessing.active_children()


def test_fewer_than_two_items_or_one_job_run_inline() -> None:
    assert list(fork_map(_square_and_pid, [3], 4)) == [(9, os.getpid())]
    assert list(fork_map(_square_and_pid, range(3), 1)) == [(n * n, os.getpid()) for n in range(3)]
    assert list(fork_map(_square_and_pid, [], 2)) == []


def _fail_on_7(n: int) -> int:
    if n == 7:
        raise ValueError(f"bad item {n}")
    return n


def test_an_error_in_a_worker_is_raised_to_the_reader_after_the_results_before_it() -> None:
    got: list[int] = []
    with pytest.raises(ValueError, match="bad item 7") as raised:
        for n in fork_map(_fail_on_7, range(50), 2):
            got.append(n)
    assert got == list(range(7))
    assert "_fail_on_7" in "\n".join(getattr(raised.value, "__notes__", []))  # the worker's traceback
    assert not multiprocessing.active_children()


class _Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("cannot travel")
        self.lock = threading.Lock()


def _raise_unpicklable(n: int) -> int:
    if n == 3:
        raise _Unpicklable()
    return n


def test_an_exception_that_cannot_be_pickled_still_says_what_it_was() -> None:
    with pytest.raises(RuntimeError, match="_Unpicklable: cannot travel"):
        list(fork_map(_raise_unpicklable, range(10), 2))


def _items_then_fail() -> Iterator[int]:
    yield from range(5)
    raise OSError("listing broke")


def test_an_error_while_listing_the_items_is_raised_to_the_reader() -> None:
    with pytest.raises(OSError, match="listing broke"):
        list(fork_map(_square_and_pid, _items_then_fail(), 2))
    assert not multiprocessing.active_children()


def _die_on_4(n: int) -> int:
    if n == 4:
        os._exit(9)  # as a crash or the OOM killer would end it: no result, no exception
    return n


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    with pytest.raises(WorkerDied, match="ended early"):
        list(fork_map(_die_on_4, range(20), 2))
    assert not multiprocessing.active_children()


def test_leaving_the_loop_early_stops_the_workers() -> None:
    results = fork_map(_square_and_pid, range(100_000), 2)
    assert next(results)[0] == 0
    results.close()
    assert not multiprocessing.active_children()


_MARKS: Path | None = None


def _register_exit_hook(n: int) -> int:
    assert _MARKS is not None
    mark = _MARKS / str(os.getpid())
    if not mark.exists():
        mark.write_text("")
        # What a git scan's worker does to stop its `git cat-file` (sources/gitobjects.py).
        multiprocessing.util.Finalize(None, mark.write_text, args=("exited",), exitpriority=10)
    return n


def test_workers_run_their_exit_hooks_when_the_map_is_done(tmp_path: Path) -> None:
    global _MARKS
    _MARKS = tmp_path
    assert list(fork_map(_register_exit_hook, range(40), 2)) == list(range(40))
    marks = list(tmp_path.iterdir())
    assert marks and all(m.read_text() == "exited" for m in marks)
