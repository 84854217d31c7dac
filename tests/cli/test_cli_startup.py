"""Start-up: plain command-line values coerced without Pydantic exactly as typer would, and one command run
without building the whole command tree, with the same output."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer import _click as click

from tests.conftest import env_for
from tokenward.cli import coerce
from tokenward.cli.main import app

pytestmark = pytest.mark.skipif(coerce.RuntimeParam is None, reason="typer without the 0.29 coercion layer")


def params(command: Any = None) -> Iterator[tuple[Any, Any]]:
    """(command, parameter) for every parameter of the CLI tree."""
    command = command or typer.main.get_command(app)
    for param in command.params:
        yield command, param
    for sub in getattr(command, "commands", {}).values():
        yield from params(sub)


def samples(param: Any, tmp: Path) -> list[Any]:
    """Values a parameter may receive: its default, strings, numbers, paths that exist or not."""
    unreadable = tmp / "unreadable"
    values: list[Any] = [param.default, "x", "", "7", "-3", "0", "-0", "007", "+5", " 5", "1_000",
                         "99999999999999999999", "many", 0, 3, -1, 10**6, 2.5, True,
                         str(tmp), str(tmp / "missing"), str(unreadable), tmp, ("a", "b"), (str(tmp), "c"), (),
                         ["x"], (0, 1), b"bytes"]
    return values


def outcome(runtime: Any, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
    try:
        return "ok", runtime.coerce(value, param=param, ctx=ctx)
    except click.exceptions.ClickException as exc:
        return type(exc).__name__, exc.format_message()
    except Exception as exc:  # the comparison is the point: whatever typer does, the fast path must do
        return type(exc).__name__, str(exc)


def test_every_parameter_coerces_like_typer(tmp_path: Path) -> None:
    (tmp_path / "unreadable").write_text("x")
    os.chmod(tmp_path / "unreadable", 0)
    compared = deferred = 0
    for command, param in params():
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None:
            continue
        param._runtime_param = None
        coerce.install(param)
        fast = param._runtime_param
        if fast is None:
            continue
        deferred += 1
        ctx = click.Context(command)
        for value in samples(param, tmp_path):
            typer_says = outcome(coerce.build_runtime_param(descriptor), value, param, ctx)
            assert outcome(fast, value, param, ctx) == typer_says, (command.name, param.name, value)
            compared += 1
    assert deferred > 100 and compared > 2000, (deferred, compared)


def test_values_needing_conversion_still_go_to_typer() -> None:
    scan = typer.main.get_command(app).commands["scan"]  # type: ignore[attr-defined]
    depth = next(p for p in scan.params if p.name == "max_depth")
    depth._runtime_param = None
    coerce.install(depth)
    ctx = click.Context(scan)
    assert depth.process_value(ctx, "5") == 5
    assert depth.process_value(ctx, 8) == 8
    with pytest.raises(click.exceptions.BadParameter):
        depth.process_value(ctx, -1)  # below min=0: typer's range error, not a pass-through
    assert depth._runtime_param._built, "the string and the out-of-range value were coerced by typer"


def test_a_scan_with_cached_rules_does_not_import_pydantic(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("nothing here\n")
    probe = ("import sys, runpy; sys.argv = ['tokenward', 'scan', sys.argv[1], '-q', '--no-db', '-f', 'json', "
             "'-o', sys.argv[2], '--exclude', '*.bin']\n"
             "try:\n    runpy.run_module('tokenward', run_name='__main__')\nexcept SystemExit as e:\n"
             "    print('exit', e.code, 'pydantic' in sys.modules)")
    for _ in range(2):  # the first run may parse the rule files (with pydantic) into the rule cache
        done = subprocess.run([sys.executable, "-c", probe, str(tmp_path), str(tmp_path / "r.json")],
                              capture_output=True, text=True, env=env_for(tmp_path), timeout=120)
    assert done.stdout.strip() == "exit 0 False", done.stdout + done.stderr


FULL_TREE = ("import sys, typer.main; from tokenward.cli.main import app; "
             "typer.main.get_command(app)(sys.argv[1:], prog_name='python -m tokenward')")


@pytest.mark.parametrize("args", [["scan", "--help"], ["scan"], ["scan", "--bogus", "x"], ["monitor", "-h"],
                                  ["--help"], ["nosuch"], ["rules", "list", "--bogus"], ["triage"],
                                  ["scan", "{tree}", "-q", "--no-db", "-f", "csv"], ["scopes", "suggest", "--help"],
                                  ["inventory", "--help"], ["monitor", "--bogus"], ["usage"], ["users", "-h"],
                                  ["baseline"], ["monitor", "--workers", "0", "x"]])
def test_one_command_runs_as_in_the_whole_tree(tmp_path: Path, args: list[str]) -> None:
    """`tokenward scan …` imports and builds only the scan command (a group only that group); what the user sees
    is what the whole tree gives."""
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.txt").write_text("nothing\n")
    argv = [a.replace("{tree}", str(tmp_path / "tree")) for a in args]
    env = {**env_for(tmp_path), "COLUMNS": "80"}
    lean = subprocess.run([sys.executable, "-m", "tokenward", *argv], capture_output=True, text=True, env=env,
                          timeout=120)
    full = subprocess.run([sys.executable, "-c", FULL_TREE, *argv], capture_output=True, text=True, env=env,
                          timeout=120)
    assert (lean.returncode, lean.stdout, lean.stderr) == (full.returncode, full.stdout, full.stderr)
