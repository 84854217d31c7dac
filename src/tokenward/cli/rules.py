"""`tokenward rules list|check`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tokenward.rulecheck import check_rules
from tokenward.rules.spec import load_rules

app = typer.Typer(help="List and self-test detection rules.", no_args_is_help=True)
RulesOpt = Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule file or directory.")]
NoBuiltin = Annotated[bool, typer.Option("--no-builtin", help="Only the --rules files.")]


@app.command("list")
def list_rules(rules: RulesOpt = None, no_builtin: NoBuiltin = False) -> None:
    """List rules: id, provider, kind, confidence."""
    specs = load_rules(rules or [], builtin=not no_builtin)
    table = Table("id", "provider", "kind", "confidence", box=None)
    for s in specs:
        table.add_row(s.id, s.provider_name, s.kind, s.confidence)
    Console(width=200).print(table)
    providers = len({s.provider for s in specs})
    Console(stderr=True).print(f"{len(specs)} rules, {providers} providers")


@app.command("check")
def check(rules: RulesOpt = None, no_builtin: NoBuiltin = False) -> None:
    """Run every rule's examples and negative examples through the engine; exit 1 on any problem."""
    specs = load_rules(rules or [], builtin=not no_builtin, unique=False)
    problems = check_rules(specs)
    out = Console(stderr=True)
    for p in problems:
        out.print(f"[red]FAIL[/red] {p.rule_id} ({p.source_file}): {p.message}", highlight=False)
    providers = len({s.provider for s in specs})
    out.print(f"{len(specs)} rules, {providers} providers, {len(problems)} problems")
    raise typer.Exit(1 if problems else 0)
