"""read_file: every byte of a file as it is when read, whatever fstat said; binary, odd, oversized files skipped."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from tokenward.sources import filesystem
from tokenward.sources.filesystem import read_file
from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.textdecode import SNIFF


def _read(path: Path, max_size: int = 1 << 20) -> Blob | SkippedItem:
    return read_file(path, path.name, str(path.parent), max_size)


@pytest.mark.parametrize("size", [0, 1, SNIFF - 1, SNIFF, SNIFF + 1, 3 * SNIFF + 17, (1 << 20) + 5])
def test_text_of_any_size_is_read_whole(tmp_path: Path, size: int) -> None:
    data = (b"line of text %d\n" * (size // 10 + 1))[:size]
    (tmp_path / "f.txt").write_bytes(data)
    blob = _read(tmp_path / "f.txt", max_size=2 << 20)
    assert isinstance(blob, Blob) and blob.data == data
    assert (blob.origin.kind, blob.origin.root, blob.origin.path) == ("file", str(tmp_path), "f.txt")


def test_binary_utf16_container_and_oversized_files(tmp_path: Path) -> None:
    (tmp_path / "bin").write_bytes(b"\x7fELF\x00\x01" + os.urandom(3 * SNIFF))
    (tmp_path / "u16.txt").write_bytes(("key = value\n" * 2000).encode("utf-16"))
    packed = gzip.compress(b"token = abc\n" + os.urandom(SNIFF))
    (tmp_path / "a.gz").write_bytes(packed)
    (tmp_path / "big.txt").write_bytes(b"x" * 101)
    assert _read(tmp_path / "bin") == SkippedItem("bin", "binary content")
    u16 = _read(tmp_path / "u16.txt")
    assert isinstance(u16, Blob) and u16.data == b"key = value\n" * 2000
    gz = _read(tmp_path / "a.gz")
    assert isinstance(gz, Blob) and gz.data == packed  # an expander opens it, bytes as they are
    assert _read(tmp_path / "big.txt", max_size=100) == SkippedItem("big.txt", "too large (101 bytes > 100)")


def test_a_small_file_with_a_nul_byte_is_binary(tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_bytes(b"abc\x00def" * 10)
    assert _read(tmp_path / "n.txt") == SkippedItem("n.txt", "binary content")


def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    assert _read(tmp_path / "pipe") == SkippedItem("pipe", "not a regular file (device, FIFO or socket)")


@pytest.mark.parametrize("size", [100, 5 * SNIFF])
@pytest.mark.parametrize("stated", [0, 50, 4 * SNIFF, 9 * SNIFF])
def test_a_file_whose_size_changed_since_fstat_is_read_to_its_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int, stated: int) -> None:
    data = bytes(65 + i % 26 for i in range(size))
    (tmp_path / "f.txt").write_bytes(data)
    real = os.fstat

    def fstat(fd: int) -> os.stat_result:
        st = list(real(fd))
        st[6] = stated  # st_size: what fstat said before the file grew or shrank
        return os.stat_result(st)

    monkeypatch.setattr(filesystem.os, "fstat", fstat)
    blob = _read(tmp_path / "f.txt")
    assert isinstance(blob, Blob) and blob.data == data


def test_a_growing_file_is_read_up_to_one_byte_past_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "f.txt").write_bytes(b"y" * (3 * SNIFF))
    real = os.fstat

    def fstat(fd: int) -> os.stat_result:
        st = list(real(fd))
        st[6] = SNIFF
        return os.stat_result(st)

    monkeypatch.setattr(filesystem.os, "fstat", fstat)
    blob = _read(tmp_path / "f.txt", max_size=2 * SNIFF)
    assert isinstance(blob, Blob) and blob.data == b"y" * (2 * SNIFF + 1)


def test_pdfs_weigh_more_when_a_walk_is_cut_into_batches(tmp_path: Path) -> None:
    """A PDF costs milliseconds a page to read: a few of them are dealt to several workers, not one."""
    for i in range(10):
        (tmp_path / f"doc{i}.PDF").write_bytes(b"%PDF-1.4\n")
    for i in range(40):
        (tmp_path / f"f{i}.txt").write_text("x\n")
    units = list(filesystem.FilesystemSource(tmp_path).units())
    batches = [u for u in units if isinstance(u, filesystem.FileBatch)]
    assert sum(len(b.files) for b in batches) == 50 and len(batches) >= 2
    assert all(sum(filesystem.PDF_WEIGHT if p.lower().endswith(".pdf") else 1 for p, _ in b.files[:-1])
               < filesystem.BATCH_FILES for b in batches)
