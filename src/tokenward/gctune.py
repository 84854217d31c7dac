"""When the cyclic garbage collector runs: paused while a run builds many long-lived objects, and skipped at
exit. Python's collector rescans every tracked object each time the young generations fill; imports
(SQLAlchemy), a million small inventory records or the monitor's unpickled results make it run over and
over to find next to no garbage."""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused(pause: bool = True) -> Iterator[None]:
    """No cyclic collection inside the block (when pause); the collector's earlier state after it."""
    enabled = gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def no_collection_at_exit() -> None:
    """Let the process end without the interpreter's last collections over every object it still holds
    (~50 ms once the store is loaded). Registered at exit: a long-lived process that imports the CLI (a test
    run) keeps collecting until then. Finalizers registered with atexit or weakref.finalize still run."""
    atexit.register(gc.freeze)
