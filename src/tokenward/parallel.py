"""A fork-pool map: run a function over items in worker processes (the machine's cores), in order.

Generic on purpose: the scan pipeline (scanner.py) decides what a work item is and what a worker
does with it; this module only owns the processes.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Set in the parent just before the fork: each worker inherits the function with everything it
# closes over (a compiled Hyperscan database, scratch space), so nothing is pickled per task.
_WORKER_FN: Callable[[Any], Any] | None = None


def _call(item: Any) -> Any:
    assert _WORKER_FN is not None, "worker started without a function"
    return _WORKER_FN(item)


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
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap(_call, itertools.chain(head, pending), chunksize=1)
        # Done: let the workers exit on their own, so their exit hooks run (a worker's long-lived
        # `git cat-file` is stopped there); an early exit from the loop still terminates them.
        pool.close()
        pool.join()
