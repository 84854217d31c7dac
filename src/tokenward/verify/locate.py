"""Find a token's plaintext again, at the time of use, from where the inventory recorded it.

Each recorded occurrence names a source (a directory, file or repository) and a path, and for git a blob
id: the file or blob is read again (`git cat-file` for blobs), expanded like a scan expands it (archives,
exports, encodings), matched by the rule engine, and the match whose HMAC is the token id is the one. The
plaintext stays in memory, inside a Credential; it is never stored, logged or printed.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenward.engine import Matcher
from tokenward.errors import TokenwardError
from tokenward.expand import ExpandOptions, expand
from tokenward.identity import Fingerprinter, load_key
from tokenward.sources.interface import Blob, Origin
from tokenward.store.records import OccurrenceRow
from tokenward.verify.interface import Credential

GIT_TIMEOUT = 60
MAX_READ = 256 << 20
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class NotFoundError(TokenwardError):
    """The plaintext could not be found again (file changed or gone, blob pruned, stdin source)."""


@dataclass(frozen=True)
class Finder:
    """The rule engine and the fingerprint key, ready to recognise one token by its id."""

    matcher: Matcher
    fp: Fingerprinter
    options: ExpandOptions

    @classmethod
    def load(cls) -> Finder:
        """The built-in rules (compiled, cached on disk) and this user's key."""
        from tokenward.rules.spec import load_rules
        from tokenward.scanner import scan_ruleset

        matcher = Matcher(scan_ruleset(load_rules()), lookalikes=True)  # the scan's cached database
        return cls(matcher, Fingerprinter(load_key()), ExpandOptions(probe=matcher.ruleset))

    def in_blob(self, blob: Blob, token_id: str) -> Credential | None:
        """The token in this blob (or anything it expands to), or None."""
        for item in expand(blob, self.options):
            if not isinstance(item, Blob):
                continue
            for m in self.matcher.scan(item.data):
                if self.fp.token_id(m.secret) == token_id:
                    pid = (("id", m.public_id.decode("utf-8", "replace")),) if m.public_id else ()
                    return Credential(m.secret.decode("utf-8", "replace"), m.rule.spec.id, pid)
        return None

    def in_text(self, data: bytes, token_id: str, rule_ids: Sequence[str]) -> Credential | None:
        """The token in text given on stdin: a match, or the whole (stripped) text when it is the token."""
        found = self.in_blob(Blob(data, Origin("stdin", "-", "-")), token_id)
        if found is not None:
            return found
        bare = data.strip()
        if rule_ids and bare and self.fp.token_id(bare) == token_id:
            return Credential(bare.decode("utf-8", "replace"), rule_ids[0])
        return None

    def in_occurrences(self, token_id: str, occurrences: Iterable[OccurrenceRow]) -> Credential:
        """The token from the first recorded place where it can still be found; NotFoundError otherwise."""
        tried: list[str] = []
        for occ in _current_first(occurrences):
            blob = read_occurrence(occ)
            tried.append(f"{occ.source_kind} {occ.path}")
            if blob is not None and (cred := self.in_blob(blob, token_id)) is not None:
                return cred
        where = "; ".join(tried[:3]) + (" …" if len(tried) > 3 else "") if tried else "no recorded occurrence"
        raise NotFoundError(f"the plaintext of {token_id[:12]} is no longer where it was recorded ({where}); "
                            "pass it on stdin with --stdin")


def _current_first(occurrences: Iterable[OccurrenceRow]) -> list[OccurrenceRow]:
    # Files still in HEAD first (cheap, and most likely unchanged), then history blobs.
    return sorted(occurrences, key=lambda o: (o.in_head is False, o.blob_id is not None, o.last_seen), reverse=False)


def read_occurrence(occ: OccurrenceRow) -> Blob | None:
    """The outermost recorded input of an occurrence (archive members are found again by expanding it)."""
    container = occ.path.split("!/", 1)[0]
    if occ.blob_id and _OBJECT_ID.fullmatch(occ.blob_id) and occ.source_kind == "repo":
        data = _git_blob(occ.source, occ.blob_id)
        return Blob(data, Origin("git", occ.source, container, blob_id=occ.blob_id)) if data is not None else None
    if occ.source in ("stdin", "-"):
        return None
    path = Path(container) if Path(container).is_absolute() else Path(occ.source) / container
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_READ)
    except OSError:
        return None
    return Blob(data, Origin("file", occ.source, container))


def _git_blob(repo: str, blob_id: str) -> bytes | None:
    try:
        proc = subprocess.run(["git", "-C", repo, "cat-file", "blob", blob_id], capture_output=True,
                              timeout=GIT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None
