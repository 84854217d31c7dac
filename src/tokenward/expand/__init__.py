"""Expanders: turn one blob into the blobs inside it (archives, exports, documents, encodings).

The scan pipeline passes every blob through `expand` before matching, whatever source it came
from (a file on disk, a git blob, stdin), so an archive committed to history is opened too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tokenward.expand.base import Ctx, Member, error, policy
from tokenward.expand.decode import decoded
from tokenward.expand.detect import HEAD, SOURCE_TYPE_NAMES, container, forced, is_container, sniff
from tokenward.expand.limits import Budget, Limits
from tokenward.expand.registry import EXPANDERS
from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.textdecode import to_scannable

__all__ = ["SOURCE_TYPE_NAMES", "ExpandOptions", "Limits", "expand", "looks_like_container"]


@dataclass(frozen=True)
class ExpandOptions:
    """How inputs are expanded: forced source type, limits, decoding keywords, rule-set probe."""

    source_type: str | None = None  # a SOURCE_TYPE_NAMES family; None sniffs each input
    limits: Limits = field(default_factory=Limits)
    keywords: tuple[str, ...] = ()  # whose encoded spellings the decoding pass looks for (empty: built-in list)
    probe: Any = None  # the compiled rule set: exports then emit only texts a rule may match
    decode: bool = True  # False: the caller decodes encoded runs itself (the scanner, in its matching pass)


DEFAULT_OPTIONS = ExpandOptions()


def looks_like_container(head: bytes, path: str) -> bool:
    """True when a binary-looking file is a format an expander opens (so it is not skipped as binary)."""
    return container(head[:HEAD], path)


def expand(blob: Blob, options: ExpandOptions = DEFAULT_OPTIONS) -> Iterator[Blob | SkippedItem]:
    """The blobs to match for one input blob (the blob itself when no expander applies)."""
    head = blob.data[:HEAD]
    if options.source_type:
        fmt = forced(options.source_type, head, blob.origin.path)
        if fmt is None and options.source_type not in ("auto", "plain"):
            yield error(blob.origin.path, f"not recognised as {options.source_type} input (scanned as plain text)")
    else:
        fmt = sniff(head, blob.origin.path)
    yield from expand_as(blob, fmt, options)


def expand_as(blob: Blob, fmt: str | None, options: ExpandOptions = DEFAULT_OPTIONS) -> Iterator[Blob | SkippedItem]:
    """expand() of a blob whose format the caller has already sniffed (None or "plain": as it is)."""
    if fmt is None or fmt == "plain":
        yield blob
        if options.decode:
            yield from decoded(blob, options.limits.decode_depth, options.keywords)
        return
    ctx = Ctx(options.limits, Budget(source_size=len(blob.data)), options.keywords, options.probe,
              decode=options.decode)
    yield from walk(blob, fmt, ctx)
    if ctx.budget.binary_members:
        yield policy(blob.origin.path, f"binary content ({ctx.budget.binary_members} archive members)")


def walk(blob: Blob, fmt: str, ctx: Ctx) -> Iterator[Blob | SkippedItem]:
    """Run the expander of fmt; expand members again; decode leaves; never let an error escape."""
    produced = False
    try:
        for item in EXPANDERS[fmt](blob, ctx):
            produced = True
            if isinstance(item, Member):
                yield from _member(item.blob, ctx)
            elif isinstance(item, Blob):
                yield item
                if ctx.decode:
                    yield from decoded(item, ctx.limits.decode_depth, ctx.keywords)
            else:
                yield item
    except Exception as exc:  # a parser bug or unforeseen input must cost one input, not the scan
        yield error(blob.origin.path, f"cannot read {fmt}: {type(exc).__name__}: {exc}")
        if not produced and not is_container(fmt):
            yield blob


def _member(blob: Blob, ctx: Ctx) -> Iterator[Blob | SkippedItem]:
    # base.binary_head takes the same binary decision from a zip member's first HEAD bytes: keep them in step.
    fmt = sniff(blob.data[:HEAD], blob.origin.path)
    if fmt is not None:
        if is_container(fmt) and ctx.depth + 1 > ctx.limits.max_depth:
            yield policy(blob.origin.path, f"nested too deep (more than {ctx.limits.max_depth} containers)")
            return
        yield from walk(blob, fmt, ctx.deeper())
        return
    text = to_scannable(blob.data)
    if text is None:
        ctx.budget.binary_members += 1
        return
    leaf = blob if text is blob.data else Blob(text, blob.origin)
    yield leaf
    if ctx.decode:
        yield from decoded(leaf, ctx.limits.decode_depth, ctx.keywords)
