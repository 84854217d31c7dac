"""The digest of the code that decides a blob's findings, part of the key incremental scans are cached under.

A rescan replays the findings recorded for blobs it scanned before under the same key. The rule-set digest
covers the rules; this covers the code that runs them (checks and their word lists, the engine, the
expanders, the rule compiler): without it, an upgrade that teaches a check a new format would replay the old
findings of every blob scanned before it, and miss what it now finds until a --full scan.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from tokenward.identity import key_check_value
from tokenward.sources import blobcache

PACKAGE = Path(__file__).resolve().parent
# Package-relative files and folders (their .py and .txt files) whose change can change a blob's findings:
# matching and checks, expansion, what a finding holds (classification, previews, provider facts), and how
# the git source reads a blob (pack reading, delta windows, text decoding, what is skipped as binary).
DETECTION_CODE = ("checks", "expand", "rules", "engine.py", "scanner.py", "findings.py", "classify.py",
                  "identity.py", "providers.py", "sources/git.py", "sources/gitpack.py", "sources/gitdelta.py",
                  "sources/textdecode.py")
SUFFIXES = (".py", ".txt")
DETECTION_DATA = ("rules/providers",)  # provider facts (.yml); the rule files are in the rule-set digest


def incremental_key(ruleset: str, options: str, fingerprint_key: bytes) -> str:
    """The key a repository's incremental scans are cached under: the rule-set digest, the scan options that
    change a blob's findings (Scanner.detection_options), the detection code's digest, the cache's record
    format (a record of another format lacks fields a replay must give) and the fingerprint key's check value
    (recorded token ids are valid under that key only). "" (no cache) without a rule set."""
    if not ruleset:
        return ""
    code = f"{detection_digest()}.r{blobcache.RECORD_VERSION}"
    return f"{ruleset}:{options}:{code}:{key_check_value(fingerprint_key)}"


def detection_digest(root: Path = PACKAGE) -> str:
    """A content hash of the detection code under root (the installed package by default); cached per root."""
    return _digest(root.resolve())


@functools.cache
def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in _files(root):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _files(root: Path) -> list[Path]:
    """The detection code's files, in a fixed order (rule files are covered by the rule-set digest)."""
    found: list[Path] = []
    for name in DETECTION_CODE:
        target = root / name
        if target.is_file():
            found.append(target)
        elif target.is_dir():
            found.extend(p for p in target.rglob("*") if p.suffix in SUFFIXES and "__pycache__" not in p.parts)
    for name in DETECTION_DATA:
        found.extend((root / name).glob("*.yml"))
    return sorted(found)
