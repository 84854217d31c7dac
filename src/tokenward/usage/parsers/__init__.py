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


class Sniffer:
    """Tells logs' formats from their first record: fmt, or the first format whose parser recognises it. One parser
    of each format, made with the run's options, sniffs every log (sniff only reads); the parser that reads a log
    is made for it once its format is known (parsers count what they read)."""

    def __init__(self, fmt: str, options: ParserOptions) -> None:
        if fmt not in FORMATS and fmt not in PARSERS:
            raise UsageError(f"unknown --format {fmt!r} (choose from {', '.join(FORMATS)})")
        self.fmt, self.options = fmt, options
        self._sniffers: dict[str, LogParser] = {}

    def format_of(self, first: bytes) -> str | None:
        """The format of a log whose first record (its whole head, for a document) is first; None: not known."""
        if self.fmt == "nginx" and first.lstrip().startswith(b"{"):
            return "nginx-json"
        if self.fmt != "auto":
            return self.fmt
        for name in SNIFF_ORDER:
            parser = self._sniffers.get(name)
            if parser is None:
                parser = self._sniffers[name] = PARSERS[name](self.options)
            if parser.sniff(first):
                return name
        return None


def choose(fmt: str, first: bytes, options: ParserOptions) -> LogParser | None:
    """The parser for a log whose first record is first: fmt, or the first format that recognises it."""
    name = Sniffer(fmt, options).format_of(first)
    return PARSERS[name](options) if name else None


__all__ = ["FORMATS", "PARSERS", "LogParser", "ParserOptions", "Sniffer", "choose"]
