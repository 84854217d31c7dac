"""`tokenward scan`'s inventory writer, in a process of its own started before the scan.

Why a process: importing the store (SQLAlchemy) costs about 0.3 CPU-s, more than the whole scan of a
small tree, and opening the inventory more. In the scan's own process that cost either delays the
scan or takes a core from its workers. Forked as the command starts, the recorder imports while the
scan's process loads its rules and lists its inputs (one core is idle then), opens the inventory once
it is told the key and rule set, and writes the findings it is sent at the end. It alone opens the
inventory for the scan; the workers never do.

The protocol, over one pipe: the parent sends ("open", …), then ("record", ScanResult); the recorder
answers each with ("ok", value) or ("error", exception). A closed pipe (the scan stopped, failed or
was interrupted) ends the recorder without writing anything more; the scan record it opened stays
'running' until a later scan marks it interrupted, as when a scan's own process dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tokenward import gctune
from tokenward.errors import StoreError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from tokenward.results import ScanResult
    from tokenward.store import Inventory, ScanRecorder

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
CAN_FORK = hasattr(os, "fork")


@dataclass(frozen=True)
class Recorded:
    """What recording one scan gave the command: its summary line and its scan id."""

    summary: str
    scan_id: str


def open_recorder(db: str | None, key: bytes, targets: Sequence[str], ruleset: str, rules: int) -> ScanRecorder:
    """Open the inventory for one `tokenward scan` (refuses a database written with another key)."""
    with gctune.paused():  # SQLAlchemy's import makes ~10^5 long-lived objects: no collection over them
        from tokenward.store import ScanRecorder

    recorder = ScanRecorder.open(db, key, targets, ruleset, rules)
    recorder.after_write = _refresh_owners  # the inventory names the owner the review would
    return recorder


def _refresh_owners(inventory: Inventory, token_ids: Sequence[str]) -> int:
    # The policy modules (~70 ms) load only for a scan that found something: a clean scan never needs them.
    with gctune.paused():
        from tokenward.policy.load import refresh_owners

    return refresh_owners(inventory, token_ids)


def record(recorder: ScanRecorder, result: ScanResult) -> Recorded:
    """Write the scan's findings and close the inventory."""
    recorded = recorder.record(result)
    return Recorded(recorded.describe(), recorder.scan.scan_id)


class InlineRecording:
    """Recording in the scan's own process: where no fork is available."""

    def __init__(self, db: str | None) -> None:
        self.db = db
        self._asked: tuple[bytes, tuple[str, ...], str, int] | None = None
        self._recorder: ScanRecorder | None = None

    def open(self, key: bytes, targets: Sequence[str], ruleset: str, rules: int) -> None:
        """Note what to open the inventory with (opened by opened())."""
        self._asked = (key, tuple(targets), ruleset, rules)

    def opened(self) -> None:
        """Open the inventory (raises what opening it raised)."""
        assert self._asked is not None, "opened() before open()"
        if self._recorder is None:
            self._recorder = open_recorder(self.db, *self._asked)

    def record(self, result: ScanResult) -> Recorded:
        """Write the findings; raises what writing raised."""
        self.opened()
        assert self._recorder is not None
        recorder, self._recorder = self._recorder, None
        return record(recorder, result)

    def close(self) -> None:
        """Close the inventory if the scan stopped before recording."""
        if self._recorder is not None:
            self._recorder.inventory.close()
            self._recorder = None


