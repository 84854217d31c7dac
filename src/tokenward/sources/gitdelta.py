"""Which byte ranges of a blob are not its delta base's: the only ones a match can be new in.

History is mostly the same files again: git stores a blob version as a delta against a similar one
(its *base*), a list of "copy these bytes of the base" and "insert these new bytes" instructions.
A match that lies, with all the context the rules look at, inside one copied range is a match the
base holds at the same bytes. So when the base is known to hold no match, only the bytes around
inserted data and around the seams between copies can hold one, and only those are matched
(changed_windows). The scan checks the "base holds no match" premise after the fact and matches
the whole blob again whenever it fails (see GitSource.revisit). The deltas come from gitpack.py.
"""

from __future__ import annotations

from tokenward.rules.model import REACH

# A delta larger than this share of its blob is matched whole: parsing its many instructions in Python
# costs more than matching the bytes they spare (measured on redis' history: 2 % keeps 95 % of the saving).
MAX_DELTA_SHARE = 0.02
MIN_BLOB = 16 * 1024  # smaller blobs are matched whole: the windows around one change would cover them
MAX_WINDOWED_SHARE = 0.75  # windows covering more of a blob than this: match it whole
Windows = tuple[tuple[int, int], ...]


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        shift, at = shift + 7, at + 1
        if not byte & 0x80:
            return value, at


def changed_windows(delta: bytes, size: int, reach: int = REACH) -> Windows | None:
    """The byte ranges of the blob to match: the bytes a delta inserts, and the seams where a copy does
    not continue the base where the bytes before it left off, each widened by reach both ways and
    merged. None when they would cover most of the blob anyway, or the delta is not understood."""
    try:
        return _parse(delta, size, reach)
    except IndexError:
        return None


def _parse(delta: bytes, size: int, reach: int) -> Windows | None:
    # One pass, locals only, no calls: a delta may hold thousands of instructions (git's format:
    # Documentation/gitformat-pack.txt, "Deltified representation"), and this runs for every one.
    base_size, at = _varint(delta, 0)
    target, at = _varint(delta, at)
    if target != size:
        return None
    ranges: list[tuple[int, int]] = []
    lo = hi = -1  # the range being grown (changes come in order: only the last range can grow)
    covered, limit = 0, size * MAX_WINDOWED_SHARE
    out, follows, n = 0, 0, len(delta)  # follows: where in the base the bytes so far left off (-1: not a copy)
    while at < n:
        op = delta[at]
        at += 1
        if op & 0x80:
            start = length = 0
            if op & 1:
                start, at = delta[at], at + 1
            if op & 2:
                start, at = start | delta[at] << 8, at + 1
            if op & 4:
                start, at = start | delta[at] << 16, at + 1
            if op & 8:
                start, at = start | delta[at] << 24, at + 1
            if op & 16:
                length, at = delta[at], at + 1
            if op & 32:
                length, at = length | delta[at] << 8, at + 1
            if op & 64:
                length, at = length | delta[at] << 16, at + 1
            length = length or 0x10000
            changed, end = start != follows, out
            out, follows = out + length, start + length
            if not changed:
                continue
            begin = end
        elif op:
            begin, end = out, out + op
            out, at, follows = end, at + op, -1
        else:
            return None  # reserved: a delta git would not write
        if hi < 0 or begin - reach > hi:
            if hi >= 0:
                ranges.append((lo, hi))
            lo, hi = max(0, begin - reach), min(size, end + reach)
            covered += hi - lo
        elif end + reach > hi:
            grown = min(size, end + reach)
            covered, hi = covered + grown - hi, grown
        if covered > limit:
            return None
    if out != size:
        return None
    if follows != base_size and (hi < 0 or size - reach > hi):  # the blob ends where its base does not
        if hi >= 0:
            ranges.append((lo, hi))
        lo, hi = max(0, size - reach), size
        covered += hi - lo
    elif follows != base_size:
        covered, hi = covered + size - hi, size
    if hi >= 0:
        ranges.append((lo, hi))
    return None if covered > limit else tuple(ranges)
