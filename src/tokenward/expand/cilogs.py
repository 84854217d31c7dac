"""CI/build logs (GitHub Actions, GitLab CI, Jenkins, plain): ANSI codes and timestamp prefixes
stripped within each line (so line numbers stay the original ones), split into steps.

Values a CI system already masked (`***`) are only counted: a mask is not a secret.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator

from tokenward.expand.base import Ctx, Item, padded, read_zip_member, text_blob
from tokenward.expand.detect import basename
from tokenward.sources.interface import Blob, Origin

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]")
# Per-line timestamp prefixes, each matched after a newline (a literal start keeps `re` fast).
TIMESTAMPS = (
    re.compile(rb"\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z(?: \d+[OE]\+?)? "),  # GitHub, GitLab 17+
    re.compile(rb"\n\[\d{4}-\d\d-\d\dT[\d:.]+Z?\] "),  # Jenkins timestamper (ISO)
    re.compile(rb"\n\[?\d\d:\d\d:\d\d(?:\.\d+)?\]? "),  # Jenkins / plain clock prefixes
)
STEPS = (
    re.compile(rb"##\[group\]Run ([^\r\n]*)"),  # GitHub Actions step
    re.compile(rb"section_start:\d+:([^\r\n\[]+)"),  # GitLab section
    re.compile(rb"\[Pipeline\] \{ \(([^)\r\n]*)\)"),  # Jenkins stage
)
SAMPLE_LINES = 4096  # bytes looked at to decide which timestamp style a log uses
ACTIONS_LOG = re.compile(r"^(?:([^/]+)/)?(\d+)_([^/]+)\.txt$")
MAX_STEPS = 200


def clean(data: bytes) -> bytes:
    """Log text without ANSI escape sequences and per-line timestamp prefixes (newlines untouched)."""
    if b"\x1b" in data:
        data = ANSI.sub(b"", data)
    sample = b"\n" + data[:SAMPLE_LINES]
    styles = [ts for ts in TIMESTAMPS if ts.search(sample)]
    if not styles:
        return data
    data = b"\n" + data
    for ts in styles:
        data = ts.sub(b"\n", data)
    return data[1:]


def steps(text: bytes) -> list[tuple[int, str, bytes]]:
    """(first line, step name, text) of each step; one unnamed step when the log has no markers."""
    marks = sorted((m.start(), m.group(1).decode("utf-8", "replace")) for step in STEPS for m in step.finditer(text)
                   if m.start() == 0 or text[m.start() - 1] == 10)[:MAX_STEPS]  # at a line start
    if not marks:
        return [(1, "", text)]
    bounds = [(0, "(setup)")] if marks[0][0] > 0 else []
    bounds += marks
    out = []
    for i, (start, name) in enumerate(bounds):
        end = bounds[i + 1][0] if i + 1 < len(bounds) else len(text)
        out.append((text.count(b"\n", 0, start) + 1, name.strip(), text[start:end]))
    return out


def log_blobs(data: bytes, origin: Origin, job: str, step: str, name: str | None) -> Iterator[Item]:
    """The cleaned log as one blob per step, each padded so that lines keep their original numbers."""
    text = clean(data)
    parts = [(1, step, text)] if step else steps(text)
    if sum(first for first, _, _ in parts) > 2 * len(text) + (1 << 20):
        parts = [(1, step, text)]  # too many steps to pad cheaply: one blob, no step names
    for first, name_of_step, part in parts:
        details = [("job", job)] + ([("step", name_of_step)] if name_of_step else [])
        masked = part.count(b"***")
        if masked:
            details.append(("masked_values", str(masked)))
        body = padded(part.decode("utf-8", "surrogateescape"), first)
        yield text_blob(origin, "ci-log", body, tuple(details), name)


def job_name(path: str) -> str:
    """A job name from a log's file name (build.log → build, 12345.log → 12345)."""
    name = basename(path)
    for suffix in (".log", ".txt", ".out"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def expand_log(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A single CI log file (GitLab trace, Jenkins console, a downloaded Actions log, plain build log)."""
    yield from log_blobs(blob.data, blob.origin, job_name(blob.origin.path), "", None)


def is_actions_zip(names: list[str]) -> bool:
    """True for a GitHub Actions logs zip: every file is <n>_<job>.txt or <job>/<n>_<step>.txt."""
    files = [n for n in names if not n.endswith("/")]
    matched = sum(1 for n in files if ACTIONS_LOG.match(n))
    return bool(files) and matched * 2 > len(files) and all(n.endswith(".txt") for n in files)


def expand_actions_zip(blob: Blob, zf: zipfile.ZipFile, ctx: Ctx) -> Iterator[Item]:
    """A GitHub Actions logs zip: job logs split by step, and per-step logs named by their file."""
    for info in zf.infolist():
        if ctx.budget.stopped or info.is_dir():
            continue
        loc = f"{blob.origin.path}!/{info.filename}"
        data, problem = read_zip_member(zf, info, loc, ctx)
        if problem:
            yield problem
        if data is None:
            continue
        m = ACTIONS_LOG.match(info.filename)
        if m is None:
            yield from log_blobs(data, blob.origin, job_name(info.filename), "", info.filename)
        elif m.group(1):
            yield from log_blobs(data, blob.origin, m.group(1), m.group(3), info.filename)
        else:
            yield from log_blobs(data, blob.origin, m.group(3), "", info.filename)