class RecordingProcess:
    """Recording in a forked process (see the module docstring); the same methods as InlineRecording. The
    inventory's URL goes with the request to open it: a process started before the command line was read
    (prestart) serves whichever --db the scan names."""

    def __init__(self, db: str | None = None) -> None:
        import multiprocessing

        self.db = db
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, self._conn, os.getpid()), daemon=True,
                                    name="tokenward-recorder")
        self._process.start()
        child.close()
        self._waiting = False

    def open(self, key: bytes, targets: Sequence[str], ruleset: str, rules: int) -> None:
        """Ask the recorder to open the inventory (it does while the scan starts)."""
        self._send(("open", self.db, key, tuple(targets), ruleset, rules))
        self._waiting = True

    def opened(self) -> None:
        """Wait until the inventory is open; raises what opening it raised."""
        if self._waiting:
            self._waiting = False
            self._reply()

    def record(self, result: ScanResult) -> Recorded:
        """Send the result and wait until it is written; raises what writing raised."""
        self.opened()
        self._send(("record", result))
        recorded = self._reply()
        assert isinstance(recorded, Recorded)
        return recorded

    def close(self) -> None:
        """End the recorder: after record() it has exited already; before, it stops unwritten."""
        self._conn.close()
        self._process.join(timeout=30)
        if self._process.exitcode is None:
            self._process.terminate()
            self._process.join()

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            self._conn.send(message)
        except OSError as exc:
            raise self._ended() from exc

    def _reply(self) -> Any:
        try:
            status, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise self._ended() from exc
        if status == "error":
            raise value
        return value

    def _ended(self) -> StoreError:
        self._process.join(timeout=5)
        return StoreError(f"the inventory writer process ended early (exit code {self._process.exitcode})")


_prestarted: list[RecordingProcess] = []


def prestart(argv: Sequence[str]) -> None:
    """Fork the recorder now, before the scan command's modules are even imported (the console script
    calls this for `scan`), unless argv says the scan records nothing (--no-db): its import then overlaps
    the whole of the scan's start-up. A recorder nobody adopts ends when this process does."""
    if CAN_FORK and not _prestarted and "--no-db" not in argv:
        _prestarted.append(RecordingProcess())


def recording(db: str | None) -> InlineRecording | RecordingProcess:
    """The scan's recorder: the prestarted process, or one forked now where the platform forks, else the
    scan's own process."""
    if not CAN_FORK:
        return InlineRecording(db)
    recorder = _prestarted.pop() if _prestarted else RecordingProcess()
    recorder.db = db
    return recorder


def _serve(conn: Connection, parents_end: Connection, parent: int) -> None:
    """The recorder process: import, then answer 'open' and 'record' until the pipe closes."""
    parents_end.close()  # so that the parent's end closing ends recv() here
    _die_with(parent)
    try:
        with gctune.paused():  # while the scan's process starts: the reason this process exists
            from tokenward.store import ScanRecorder  # noqa: F401
        _answer(conn)
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass  # the scan was interrupted or stopped: it says so itself
    finally:
        conn.close()


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when the scan's process dies (Linux): a scan killed while
    its findings are written must stop writing them, as it did when it wrote them itself."""
    import ctypes  # only in the recorder: not on the scan's start-up path

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(0)


def _answer(conn: Connection) -> None:
    inline = InlineRecording(None)
    try:
        while True:
            kind, *args = conn.recv()
            try:
                value = _handle(inline, kind, args)
            except Exception as exc:  # the parent raises it, as if recording in its own process
                conn.send(("error", _sendable(exc)))
                continue
            conn.send(("ok", value))
            if kind == "record":
                return
            # A scan still running 50 ms after its inventory opened: load what owner resolution needs
            # meanwhile. A short one sends its result first, and loads it only if it found something.
            if not conn.poll(0.05):
                with gctune.paused():
                    import tokenward.policy.load  # noqa: F401
    finally:
        inline.close()


def _handle(inline: InlineRecording, kind: str, args: list[Any]) -> Recorded | None:
    if kind == "record":
        return inline.record(*args)
    inline.db, *asked = args
    inline.open(*asked)
    inline.opened()
    return None


def _sendable(exc: Exception) -> BaseException:
    # A StoreError stands in for one that cannot travel, so that the command still reports it as one line.
    from tokenward.parallel import picklable

    return picklable(exc, StoreError)
