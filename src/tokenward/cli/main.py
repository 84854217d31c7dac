"""The `tokenward` command."""

from __future__ import annotations

import typer

from tokenward.cli import inventory, review, rules, scan
from tokenward.cli import monitor as usage_cli

app = typer.Typer(
    help="tokenward: end-to-end API token security review.\n\n" + scan.EXIT_HELP,
    no_args_is_help=True, pretty_exceptions_enable=False,
)
app.add_typer(rules.app, name="rules")
app.command("scan")(scan.scan)

baseline_app = typer.Typer(help="Accept current findings so later scans report only new ones.",
                           no_args_is_help=True)
baseline_app.command("create")(scan.baseline_create)
app.add_typer(baseline_app, name="baseline")
app.add_typer(inventory.app, name="inventory")
app.command("triage")(inventory.triage)
app.add_typer(inventory.db_app, name="db")
app.add_typer(review.import_app, name="import")
app.command("review")(review.review)
app.command("monitor")(usage_cli.monitor)
app.command("usage")(usage_cli.usage)
app.add_typer(usage_cli.scopes_app, name="scopes")
