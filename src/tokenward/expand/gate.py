"""Batch probing for message-like exports: emit a blob only for the messages that can hold a finding.

Exports hold hundreds of thousands of short texts (chat messages, issue fields, notebook outputs);
a blob each would cost more in per-blob overhead than in matching. Texts are joined in batches
and probed once with the rule set's own Hyperscan database (ExpandOptions.probe: every rule's
pattern or prefilter, so a text without a hit cannot produce a finding) and with the decoding
pass; only the texts under a hit become blobs, each with its own provenance.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate

from tokenward.expand.base import Ctx, Item
from tokenward.expand.decode import decodings, from_extra

BATCH_BYTES = 4 << 20
SEPARATOR = b"\n\n"
Text = tuple[bytes, Callable[[bytes], Item]]  # a text and how to turn it into its blob


def gated(texts: Iterable[Text], ctx: Ctx) -> Iterator[Item]:
    """The blobs of the texts that a rule (or an encoded run) may match, in order."""
    if ctx.probe is None:
        yield from (make(data) for data, make in texts)
        return
    batch: list[Text] = []
    size = 0
    for text in texts:
        batch.append(text)
        size += len(text[0]) + len(SEPARATOR)
        if size >= BATCH_BYTES:
            yield from _probe(batch, ctx)
            batch, size = [], 0
    yield from _probe(batch, ctx)


def _probe(batch: list[Text], ctx: Ctx) -> Iterator[Item]:
    if not batch:
        return
    joined = SEPARATOR.join(data for data, _ in batch)
    starts = [0, *accumulate(len(data) + len(SEPARATOR) for data, _ in batch)]
    flagged: set[int] = set()
    rules = len(ctx.probe.targets)  # expressions from here on are the decoding pass's finders (scan_ruleset)
    extra: dict[int, list[int]] = {}

    def on_match(expression: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
        if expression < rules:
            flagged.add(bisect_right(starts, max(end - 1, 0)) - 1)
        else:
            extra.setdefault(expression - rules, []).append(end)

    ctx.probe.database.scan(joined, match_event_handler=on_match)
    if ctx.limits.decode_depth:
        folded = ctx.probe.extra and not ctx.keywords  # the finders ran in the probe's pass: no second one
        found = from_extra(joined, extra) if folded else decodings(joined, ctx.keywords)
        flagged.update(bisect_right(starts, offset) - 1 for offset, _, _ in found)
    for index in sorted(flagged):
        if index < len(batch):
            data, make = batch[index]
            yield make(data)


def make_text(text: str) -> bytes:
    """A text as the bytes a blob holds."""
    return text.encode("utf-8", "surrogatepass")


__all__ = ["Text", "gated", "make_text"]
