"""A fork-pool map: run a function over items in worker processes (the machine's cores), in order.

Generic on purpose: the scan pipeline (scanner.py) decides what a work item is and what a worker
does with it; this module only owns the processes.

Not multiprocessing.Pool: its worker-handler thread also waits on the result pipe, so it wakes and
loops for as long as any result sits unread — 0.2 CPU-s of the parent's (and the GIL's) time over a
240 MB tree, a tenth of the whole scan. Here a feeder thread deals the items into one task pipe (a
worker takes the next item when it is free) and the calling thread reads the results.
"""

from __future__ import annotations

import itertools
import multiprocessing
import pickle
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import wait
from typing import Any, TypeVar

from tokenward.errors import TokenwardError

T = TypeVar("T")
R = TypeVar("R")

# Set in the parent just before the fork: each worker inherits the function with everything it
# closes over (a compiled Hyperscan database, scratch space), so nothing is pickled per task.
_WORKER_FN: Callable[[Any], Any] | None = None
# Result indexes the feeder sends: every item is dealt (the value is their count), or listing failed.
_DEALT, _LISTING_FAILED = -1, -2


class WorkerDied(TokenwardError):
    """A worker process ended without returning every result it owed (killed, crashed): the scan
    cannot be complete, so it stops with this error instead of waiting forever."""


def picklable(exc: BaseException, stand_in: type[Exception] = RuntimeError) -> BaseException:
    """exc, when it survives a pickle round trip (to travel between processes); else a stand_in
    exception that says what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return stand_in(f"{type(exc).__name__}: {exc}")
    return exc


class _Channel:
    """A one-way pipe that several processes read from, or write to, one whole message at a time."""

    def __init__(self, ctx: Any) -> None:
        self.reader, self.writer = ctx.Pipe(duplex=False)
        self._read_lock, self._write_lock = ctx.Lock(), ctx.Lock()

    def put(self, message: Any) -> None:
        """Send one message (pickled outside the lock)."""
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        with self._write_lock:
            self.writer.send_bytes(data)

    def get(self) -> Any:
        """Receive the next message."""
        with self._read_lock:
            data = self.reader.recv_bytes()
        return pickle.loads(data)


def _work(tasks: _Channel, results: _Channel) -> None:
    """A worker's loop: (index, item) in, (index, ok, result or exception) out, until None."""
    assert _WORKER_FN is not None, "worker started without a function"
    while (task := tasks.get()) is not None:
        index, item = task
        try:
            results.put((index, True, _WORKER_FN(item)))
        except Exception as exc:  # the caller's loop raises it, as a plain map would
            exc.add_note("raised in a worker process:\n" + traceback.format_exc().rstrip())
            results.put((index, False, picklable(exc)))


class _Pool:
    """Forked workers sharing one task pipe and one result pipe."""

    def __init__(self, jobs: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self.tasks, self.results = _Channel(ctx), _Channel(ctx)
        self.workers = [ctx.Process(target=_work, args=(self.tasks, self.results), daemon=True)
                        for _ in range(jobs)]
        self.stopped = False
        for worker in self.workers:
            worker.start()

    def feed(self, items: Iterable[Any]) -> None:
        """Deal every item (run in a thread of its own), then one stop per worker."""
        count = 0
        try:
            for item in items:
                if self.stopped:
                    return
                self.tasks.put((count, item))
                count += 1
        except BrokenPipeError:
            return  # stopped early: no worker reads the tasks any more
        except BaseException as exc:  # re-raised by the reading side, never lost
            self.results.put((_LISTING_FAILED, False, picklable(exc)))
            return
        # The count goes before the stops: once every worker has exited, all it owed is in the pipe.
        self.results.put((_DEALT, True, count))
        try:
            for _ in self.workers:
                self.tasks.put(None)
        except BrokenPipeError:
            return

    def ordered(self) -> Iterator[Any]:
        """Each result in item order; raises what a worker (or the listing) raised."""
        held: dict[int, tuple[bool, Any]] = {}
        count: int | None = None
        nxt = 0
        while count is None or nxt < count:
            if nxt in held:
                ok, value = held.pop(nxt)
                if not ok:
                    raise value
                yield value
                nxt += 1
                continue
            index, ok, value = self._next()
            if index == _DEALT:
                count = value
            elif index == _LISTING_FAILED:
                raise value
            else:
                held[index] = (ok, value)

    def _next(self) -> tuple[int, bool, Any]:
        """The next message in the result pipe, whichever worker (or the feeder) wrote it."""
        reader = self.results.reader
        while True:
            alive = [w for w in self.workers if w.exitcode is None]
            failed = [w.exitcode for w in self.workers if w.exitcode]
            # Each result (and the count) is in the pipe before its worker can exit: with a worker
            # failed, or none left, an empty pipe means that what is missing is never coming.
            if (failed or not alive) and not reader.poll():
                raise WorkerDied(f"a worker process ended early (exit codes {failed or [0]})")
            if reader in wait([reader, *(w.sentinel for w in alive)]):
                return self.results.get()  # type: ignore[no-any-return]

    def close(self, finished: bool) -> None:
        """Finished: let the workers exit on their own, so their exit hooks run (a worker's
        long-lived `git cat-file` is stopped there). Otherwise stop them now."""
        if not finished:
            self.stopped = True
            for worker in self.workers:
                worker.terminate()
        for worker in self.workers:
            worker.join()
        if not finished:
            self.tasks.reader.close()  # a feeder blocked on the full pipe gets BrokenPipeError


def fork_map(fn: Callable[[T], R], items: Iterable[T], jobs: int) -> Iterator[R]:
    """fn(item) for every item, in order; in `jobs` forked workers, or inline when there are fewer
    than two items or jobs < 2 (no pool is worth starting for one item)."""
    global _WORKER_FN
    pending = iter(items)
    head = list(itertools.islice(pending, 2))
    if len(head) < 2 or jobs < 2:
        for item in itertools.chain(head, pending):
            yield fn(item)
        return
    _WORKER_FN = fn
    pool = _Pool(jobs)
    threading.Thread(target=pool.feed, args=(itertools.chain(head, pending),), daemon=True,
                     name="tokenward-feeder").start()
    finished = False
    try:
        yield from pool.ordered()
        finished = True
    finally:
        pool.close(finished)
