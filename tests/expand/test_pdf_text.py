"""PDF text read by PDFium in a forked child (expand/pdftext.py): pages, metadata and limits, and a reader
that crashes or hangs on a file costs that file only, reported as a skip, while the rest is scanned."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests import samples_archives as A
from tests.samples_base import Planter, scan_path
from tokenward.engine import Matcher
from tokenward.expand import ExpandOptions, expand, pdftext
from tokenward.sources.interface import Blob, Origin, SkippedItem


@pytest.fixture
def planter() -> Planter:
    return Planter(seed=313)


def _items(name: str, data: bytes) -> list[Blob | SkippedItem]:
    return list(expand(Blob(data, Origin("file", "/samples", name)), ExpandOptions()))


def _skips(found: list[Blob | SkippedItem]) -> list[tuple[str, str]]:
    return [(s.reason, s.severity) for s in found if isinstance(s, SkippedItem)]


def test_pages_metadata_and_limits() -> None:
    got = pdftext.extract(A.pdf_bytes(["first page", "second page"], info="Deploy notes"), 100, 10**6)
    assert got == pdftext.PdfText(("first page", "second page"), 2, "Title = Deploy notes")
    assert pdftext.extract(A.pdf_bytes(["a", "b", "c"]), 2, 10**6) == pdftext.PdfText(("a", "b"), 3, "")
    # Reading stops at the first page past max_chars: the expander's budget then reports the rest.
    assert pdftext.extract(A.pdf_bytes(["x" * 10, "y" * 10, "z"]), 100, 15) == pdftext.PdfText(
        ("x" * 10, "y" * 10), 3, "")


def test_a_pdf_token_is_found_on_its_page(matcher: Matcher, planter: Planter, tmp_path: Path) -> None:
    token = planter.github("pdf")
    (tmp_path / "runbook.pdf").write_bytes(A.pdf_bytes(["intro", f"token {token}"], info="Runbook"))
    out = scan_path(matcher, tmp_path)
    assert out.details(token) == {"document": "pdf", "page": "2"} and not out.skipped


def test_encrypted_and_corrupt_pdfs_are_reported() -> None:
    assert _skips(_items("locked.pdf", A.pdf_bytes(["x"], encrypted=True))) == [
        ("encrypted PDF (no password; not scanned)", "error")]
    (reason, severity), = _skips(_items("bad.pdf", b"%PDF-1.4\n" + os.urandom(300)))
    assert reason.startswith("corrupt or truncated PDF: ") and severity == "error"


def _crash(data: bytes, max_pages: int, max_chars: int) -> object:
    os.kill(os.getpid(), signal.SIGSEGV)  # what a memory error in PDFium does to its process
    raise AssertionError("not reached")


def _hang(data: bytes, max_pages: int, max_chars: int) -> object:
    time.sleep(60)
    raise AssertionError("not reached")


def test_a_reader_crash_costs_that_pdf_only(matcher: Matcher, planter: Planter, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    token = planter.github("pdf")
    (tmp_path / "hostile.pdf").write_bytes(A.pdf_bytes(["page"]))
    (tmp_path / "app.env").write_text(f"GITHUB_TOKEN={token}\n")
    monkeypatch.setattr(pdftext, "_read", _crash)
    out = scan_path(matcher, tmp_path)
    assert out.of(token)  # the scan went on
    assert [(s.location, s.reason, s.severity) for s in out.skipped] == [
        ("hostile.pdf", "PDF reader crashed on this file (signal 11; not scanned)", "error")]


def test_a_reader_that_hangs_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdftext, "_read", _hang)
    monkeypatch.setattr(pdftext, "PDF_SECONDS", 0.5)
    started = time.monotonic()
    assert _skips(_items("slow.pdf", A.pdf_bytes(["page"]))) == [
        ("PDF text extraction ran over 0.5 s (not scanned)", "error")]
    assert time.monotonic() - started < 10


def test_a_child_that_fails_otherwise_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: bytes, max_pages: int, max_chars: int) -> object:
        raise RuntimeError("a bug in the child")

    monkeypatch.setattr(pdftext, "_read", broken)
    assert _skips(_items("x.pdf", A.pdf_bytes(["page"]))) == [
        ("PDF reader failed on this file (exit status 1; not scanned)", "error")]
