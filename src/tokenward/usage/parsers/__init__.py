"""Usage log parsers: one module per format behind one interface, in an explicit registry."""

from __future__ import annotations

from collections.abc import Callable

from tokenward.errors import UsageError
from tokenward.usage.parsers.cloudtrail import CloudTrailParser
from tokenward.usage.parsers.github_audit import GitHubAuditParser
from tokenward.usage.parsers.interface import LogParser, ParserOptions
from tokenward.usage.parsers.jsonl import JsonLinesParser
from tokenward.usage.parsers.nginx import AccessLogParser, JsonAccessLogParser
from tokenward.usage.parsers.openbao_audit import OpenBaoAuditParser
from tokenward.usage.parsers.otel import OtelLogParser

PARSERS: dict[str, Callable[[ParserOptions], LogParser]] = {
    "cloudtrail": CloudTrailParser,
    "github-audit": lambda o: GitHubAuditParser(),
    "openbao-audit": lambda o: OpenBaoAuditParser(),
    "otel": OtelLogParser,
    "nginx-json": JsonAccessLogParser,
    "jsonl": JsonLinesParser,
    "nginx": AccessLogParser,
}
FORMATS = ("auto", "cloudtrail", "github-audit", "openbao-audit", "nginx", "jsonl", "otel")
SNIFF_ORDER = ("cloudtrail", "github-audit", "openbao-audit", "otel", "nginx-json", "jsonl", "nginx")


def choose(fmt: str, first: bytes, options: ParserOptions) -> LogParser | None:
    """The parser for a log whose first record is first: fmt, or the first format that recognises it."""
    if fmt not in FORMATS and fmt not in PARSERS:
        raise UsageError(f"unknown --format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "nginx" and first.lstrip().startswith(b"{"):
        fmt = "nginx-json"
    if fmt != "auto":
        return PARSERS[fmt](options)
    for name in SNIFF_ORDER:
        parser = PARSERS[name](options)
        if parser.sniff(first):
            return parser
    return None


__all__ = ["FORMATS", "PARSERS", "LogParser", "ParserOptions", "choose"]
