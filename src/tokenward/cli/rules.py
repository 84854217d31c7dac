"""`tokenward rules list|check`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from tokenward.cli.common import err, user_errors
from tokenward.report.terminal import console_for, plain, plural
from tokenward.rulecheck import check_rules
from tokenward.rules.spec import load_rules

app = typer.Typer(help="List and self-test detection rules.", no_args_is_help=True)
RulesOpt = Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule file or directory.")]
NoBuiltin = Annotated[bool, typer.Option("--no-builtin", help="Only the --rules files.")]


@app.command("list")
def list_rules(rules: RulesOpt = None, no_builtin: NoBuiltin = False) -> None:
    """List rules: id, provider, kind, confidence."""
    with user_errors():
        specs = load_rules(rules or [], builtin=not no_builtin)
        table = Table("id", "provider", "kind", "confidence", box=None)
        for s in specs:
            table.add_row(plain(s.id), plain(s.provider_name), plain(s.kind), plain(s.confidence))
        console_for(sys.stdout).print(table)
        providers = len({s.provider for s in specs})
        err.print(f"{plural(len(specs), 'rule')}, {plural(providers, 'provider')}")


@app.command("check")
def check(rules: RulesOpt = None, no_builtin: NoBuiltin = False) -> None:
    """Run every rule's examples and negative examples through the engine; exit 1 on any problem."""
    with user_errors():
        specs = load_rules(rules or [], builtin=not no_builtin, unique=False)
        problems = check_rules(specs)
    for p in problems:
        err.print(Text.assemble(("FAIL", "red"), " ", plain(f"{p.rule_id} ({p.source_file}): {p.message}")))
    providers = len({s.provider for s in specs})
    err.print(f"{plural(len(specs), 'rule')}, {plural(providers, 'provider')}, {plural(len(problems), 'problem')}")
    raise typer.Exit(1 if problems else 0)
