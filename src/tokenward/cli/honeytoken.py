"""`tokenward honeytoken create`: make a canary credential, plant it in a file, register it as a honeytoken."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from tokenward.cli.common import user_errors
from tokenward.report.terminal import visible

honeytoken_app = typer.Typer(help="Plant canary credentials whose every use raises an alert.", no_args_is_help=True)


@honeytoken_app.command("create")
def create(
    kind: Annotated[str, typer.Option("--kind", help="aws|github|slack|url")],
    place: Annotated[Path, typer.Option("--place", help="The file to plant it in (appended; created if missing).",
                                        dir_okay=False)],
    url_base: Annotated[str, typer.Option("--url-base", help="url: the canary server's base URL.")]
    = "https://canary.invalid/t/",
    db: Annotated[str | None, typer.Option("--db", envvar="TOKENWARD_DB", help="Inventory URL or SQLite file.")]
    = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Who (default $TOKENWARD_ACTOR or user@host).")]
    = None,
) -> None:
    """Make a format-valid canary (AWS: a real key of an IAM user with no permissions), plant it in --place and
    register it as a honeytoken: `monitor` alerts on any use. The value is written only to --place."""
    from tokenward.honey.make import HoneytokenError, canary
    from tokenward.honey.plant import register
    from tokenward.identity import Fingerprinter, key_check_value, load_key
    from tokenward.store import Inventory
    from tokenward.store.writer import actor as default_actor

    with user_errors():
        if not url_base.startswith(("https://", "http://")):
            raise HoneytokenError(f"--url-base must be an http(s) URL, got {url_base!r}")
        key = load_key()
        with Inventory.open(db) as inventory:
            inventory.check_key(key_check_value(key))
            made = canary(kind, url_base, _iam() if kind == "aws" else None)
            done = register(inventory, Fingerprinter(key), made, place, actor or default_actor(), datetime.now(UTC))
    ids = "  ".join(f"{n}={v}" for n, v in done.public_ids)
    print(visible(f"{done.token_id[:12]}  honeytoken {done.provider} {done.kind} {done.preview}  planted in "
                  f"{done.place}" + (f"  {ids}" if ids else "")))


def _iam() -> Any:
    import boto3

    return boto3.client("iam")
