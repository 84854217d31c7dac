"""The log parser interface: a batch of raw lines in, UsageEvents out; malformed lines are counted."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tokenward.identity import Fingerprinter
from tokenward.usage.events import ParseContext, UsageEvent

try:  # orjson decodes a log line 4-10x faster than the standard library (benchmarks/README.md)
    from orjson import JSONDecodeError as JSONError
    from orjson import loads as json_loads
except ImportError:  # pragma: no cover - the standard library is the fallback
    from json import JSONDecodeError as JSONError  # type: ignore[assignment]
    from json import loads as json_loads  # type: ignore[assignment]

__all__ = ["JSONError", "LogParser", "ParserOptions", "json_loads", "path_get"]


@dataclass(frozen=True)
class ParserOptions:
    """What configurable parsers need: the org key, the token field and a generic field mapping."""

    fingerprinter: Fingerprinter | None = None
    token_field: str | None = None  # access logs: the field (or header) carrying the token
    mapping: Mapping[str, str] = field(default_factory=dict)  # generic JSON lines: our name -> dotted path
    provider: str = "http"
    shard: tuple[int, int] | None = None  # parallel runs: keep only identifiers with crc32 % n == k


class LogParser(Protocol):
    """One log format: recognises its own lines and turns batches of them into events."""

    name: str

    def sniff(self, line: bytes) -> bool:
        """True when line (the first non-empty line, or a whole JSON document) is in this format."""

    def parse(self, lines: Sequence[bytes], first_line: int, ctx: ParseContext) -> list[UsageEvent]:
        """Events of lines (line numbers start at first_line); bad lines go to ctx, never raise."""


def path_get(obj: Any, path: str) -> Any:
    """obj['a']['b'] for path 'a.b' (None when any step is missing); a key containing dots matches whole."""
    if isinstance(obj, dict) and path in obj:
        return obj[path]
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
        if obj is None:
            return None
    return obj


def as_text(value: Any) -> str | None:
    """A non-empty string form of a scalar, else None."""
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)


def load_json(line: bytes) -> Any:
    """Decode one JSON line (ValueError subclasses on malformed input)."""
    return json_loads(line)


def json_records(lines: Sequence[bytes], first_line: int, ctx: ParseContext,
                 unwrap: Callable[[Any], Any]) -> Iterator[tuple[int, Any]]:
    """(line number, record) for every record `unwrap` finds in each JSON line; bad lines are counted."""
    for i, raw in enumerate(lines, first_line):
        try:
            doc = load_json(raw)
        except ValueError:
            ctx.bad(i, "invalid JSON", raw)
            continue
        records = unwrap(doc)
        for rec in records if isinstance(records, list) else [records]:
            yield i, rec
