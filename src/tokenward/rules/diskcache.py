"""The on-disk cache of derived rule data (parsed rule sets, compiled Hyperscan databases).

Entries are named by a content hash of what they derive from, so they never go stale: a changed
rule file, loader or library version simply names another entry. The cache is an optimisation
only: an unreadable, corrupt or read-only cache never stops a scan.

Two places are used: the user's cache directory, and a directory next to the installed package
when it is writable (the installing user's first run fills it, `make` does it at install). The
second makes a fresh HOME — every CI job — start warm: the built-in rule set is parsed and
compiled once per machine and rule-set digest, not once per home.
"""

from __future__ import annotations

import os
from pathlib import Path

KEEP = 6  # entries of each kind (rules-*, hs-*) kept per place, unless the writer says otherwise


def cache_dir() -> Path:
    """$TOKENWARD_COMPILED_CACHE, else $TOKENWARD_CACHE_DIR, else <XDG cache home>/tokenward."""
    explicit = os.environ.get("TOKENWARD_COMPILED_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("TOKENWARD_CACHE_DIR", str(Path(base) / "tokenward")))


def shared_dir() -> Path:
    """The cache directory next to the installed package."""
    return Path(__file__).resolve().parent.parent / "_cache"


def _places() -> list[Path]:
    # An explicit TOKENWARD_COMPILED_CACHE (the test suite's shared cache) is the only place.
    if os.environ.get("TOKENWARD_COMPILED_CACHE"):
        return [cache_dir()]
    return [cache_dir(), shared_dir()]


def read(name: str) -> bytes | None:
    """The bytes of a cache entry, or None when it is absent or unreadable."""
    for place in _places():
        try:
            return (place / name).read_bytes()
        except OSError:
            continue
    return None


def write(name: str, blob: bytes, keep: int = KEEP) -> None:
    """Store an entry atomically (temporary file, rename) in every writable place, keeping the `keep` most
    recent entries of its kind; errors ignored."""
    for place in _places():
        path = place / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(blob)
            tmp.replace(path)
            _prune(place, name.rsplit("-", 1)[0], keep)  # kinds: rules, hs, hs-decode, gate
        except OSError:
            continue  # a read-only home or package directory must not stop a scan


def _prune(place: Path, kind: str, keep: int = KEEP) -> None:
    # Every rule-set change names a new entry: keep the most recent few of each kind.
    entries = sorted(place.glob(f"{kind}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[keep:]:
        old.unlink(missing_ok=True)
