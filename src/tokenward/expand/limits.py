"""Limits on what expanding one input may cost, and the running budget that enforces them."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Bounds for one top-level input: nesting, inflated bytes, compression ratio, entries, decoding."""

    max_depth: int = 8  # containers inside containers (a.zip!/b.tar!/c.gz is depth 3)
    max_total_bytes: int = 4096 * MIB  # bytes inflated from one top-level input, all members together
    max_member_bytes: int = 256 * MIB  # one member held in memory at a time
    max_ratio: int = 250  # inflated / compressed, checked once a member passes RATIO_FLOOR bytes
    max_entries: int = 200_000  # archive members, messages and rows of one top-level input
    decode_depth: int = 2  # base64 inside hex inside … (0 turns the decoding pass off)


RATIO_FLOOR = 4 * MIB  # small members may compress very well without being a bomb


@dataclass
class Budget:
    """What one top-level input has used so far (mutable, private to one expand call)."""

    source_size: int = 0  # bytes of the top-level input
    inflated: int = 0
    entries: int = 0
    binary_members: int = 0
    stopped: str | None = None  # why no more of this input is read (a whole-input limit was hit)

    def take_entry(self, limits: Limits) -> bool:
        """Count one member/message; False once the entry limit is reached."""
        self.entries += 1
        return self.entries <= limits.max_entries

    def take_bytes(self, n: int, limits: Limits) -> bool:
        """Count n inflated bytes; False once the total is exceeded."""
        self.inflated += n
        return self.inflated <= limits.max_total_bytes
