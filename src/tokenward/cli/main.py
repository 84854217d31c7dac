"""The `tokenward` command."""

from __future__ import annotations

import typer

from tokenward.cli import rules

app = typer.Typer(help="tokenward: end-to-end API token security review.", no_args_is_help=True)
app.add_typer(rules.app, name="rules")
