"""Load and validate rule files into frozen RuleSpec objects."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tokenward.errors import RuleError
from tokenward.rules import diskcache

# The rule model lives in model.py (no pydantic, no YAML); what callers take from here is re-exported.
from tokenward.rules.model import PairSpec, RuleSpec, common_keywords, confidence_rank

__all__ = ["BUILTIN_DIR", "RuleSpec", "common_keywords", "confidence_rank", "load_rule_file", "load_rules",
           "rule_files", "ruleset_hash"]

BUILTIN_DIR = Path(__file__).parent / "builtin"


def load_rule_file(path: Path) -> list[RuleSpec]:
    """Parse one YAML rule file; raise RuleError naming the file and field on any problem."""
    # pydantic and the YAML parser load only when rule files are really parsed: a cached rule set
    # (every scan but a machine's first) starts without them.
    from tokenward.rules.schema import parse_rule_file

    return parse_rule_file(path)


def rule_files(dirs: Iterable[Path]) -> list[Path]:
    """Every *.yml / *.yaml file under the given files or directories, sorted."""
    found: list[Path] = []
    for d in dirs:
        if d.is_file():
            found.append(d)
        elif d.is_dir():
            found.extend(p for p in d.rglob("*") if p.suffix in (".yml", ".yaml"))
        else:
            raise RuleError(f"{d}: no such rule file or directory")
    return sorted(found)


def load_rules(extra: Iterable[Path] = (), builtin: bool = True, unique: bool = True) -> list[RuleSpec]:
    """Load the built-in rules plus any user rule files; ids must be unique unless unique=False.

    A rule set parsed before (same files, sizes and times, same loader code) comes from the disk
    cache: parsing and validating a thousand rules is most of a small scan's start-up."""
    paths = rule_files(([BUILTIN_DIR] if builtin else []) + list(extra))
    name = f"rules-{_files_key(paths, unique)}.json"
    cached = diskcache.read(name)
    if cached is not None:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            return [_from_json(item) for item in json.loads(cached)]
    specs = _parse(paths, unique)
    diskcache.write(name, json.dumps([dataclasses.asdict(s) for s in specs]).encode())
    return specs


def _parse(paths: list[Path], unique: bool) -> list[RuleSpec]:
    specs: list[RuleSpec] = []
    seen: dict[str, str] = {}
    for path in paths:
        for spec in load_rule_file(path):
            if unique and spec.id in seen:
                raise RuleError(f"rule id {spec.id!r} defined twice: {seen[spec.id]} and {path}")
            seen[spec.id] = str(path)
            specs.append(spec)
    return specs


def _files_key(paths: list[Path], unique: bool) -> str:
    # The loader's own source is part of the key: a change to how rules are parsed re-parses them.
    h = hashlib.sha256(Path(__file__).read_bytes())
    for module in ("model.py", "schema.py"):
        h.update((Path(__file__).parent / module).read_bytes())
    h.update((Path(__file__).parent / "common_keywords.txt").read_bytes())
    h.update(repr(unique).encode())
    for path in paths:
        st = path.stat()
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:24]


def _from_json(item: dict[str, Any]) -> RuleSpec:
    tuples = ("keywords", "references", "examples", "negative_examples", "aliases")
    fields: dict[str, Any] = {k: tuple(v) if k in tuples else v for k, v in item.items()}
    fields["checks"] = tuple((name, arg) for name, arg in item["checks"])
    fields["pair"] = PairSpec(**item["pair"]) if item["pair"] else None
    return RuleSpec(**fields)


def ruleset_hash(specs: Iterable[RuleSpec]) -> str:
    """A content hash of the matching-relevant parts of a rule set (cache and rescan key)."""
    h = hashlib.sha256()
    for s in sorted(specs, key=lambda r: r.id):
        h.update(repr((s.id, s.pattern, s.keywords, s.checks, s.confidence, s.pair, s.gated,
                        s.prefilter_pattern)).encode())
    return h.hexdigest()[:32]
