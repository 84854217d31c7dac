"""PDF text, extracted by PDFium (pypdfium2) in a forked child process.

PDFium extracts text ~24× faster than pypdf (a 74-page PDF of git/git's history: 0.14 s against 3.35 s),
but it is C++: a crash on a hostile or damaged file would end the process that called it, and with it a
worker and the whole scan. So each PDF is read in a child forked for it (~3 ms): the child sends back the
pages' text and exits; a child that dies, or runs past PDF_SECONDS, costs that PDF only, reported as a skip.
"""

from __future__ import annotations

import contextlib
import faulthandler
import marshal
import os
import select
import signal
import time
from dataclasses import dataclass
from types import ModuleType

PDF_SECONDS = 120.0  # one PDF's extraction at most, then its child is killed
_ENCRYPTED = "password"  # PDFium's error text for a document it cannot open without one
_FAILED = 3  # a child's exit status when PDFium refused the document (its reason follows on the pipe)


@dataclass(frozen=True)
class PdfText:
    """What a PDF holds as text: its pages (up to the caller's limits), its count and metadata."""

    pages: tuple[str, ...]  # the text of each page read, in order (page 1 first)
    count: int  # pages in the document
    metadata: str  # "Key = value" lines of the document information dictionary
    failed: int = 0  # pages whose text PDFium could not extract


def _pdfium() -> ModuleType:
    """pypdfium2, imported here (most scans meet no PDF); extract() calls it before forking, so a child only
    finds it in sys.modules and imports nothing."""
    import pypdfium2

    module: ModuleType = pypdfium2
    return module


def extract(data: bytes, max_pages: int, max_chars: int) -> PdfText | str:
    """The text of a PDF (pages up to max_pages, stopping once max_chars are read), or why it has none: a
    skip's reason (encrypted, corrupt, crashed the reader, too slow)."""
    _pdfium()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read)
        _child(data, max_pages, max_chars, write)
    os.close(write)
    try:
        payload, timed_out = _collect(read, time.monotonic() + PDF_SECONDS)
    finally:
        os.close(read)
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    status = os.waitpid(pid, 0)[1]
    if timed_out:
        return f"PDF text extraction ran over {PDF_SECONDS:g} s (not scanned)"
    return _outcome(status, payload)


def _outcome(status: int, payload: bytes) -> PdfText | str:
    """The child's answer, from its exit status and what it wrote."""
    if os.WIFSIGNALED(status):
        return f"PDF reader crashed on this file (signal {os.WTERMSIG(status)}; not scanned)"
    code = os.WEXITSTATUS(status)
    try:
        answer = marshal.loads(payload) if payload else None
    except (EOFError, ValueError, TypeError):
        answer = None
    if code == _FAILED and isinstance(answer, str):
        return answer
    if code != 0 or not isinstance(answer, tuple):
        return f"PDF reader failed on this file (exit status {code}; not scanned)"
    pages, count, metadata, failed = answer
    return PdfText(tuple(pages), count, metadata, failed)


def _collect(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything the child writes until it closes the pipe; (what came, True) once the deadline passed."""
    parts: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return b"".join(parts), True
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(parts), False
        parts.append(chunk)


def _child(data: bytes, max_pages: int, max_chars: int, fd: int) -> None:
    """Extract, write the answer (marshal: strings and ints only) and exit, whatever happens."""
    faulthandler.disable()  # a crash is the parent's to report, once, as a skip (not a traceback on stderr)
    code = 0
    try:
        answer = _read(data, max_pages, max_chars)
        if isinstance(answer, str):
            code = _FAILED
        view = memoryview(marshal.dumps(answer))
        while view:
            view = view[os.write(fd, view):]
    except BaseException:  # nothing may escape a forked child: the parent reports a failed one
        code = 1
    os._exit(code)


def _read(data: bytes, max_pages: int, max_chars: int) -> tuple[list[str], int, str, int] | str:
    pdfium = _pdfium()
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if _ENCRYPTED in str(exc).lower():
            return "encrypted PDF (no password; not scanned)"
        return f"corrupt or truncated PDF: {exc}"
    count = len(doc)
    pages: list[str] = []
    failed = total = 0
    for number in range(min(count, max_pages)):
        try:
            text = doc[number].get_textpage().get_text_range()
        except pdfium.PdfiumError:  # one damaged page costs that page only
            failed += 1
            text = ""
        pages.append(text)
        total += len(text)
        if total > max_chars:
            break
    return pages, count, _metadata(doc), failed


def _metadata(doc: object) -> str:
    try:
        info = doc.get_metadata_dict(skip_empty=True)  # type: ignore[attr-defined]
    except Exception:  # a damaged information dictionary: the pages may still be readable
        return ""
    return "\n".join(f"{key} = {value}" for key, value in info.items() if isinstance(value, str) and value)
