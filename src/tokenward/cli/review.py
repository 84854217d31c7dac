"""`tokenward import …` (declared and provider inventories) and `tokenward review`."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from tokenward.cli.common import err, user_errors
from tokenward.errors import ConfigError, ReportError
from tokenward.report.terminal import plain, plural

if TYPE_CHECKING:
    from tokenward.engine import Matcher
    from tokenward.importers.interface import ImportResult
    from tokenward.owners import OwnerRule
    from tokenward.policy.model import Review

import_app = typer.Typer(help="Import declared and provider token inventories (values are never stored).",
                         no_args_is_help=True)
Db = Annotated[str | None, typer.Option("--db", envvar="TOKENWARD_DB", help="Inventory URL or SQLite file.")]
File = Annotated[Path, typer.Argument(help="The file to import.", exists=True, dir_okay=False)]
SEVERITY_CHOICES = ("critical", "high", "medium", "low", "info", "none")


@cache
def _matcher() -> Matcher:
    from tokenward.engine import Matcher
    from tokenward.rules.spec import load_rules
    from tokenward.scanner import scan_ruleset

    return Matcher(scan_ruleset(load_rules()))  # the scan's cached database


def run_import(name: str, source: str, options: dict[str, str], db: str | None) -> ImportResult:
    """Run one importer and replace its previous records from the same source."""
    from tokenward.identity import Fingerprinter, key_check_value, load_key
    from tokenward.importers.interface import ImportContext, ImportRequest
    from tokenward.importers.registry import IMPORTERS
    from tokenward.policy.load import refresh_owners
    from tokenward.store import Inventory
    from tokenward.store.declared import replace_import

    key = load_key()
    ctx = ImportContext(Fingerprinter(key), _matcher)
    result = IMPORTERS[name](ImportRequest(source, options), ctx)
    with Inventory.open(db) as inventory:
        inventory.check_key(key_check_value(key))
        count = replace_import(inventory.engine, result, datetime.now(UTC))
        refresh_owners(inventory)  # a manifest or provider owner now names the inventory's tokens too
        where = str(inventory)
    fingerprinted = sum(1 for r in result.records if r.token_id)
    err.print(f"imported {count} {result.origin} records ({fingerprinted} fingerprinted) from {result.source} "
              f"into {where}")
    for note in result.notes:
        err.print(Text.assemble(("note:", "yellow"), " ", plain(note)))
    return result


@import_app.command("manifest")
def import_manifest(path: File, db: Db = None,
                    vault_addr: Annotated[str | None, typer.Option(help="OpenBao for vault: pointers.")] = None,
                    ) -> None:
    """tokens.yaml: declared tokens with owner, service, purpose, scopes, max age and storage."""
    with user_errors():
        run_import("manifest", str(path), {"vault_addr": vault_addr} if vault_addr else {}, db)


@import_app.command("aws-credential-report")
def import_aws(path: File, db: Db = None,
               access_keys: Annotated[Path | None, typer.Option(
                   help="`aws iam list-access-keys` JSON, to learn the key ids.")] = None) -> None:
    """AWS IAM credential report CSV: access keys, active, last rotated, last used."""
    with user_errors():
        run_import("aws-credential-report", str(path), {"access_keys": str(access_keys)} if access_keys else {}, db)


@import_app.command("github-tokens")
def import_github(path: File, db: Db = None) -> None:
    """GitHub org token listing JSON (fine-grained PATs and SAML-authorised classic PATs)."""
    with user_errors():
        run_import("github-tokens", str(path), {}, db)


@import_app.command("gitlab-tokens")
def import_gitlab(path: File, db: Db = None,
                  kind: Annotated[str | None, typer.Option(help="personal|project|group (default: detect)")] = None,
                  ) -> None:
    """GitLab personal, project or group access token listing JSON."""
    with user_errors():
        run_import("gitlab-tokens", str(path), {"kind": kind} if kind else {}, db)


@import_app.command("k8s-secrets")
def import_k8s(path: File, db: Db = None) -> None:
    """`kubectl get secrets -A -o json`: values are scanned and fingerprinted in memory, never stored."""
    with user_errors():
        run_import("k8s-secrets", str(path), {}, db)


@import_app.command("openbao")
def import_openbao(
    addr: Annotated[str | None, typer.Option(help="Server URL (default $BAO_ADDR / $VAULT_ADDR).")] = None,
    mount: Annotated[list[str] | None, typer.Option(help="KV v2 mount (repeatable; default: all).")] = None,
    no_tokens: Annotated[bool, typer.Option("--no-tokens", help="Skip token accessors.")] = False,
    token_env: Annotated[str | None, typer.Option(help="Env var holding the client token.")] = None,
    db: Db = None,
) -> None:
    """OpenBao/Vault: KV v2 metadata (values fingerprinted, never stored) and token accessors with policies."""
    options = {"mounts": ",".join(mount or [])}
    options.update({"no_tokens": "1"} if no_tokens else {})
    options.update({"token_env": token_env} if token_env else {})
    with user_errors():
        run_import("openbao", addr or "", options, db)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write {output}: {exc.strerror}") from None


def _codeowners(path: Path | None) -> tuple[OwnerRule, ...]:
    from tokenward.owners import parse_codeowners

    if path is None:
        return ()
    try:
        return parse_codeowners(path.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def build(db: str | None, policy_file: Path | None, codeowners: Path | None, public: list[str],
          now: datetime) -> Review:
    """Load the policy and the inventory, join imports and usage, and evaluate."""
    from tokenward.policy.checks import CHECKS
    from tokenward.policy.evaluate import build_review
    from tokenward.policy.gather import GatherOptions, gather
    from tokenward.policy.load import review_inputs
    from tokenward.policy.spec import load_policy
    from tokenward.policy.usage import load_usage
    from tokenward.store import Inventory
    from tokenward.store.verification import latest_verdicts

    policy = load_policy(policy_file, frozenset(CHECKS))
    with Inventory.open(db, create=False) as inventory:
        discovered, records, imports = review_inputs(inventory)
        verdicts = latest_verdicts(inventory, sorted({d.row.token_id for d in discovered}))
        database = str(inventory)
    usage, note = load_usage(db)
    opts = GatherOptions(now, _codeowners(codeowners), tuple(public), usage, verdicts)
    tokens = gather(discovered, records, opts)
    return build_review(tokens, policy, now, database, imports, (note,) if note else ())


def review(
    fmt: Annotated[str, typer.Option("--format", "-f", help="text|json|sarif|html|md")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the review here.")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="policy.yaml (default: shipped defaults).",
                                                exists=True, dir_okay=False)] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="Exit 1 at or above this severity: "
                                                + "|".join(SEVERITY_CHOICES) + " (default: the policy's).")] = None,
    codeowners: Annotated[Path | None, typer.Option(help="Extra CODEOWNERS file (wins over repositories').")]
    = None,
    public: Annotated[list[str] | None, typer.Option("--public", help="Source (path/URL prefix) that is public.")]
    = None,
    db: Db = None,
) -> None:
    """Review every token against the policy: owners, scopes, rotation, expiry, storage, leaks.

    Exit codes: 0 no violation at or above --fail-on; 1 some; 2 usage or configuration error.
    """
    from tokenward.policy.evaluate import fails
    from tokenward.report.review_formats import REVIEW_RENDERERS

    with user_errors():
        if fmt not in REVIEW_RENDERERS:
            raise ConfigError(f"unknown --format {fmt!r} (choose from {', '.join(REVIEW_RENDERERS)})")
        if fail_on is not None and fail_on not in SEVERITY_CHOICES:
            raise ConfigError(f"unknown --fail-on {fail_on!r} (choose from {', '.join(SEVERITY_CHOICES)})")
        result = build(db, policy, codeowners, public or [], datetime.now(UTC))
        buf = io.StringIO()
        REVIEW_RENDERERS[fmt](result, buf)
        _write(buf.getvalue(), output)
        if output is not None:
            s = result.summary
            err.print(f"review: {plural(s.tokens, 'token')}, {plural(s.violations, 'violation')} → {output}")
        threshold = fail_on or _policy_fail_on(policy)
    if fails(result, threshold):
        raise typer.Exit(1)


def _policy_fail_on(path: Path | None) -> str:
    from tokenward.policy.checks import CHECKS
    from tokenward.policy.spec import load_policy

    return load_policy(path, frozenset(CHECKS)).fail_on
