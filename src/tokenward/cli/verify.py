"""`tokenward verify` and `tokenward revoke`: options in, a table or JSON out (the work is in verify/)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from tokenward.cli.common import EXIT_UNREADABLE, EXIT_USAGE, err, error, user_errors
from tokenward.errors import ConfigError
from tokenward.report.terminal import plain, visible

if TYPE_CHECKING:
    from tokenward.store import Inventory
    from tokenward.verify.client import ProviderClient
    from tokenward.verify.interface import Revoker, Verifier
    from tokenward.verify.service import Outcome, RevokePlan, Target

Db = Annotated[str | None, typer.Option("--db", envvar="TOKENWARD_DB",
                                        help="Inventory URL (sqlite:///…, postgresql://…) or SQLite file.")]
Stdin = Annotated[bool, typer.Option("--stdin", help="Read the plaintext from stdin instead of its recorded place.")]
Addr = Annotated[str | None, typer.Option("--addr", help="OpenBao/Vault address (default $BAO_ADDR, $VAULT_ADDR).")]
Endpoint = Annotated[list[str] | None, typer.Option(
    "--endpoint", help="PROVIDER=URL: another base URL (self-hosted GitLab, Sentry…) (repeatable).")]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds per request.")]
Actor = Annotated[str | None, typer.Option("--actor", help="Who (default $TOKENWARD_ACTOR or user@host).")]
_DURATION = re.compile(r"(\d+)([smhd])")


def _duration(text: str) -> timedelta:
    m = _DURATION.fullmatch(text.strip())
    if not m:
        raise ConfigError(f"--max-age: expected a duration like 30m, 24h or 7d, got {text!r}")
    return timedelta(seconds=int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)])


def _client(addr: str | None, endpoint: list[str] | None, timeout: float) -> ProviderClient:
    from tokenward.verify.client import Limits, ProviderClient, endpoints_from_env

    endpoints = endpoints_from_env()
    for item in endpoint or ():
        name, sep, url = item.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise ConfigError(f"--endpoint: expected PROVIDER=http(s)://host, got {item!r}")
        endpoints[name] = url.rstrip("/")
    if addr:
        endpoints["vault"] = addr.rstrip("/")
    if timeout <= 0:
        raise ConfigError("--timeout must be positive")
    return ProviderClient(Limits(timeout=timeout), endpoints)


@contextmanager
def _errors() -> Iterator[None]:
    """user_errors, plus the verify errors: unsupported → 2, plaintext gone / network down → 3."""
    from tokenward.verify.locate import NotFoundError
    from tokenward.verify.service import NetworkError, UnsupportedError

    with user_errors():
        try:
            yield
        except UnsupportedError as exc:
            error(exc)
            raise typer.Exit(EXIT_USAGE) from None
        except (NotFoundError, NetworkError) as exc:
            error(exc)
            raise typer.Exit(EXIT_UNREADABLE) from None


def _stdin(use: bool) -> bytes | None:
    return sys.stdin.buffer.read() if use else None


def verify(
    token_ids: Annotated[list[str] | None, typer.Argument(help="Token ids or unique prefixes.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every token in the inventory.")] = False,
    leaked: Annotated[bool, typer.Option("--leaked", help="Every open token found in plaintext.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text|json")] = "text",
    max_age: Annotated[str, typer.Option("--max-age", help="Reuse a live/invalid result younger than this.")] = "24h",
    refresh: Annotated[bool, typer.Option("--refresh", help="Ignore cached results.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="At most this many tokens per run (--all/--leaked).")] = 500,
    list_: Annotated[bool, typer.Option("--list", help="List the providers tokenward verifies and revokes.")] = False,
    stdin: Stdin = False, addr: Addr = None, endpoint: Endpoint = None, timeout: Timeout = 10.0, db: Db = None,
    actor: Actor = None,
) -> None:
    """Check with each provider whether tokens still work: live, invalid or unknown (with the evidence)."""
    with _errors():
        if list_:
            _print_capabilities()
            return
        if fmt not in ("text", "json"):
            raise ConfigError(f"unknown --format {fmt!r} (choose from text, json)")
        if bool(token_ids) + every + leaked != 1:
            raise ConfigError("name token ids, or give --all or --leaked (one of them)")
        if stdin and (not token_ids or len(token_ids) != 1):
            raise ConfigError("--stdin needs exactly one token id")
        age = timedelta(0) if refresh else _duration(max_age)
        outcomes = _run_verify(token_ids or [], every, leaked, limit, age, _stdin(stdin),
                               _client(addr, endpoint, timeout), db, actor)
    _print_outcomes(outcomes, fmt)


def _run_verify(ids: list[str], every: bool, leaked: bool, limit: int, age: timedelta, stdin: bytes | None,
                client: ProviderClient, db: str | None, actor: str | None) -> list[Outcome]:
    from tokenward.store import Inventory
    from tokenward.store.writer import actor as default_actor
    from tokenward.verify.locate import Finder
    from tokenward.verify.service import VerifyRun, targets

    with client, Inventory.open(db, create=False) as inventory:
        chosen = targets(inventory, ids, every=every, leaked=leaked, limit=limit)
        run = VerifyRun(inventory, client, Finder.load(), actor or default_actor(), age, stdin, strict=bool(ids))
        return run.run(chosen)


def verify_found(db: str | None, token_ids: list[str]) -> None:
    """`scan --verify`: verify the tokens a scan just recorded and say what each is, on stderr (stdout
    holds the scan's report); tokens without a verifier come out as unknown, never as an error."""
    outcomes = _run_verify(token_ids, False, False, len(token_ids), timedelta(hours=24), None,
                           _client(None, None, 10.0), db, None) if token_ids else []
    for o in outcomes:
        tk, v = o.target.token, o.verdict
        err.print(plain(f"verify {tk.provider} {tk.preview}: {v.status} ({v.reason})"))


def _print_outcomes(outcomes: list[Outcome], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps([o.as_dict() for o in outcomes], indent=2))
        return
    rows = [("TOKEN", "PROVIDER", "KIND", "PREVIEW", "STATUS", "IDENTITY", "SCOPES", "REASON")]
    for o in outcomes:
        tk, v = o.target.token, o.verdict
        scopes = ",".join(v.scopes)
        rows.append((tk.token_id[:12], tk.provider, tk.kind, tk.preview, v.status + (" (cached)" if o.cached else ""),
                     v.identity or "-", (scopes[:40] + "…") if len(scopes) > 40 else scopes or "-", v.reason))
    widths = [max(len(visible(r[i])) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(visible(c).ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + visible(row[-1]))
    counts = {s: sum(o.verdict.status == s for o in outcomes) for s in ("live", "invalid", "unknown")}
    err.print(f"{len(outcomes)} tokens: {counts['live']} live, {counts['invalid']} invalid, "
              f"{counts['unknown']} unknown")


def _print_capabilities() -> None:
    from tokenward.verify.registry import REVOKERS, VERIFIERS

    providers = sorted({v.provider for v in VERIFIERS.values()} | {r.provider for r in REVOKERS.values()})
    print("PROVIDER  VERIFY  REVOKE")
    def kinds(registry: dict[str, Verifier] | dict[str, Revoker], provider: str) -> str:
        return ",".join(sorted(r.split(".", 1)[1] for r, e in registry.items() if e.provider == provider)) or "-"

    for p in providers:
        print(f"{p}  {kinds(VERIFIERS, p)}  {kinds(REVOKERS, p)}")
    err.print(f"{len({v.provider for v in VERIFIERS.values()})} providers verified ({len(VERIFIERS)} token kinds), "
              f"{len({r.provider for r in REVOKERS.values()})} revoked through their API ({len(REVOKERS)} token kinds)")


def revoke(
    token_id: Annotated[str, typer.Argument(help="Token id or any unique prefix of it.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the exact requests (token redacted); send nothing.")]
    = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (scripts, CI).")] = False,
    delete: Annotated[bool, typer.Option("--delete", help="AWS: delete the access key after deactivating it.")]
    = False,
    stdin: Stdin = False, addr: Addr = None, endpoint: Endpoint = None, timeout: Timeout = 10.0, db: Db = None,
    actor: Actor = None,
) -> None:
    """Revoke a token through its provider's API (or print the manual steps); audited in the inventory."""
    from tokenward.store import Inventory

    with _errors():
        client = _client(addr, endpoint, timeout)
        with client, Inventory.open(db, create=False) as inventory:
            _revoke(inventory, client, token_id, _stdin(stdin), dry_run, yes, delete, actor)


def _revoke(inventory: Inventory, client: ProviderClient, token_id: str, stdin: bytes | None, dry_run: bool,
            yes: bool, delete: bool, actor: str | None) -> None:
    from tokenward.store.writer import actor as default_actor
    from tokenward.verify.locate import Finder
    from tokenward.verify.service import UnsupportedError, plan_revoke, revoke, targets

    target = targets(inventory, [token_id])[0]
    try:
        plan = plan_revoke(target, Finder.load(), client, stdin, partial(_with_delete, delete))
    except UnsupportedError as exc:
        _manual(target, str(exc))
    _show_plan(plan)
    if dry_run:
        print("dry run: nothing sent")
        return
    _confirm(plan, yes)
    result = revoke(plan, client, inventory, actor or default_actor())
    if not result.done:
        error(f"not revoked: {result.reason}")
        raise typer.Exit(EXIT_UNREADABLE)
    print(f"{target.token.token_id[:12]}  revoked: {result.reason} (audit event recorded; status revoked)")


def _with_delete(delete: bool, revoker: Revoker) -> Revoker:
    """AWS keys: --delete also deletes the key once it is inactive."""
    from tokenward.verify.cloud import AwsKeyRevoker

    return replace(revoker, delete=True) if delete and isinstance(revoker, AwsKeyRevoker) else revoker


def _manual(target: Target, why: str) -> NoReturn:
    from tokenward.verify.manual import manual_steps

    tk = target.token
    error(f"{why}; manual steps: {manual_steps(tk.provider, tk.kind)}")
    raise typer.Exit(EXIT_UNREADABLE)


def _places(target: Target) -> list[str]:
    return [f"{o.source_kind} {o.source}:{o.path}:{o.line}" + (f" @{o.commit_id[:10]}" if o.commit_id else "")
            for o in target.occurrences]


def _show_plan(plan: RevokePlan) -> None:
    tk = plan.target.token
    places = _places(plan.target)
    print(visible(f"token     {tk.token_id[:12]}  {tk.provider} {tk.kind}  {tk.preview}"))
    print(visible(f"owner     {tk.owner or 'unknown'}"))
    print(visible(f"found in  {len(places)} place(s): " + "; ".join(places[:5]) + (" …" if len(places) > 5 else "")))
    for request in plan.requests:
        print(visible(f"request   {request}"))


def _confirm(plan: RevokePlan, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfigError("refusing to revoke without confirmation: no terminal to ask (use --yes)")
    tk = plan.target.token
    question = (f"Revoke {tk.provider} {tk.kind} {tk.preview} owned by {tk.owner or 'an unknown owner'}, "
                f"found in {len(plan.target.occurrences)} place(s)?")
    if not typer.confirm(visible(question), default=False):
        err.print("not revoked")
        raise typer.Exit(1)
