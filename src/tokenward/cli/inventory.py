"""`tokenward inventory list|show|export`, `tokenward triage` and `tokenward db upgrade`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from tokenward import __version__
from tokenward.cli.common import err, user_errors
from tokenward.errors import ConfigError, ReportError
from tokenward.report.csvout import SafeCsvWriter
from tokenward.report.terminal import plain, plural, visible

if TYPE_CHECKING:
    from tokenward.store import Inventory
    from tokenward.store.records import OccurrenceRow, TokenDetail, TokenFilter, TokenRow

app = typer.Typer(help="The token inventory: one record per token across every scan and source.",
                  no_args_is_help=True)
db_app = typer.Typer(help="Inventory database maintenance.", no_args_is_help=True)

STATUSES = ("open", "false-positive", "accepted-risk", "revoked", "rotated")
SOURCE_KINDS = ("repo", "file", "log", "export")
Db = Annotated[str | None, typer.Option("--db", envvar="TOKENWARD_DB",
                                        help="Inventory URL (sqlite:///…, postgresql://…) or SQLite file.")]
Provider = Annotated[str | None, typer.Option("--provider", help="Only this provider (e.g. github).")]
Status = Annotated[str | None, typer.Option("--status", help="|".join(STATUSES))]
SourceKind = Annotated[str | None, typer.Option("--source", help="Only tokens found in a " + "|".join(SOURCE_KINDS))]
HistoryOnly = Annotated[bool, typer.Option("--history-only", help="Only tokens no longer in any current file.")]
LIST_COLUMNS = ("TOKEN", "SEVERITY", "STATUS", "PROVIDER", "KIND", "OCC", "SRC", "FOUND IN", "FIRST SEEN",
                "LAST SEEN", "OWNER", "PREVIEW")
CSV_COLUMNS = ("token_id", "provider", "kind", "severity", "status", "owner", "preview", "public_id",
               "token_first_seen", "token_last_seen", "occurrences", "source_kind", "source", "path", "line",
               "column", "rule_id", "blob_id", "commit", "author", "author_email", "committed_at", "in_head",
               "first_seen", "last_seen")


@contextmanager
def _inventory(db: str | None) -> Iterator[Inventory]:
    from tokenward.store import Inventory

    with Inventory.open(db, create=False) as inventory:  # read commands never create a database
        yield inventory


def _filter(provider: str | None, status: str | None, source: str | None, history_only: bool) -> TokenFilter:
    from tokenward.store.records import TokenFilter

    if status is not None and status not in STATUSES:
        raise ConfigError(f"unknown --status {status!r} (choose from {', '.join(STATUSES)})")
    if source is not None and source not in SOURCE_KINDS:
        raise ConfigError(f"unknown --source {source!r} (choose from {', '.join(SOURCE_KINDS)})")
    return TokenFilter(provider, status, source, history_only)


def _when(value: datetime | None, seconds: bool = False) -> str:
    """UTC 'YYYY-MM-DD HH:MM[:SS]' (inventory timestamps are read back in UTC)."""
    if value is None:
        return "-"
    return str(value.astimezone(UTC))[:19 if seconds else 16]


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], out: TextIO) -> None:
    """Aligned plain-text columns (for `show`; `list` has the database lay out its rows); control characters
    in values (file names, authors) are shown as escapes, never sent to the terminal."""
    rows = [tuple(visible(c) for c in r) for r in rows]
    widths = [max(len(h), max(map(len, map(str, {r[i] for r in rows})), default=0))
              for i, h in enumerate(header[:-1])]
    fmt = "  ".join(f"%-{w}s" for w in widths) + "  %s"
    lines = [fmt % tuple(r) for r in rows]
    out.write((fmt % tuple(header)).rstrip() + "\n" + "\n".join(lines) + ("\n" if lines else ""))


@app.command("list")
def list_tokens(provider: Provider = None, status: Status = None, source: SourceKind = None,
                history_only: HistoryOnly = False, db: Db = None) -> None:
    """One row per token: severity, status, occurrences, sources, first/last seen, owner."""
    with user_errors():
        wanted = _filter(provider, status, source, history_only)
        with _inventory(db) as inventory:
            lines = inventory.token_table(LIST_COLUMNS, wanted)
        try:
            sys.stdout.write("\n".join(map(visible, lines)) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            _stdout_closed()
            return
        err.print(plural(len(lines) - 1, "token"))


def _detail_text(d: TokenDetail, out: TextIO) -> None:
    t = d.token
    fields = [
        ("token", t.token_id), ("provider", f"{t.provider} ({', '.join(d.rule_ids)})"), ("kind", t.kind),
        ("preview", t.preview), *((f"public {n}", v) for n, v in d.public_ids),
        ("severity", f"{t.severity} (confidence {t.confidence}, environment {t.environment or '-'}, "
                     f"privilege {t.privilege or '-'})"),
        ("status", t.status + (f" since {_when(t.status_changed_at)}" if t.status_changed_at else "")),
        ("owner", t.owner or "-"), ("expires", _when(t.expires_at)),
        ("seen", f"first {_when(t.first_seen)}, last {_when(t.last_seen)}"),
        ("found", f"{plural(t.occurrences, 'occurrence')} in {plural(t.sources, 'source')} "
                  f"({', '.join(t.source_kinds) or '-'})"
                  + ("" if t.current else ", history only")),
    ]
    width = max(len(k) for k, _ in fields)
    out.write("".join(f"{k:<{width}}  {visible(v)}\n" for k, v in fields))
    out.write("\nOccurrences\n")
    _table(("SOURCE", "WHERE", "COMMIT", "AUTHOR", "COMMITTED", "IN HEAD", "FIRST SEEN", "LAST SEEN"),
           [_occurrence_cells(o) for o in d.occurrences], out)
    out.write("\nAudit trail\n")
    _table(("AT", "ACTOR", "ACTION", "STATUS", "NOTE"),
           [(_when(e.at, True), e.actor, e.action, f"{e.old_status or '-'} -> {e.new_status or '-'}", e.note or "")
            for e in d.events], out)


def _occurrence_cells(o: OccurrenceRow) -> tuple[str, ...]:
    author = f"{o.author} <{o.author_email}>" if o.author_email else (o.author or "-")
    return (f"{o.source_kind} {o.source}", f"{o.path}:{o.line}:{o.col}", (o.commit_id or "-")[:12], author,
            _when(o.committed_at), "-" if o.in_head is None else ("yes" if o.in_head else "no"),
            _when(o.first_seen), _when(o.last_seen))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@app.command("show")
def show(token_id: Annotated[str, typer.Argument(help="Token id or any unique prefix of it.")],
         fmt: Annotated[str, typer.Option("--format", "-f", help="text|json")] = "text", db: Db = None) -> None:
    """Everything about one token: every occurrence (source, path, commit, author, dates) and its audit trail."""
    with user_errors():
        if fmt not in ("text", "json"):
            raise ConfigError(f"unknown --format {fmt!r} (choose from text, json)")
        with _inventory(db) as inventory:
            detail = inventory.token_detail(inventory.find(token_id))
        if fmt == "json":
            json.dump(_jsonable(asdict(detail)), sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            _detail_text(detail, sys.stdout)


def _csv_rows(t: TokenRow, occurrences: list[OccurrenceRow]) -> Iterator[list[object]]:
    head = [t.token_id, t.provider, t.kind, t.severity, t.status, t.owner, t.preview, t.public_id, t.first_seen,
            t.last_seen, t.occurrences]
    options: list[OccurrenceRow | None] = [*occurrences] or [None]
    for o in options:
        tail = ([] if o is None else
                [o.source_kind, o.source, o.path, o.line, o.col, o.rule_id, o.blob_id, o.commit_id, o.author,
                 o.author_email, o.committed_at, "" if o.in_head is None else str(o.in_head).lower(), o.first_seen,
                 o.last_seen])
        yield head + tail


def _export(items: Iterable[tuple[TokenRow, list[OccurrenceRow]]], fmt: str, out: TextIO) -> int:
    count = 0
    if fmt == "csv":
        writer = SafeCsvWriter(out)  # the scan's CSV writer: no spreadsheet formulas
        writer.writerow(CSV_COLUMNS)
        for t, occ in items:
            writer.writerows(_csv_rows(t, occ))
            count += 1
        return count
    head = {"tool": "tokenward", "tool_version": __version__, "exported_at": datetime.now(UTC).isoformat()}
    out.write(json.dumps(head)[:-1] + ', "tokens": [')
    for t, occ in items:
        record = _jsonable({**asdict(t), "occurrence_count": t.occurrences, "occurrences": [asdict(o) for o in occ]})
        out.write(("," if count else "") + "\n  " + json.dumps(record))
        count += 1
    out.write("\n]}\n")
    return count


@app.command("export")
def export(fmt: Annotated[str, typer.Option("--format", "-f", help="json|csv")] = "json",
           output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (default stdout).")] = None,
           provider: Provider = None, status: Status = None, source: SourceKind = None,
           history_only: HistoryOnly = False, db: Db = None) -> None:
    """Export tokens with every occurrence: JSON (one object per token) or CSV (one row per occurrence)."""
    with user_errors():
        if fmt not in ("json", "csv"):
            raise ConfigError(f"unknown --format {fmt!r} (choose from json, csv)")
        wanted = _filter(provider, status, source, history_only)
        with _inventory(db) as inventory:
            try:
                with (output.open("w", encoding="utf-8", newline="") if output else _stdout()) as out:
                    count = _export(inventory.export(wanted), fmt, out)
            except BrokenPipeError:
                _stdout_closed()
                return
            except OSError as exc:
                raise ReportError(f"cannot write {output}: {exc.strerror}") from None
        err.print(plain(f"{plural(count, 'token')} exported" + (f" to {output}" if output else "")))


@contextmanager
def _stdout() -> Iterator[TextIO]:
    yield sys.stdout


def _stdout_closed() -> None:
    """The reader went away (`| head`): stop quietly, without a second error when Python flushes stdout."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def triage(token_id: Annotated[str, typer.Argument(help="Token id or any unique prefix of it.")],
           status: Annotated[str, typer.Option("--status", help="|".join(STATUSES))],
           note: Annotated[str | None, typer.Option("--note", help="Why (kept in the audit trail).")] = None,
           actor: Annotated[str | None, typer.Option("--actor", help="Who (default $TOKENWARD_ACTOR or user@host).")]
           = None, db: Db = None) -> None:
    """Set a token's status (false-positive, accepted-risk, revoked, rotated, open); every change is audited."""
    from tokenward.store.writer import actor as default_actor

    with user_errors():
        if status not in STATUSES:
            raise ConfigError(f"unknown --status {status!r} (choose from {', '.join(STATUSES)})")
        with _inventory(db) as inventory:
            full = inventory.find(token_id)
            event = inventory.triage(full, status, note, actor or default_actor(), datetime.now(UTC))
        if event is None:
            print(f"{full[:12]}  already {status}: nothing changed, no audit event")
            return
        print(f"{full[:12]}  {event.old_status} -> {event.new_status}  (event {event.event_id} by {event.actor})")


@db_app.command("upgrade")
def upgrade(db: Db = None) -> None:
    """Create the inventory or apply pending schema migrations (also done automatically on first use)."""
    from tokenward.store import Inventory

    with user_errors(), Inventory.open(db, migrate=False) as inventory:
        before = inventory.revision()
        after = inventory.upgrade()
        err.print(f"{inventory}: schema {before or 'empty'} -> {after}" if before != after
                  else f"{inventory}: schema {after} is current")
