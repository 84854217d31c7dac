"""Iterate ahead of the consumer: a thread of its own produces the items while the caller works on earlier
ones (files read while the other core matches; git's listing drained as fast as git writes it)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def read_ahead(items: Iterable[T], name: str, bound: int = 0, chunk: int = 1) -> Iterator[T]:
    """items, produced by a daemon thread called `name`, handed over `chunk` at a time with at most `bound`
    handovers waiting (0: no bound; a bound keeps memory flat whatever the input). Raises what producing
    raised, after every item produced before it."""
    handed: queue.Queue[list[T] | BaseException | None] = queue.Queue(bound)

    def produce() -> None:
        batch: list[T] = []
        try:
            for item in items:
                batch.append(item)
                if len(batch) >= chunk:
                    handed.put(batch)
                    batch = []
            handed.put(batch)
            handed.put(None)
        except BaseException as exc:  # handed on after what came before it, raised by the consumer
            handed.put(batch)
            handed.put(exc)

    threading.Thread(target=produce, daemon=True, name=name).start()
    while (got := handed.get()) is not None:
        if isinstance(got, BaseException):
            raise got
        yield from got
