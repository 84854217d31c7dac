"""CLI conventions: help rendering, one error style, user text never markup or escape sequences, pipes."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import env_for
from tests.tokens import ALNUM, TokenFactory
from tokenward import __version__
from tokenward.cli.main import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "80"})
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tokenward", *args], capture_output=True, text=True,
                          env={**env_for(home), "COLUMNS": "80"}, timeout=300)


def commands(command: typer.main.TyperGroup | object = None, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path of the CLI tree (groups included)."""
    command = command or typer.main.get_command(app)
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


@pytest.fixture
def token() -> str:
    return TokenFactory(61).github_classic()


# ---- 18: one rendering of options and arguments, -h, --version, one error style, plurals ---------------

@pytest.mark.parametrize("path", list(commands()), ids=lambda p: " ".join(p) or "tokenward")
def test_help_renders_click_style_for_every_command(path: tuple[str, ...]) -> None:
    code, out, _ = run(*path, "--help")
    assert code == 0
    for python_ish in ("<bool>", "<str>", "<int>", "<path>", "<list[", "{", "}"):
        assert python_ish not in out, (python_ish, out)
    assert "…\u2502" not in out.replace(" ", ""), out  # no choice list cut at the column edge
    assert run(*path, "-h")[1] == out


def test_arguments_flags_and_choices_in_help() -> None:
    _, out, _ = run("scan", "--help")
    assert "Usage: root scan [OPTIONS] PATHS..." in out
    assert "--follow-symlinks   " in out and "--follow-symlinks <" not in out
    assert "ci-log," in out and "notebook," in out  # the whole --source-type choice list, wrapped, not cut
    assert "INTEGER [x>=0]" in out


def test_version_and_one_line_errors(tmp_path: Path) -> None:
    assert run("--version")[:2] == (0, f"tokenward {__version__}\n")
    for args, says in ((["scan"], "Missing argument 'PATHS'"), (["scan", "--bogus", "x"], "No such option"),
                       (["scan", "--max-depth", "many", "x"], "--max-depth")):
        code, out, err = run(*args)
        assert code == 2 and out == "" and err.startswith("error: ") and says in err, err
        assert err.count("\n") == 1 and "╭" not in err, err


def test_config_errors_name_the_problem(tmp_path: Path) -> None:
    code, _, err = run("scan", "--no-db", "--config", str(tmp_path), str(tmp_path))
    assert code == 2 and "is a directory" in err and "does not exist" not in err
    (tmp_path / ".tokenward.yaml").write_text("[1]\n")
    code, _, err = run("scan", "--no-db", str(tmp_path))
    assert code == 2 and "_ConfigModel" not in err and "mapping" in err and ": : " not in err


def test_counts_are_plural_only_when_not_one(tmp_path: Path, token: str) -> None:
    (tmp_path / "a.env").write_text(f"T={token}\n")
    code, out, _ = run("scan", "-q", str(tmp_path))
    assert code == 1 and "1 finding (1 distinct token) in 1 input," in out
    token_id = json.loads(run("scan", "-q", "--no-db", "-f", "json", str(tmp_path))[1])["findings"][0]["token_id"]
    _, out, _ = run("inventory", "show", token_id)
    assert "1 occurrence in 1 source " in out


# ---- 14: numeric options validated by range --------------------------------------------------------

def test_numeric_options_have_ranges(tmp_path: Path) -> None:
    code, _, err = run("scopes", "suggest", "0" * 12, "--days", "-1")
    assert code == 2 and "--days" in err
    assert "[x>=1]" in run("scopes", "suggest", "--help")[1]
    for option, value in (("--max-depth", "-1"), ("--decode-depth", "-3"), ("--max-file-size", "0")):
        code, _, err = run("scan", option, value, str(tmp_path))
        assert code == 2 and option in err
    code, _, err = run("monitor", "--workers", "0", str(tmp_path))
    assert code == 2 and "--workers" in err


# ---- 10: rules list/check handle bad rule files like scan does ---------------------------------------

@pytest.mark.parametrize("command", ["list", "check"])
def test_bad_rule_files_are_one_line_errors(tmp_path: Path, command: str) -> None:
    (tmp_path / "bad.yml").write_text("rules: [\n")
    (tmp_path / "bin.yml").write_bytes(b"\xae\x00\xff" * 30)
    for target, says in ((tmp_path / "bad.yml", "invalid YAML"), (tmp_path / "missing", "no such rule file"),
                         (tmp_path / "bin.yml", "cannot read rule file")):
        code, _, err = run("rules", command, "--rules", str(target))
        assert code == 2 and err.startswith("error: ") and says in err and err.count("\n") == 1, err


# ---- 1 and 2: user text is never markup, and its control characters are shown, not sent --------------

def test_file_names_and_messages_are_never_markup(tmp_path: Path, token: str) -> None:
    (tmp_path / "[").mkdir()
    (tmp_path / "[" / "red]b.env").write_text(f"T={token}\n")  # the path reads "[/red]b.env"
    (tmp_path / "[bold]config.env").write_text(f"T={token}\n")
    code, out, _ = run("scan", "-q", "--no-db", str(tmp_path))
    assert code == 1 and "[/red]b.env:1" in out and "[bold]config.env:1" in out
    code, _, err = run("scan", "--no-db", str(tmp_path / "[bold]x[/bold]"))
    assert code == 2 and "[bold]x[/bold]: no such file" in err
    if importlib.util.find_spec("maxminddb") is None:  # the install hint keeps its extra
        (tmp_path / "l.jsonl").write_text("{}\n")
        code, _, err = run("monitor", "--city-db", str(tmp_path / "c.mmdb"), str(tmp_path / "l.jsonl"))
        assert code == 2 and "'tokenward[geoip]'" in err, err


def test_control_characters_are_shown_not_sent(tmp_path: Path, token: str) -> None:
    (tmp_path / "esc\x1b[31mred.env").write_text(f"T={token}\n")
    code, out, _ = run("scan", "-q", str(tmp_path))
    assert code == 1 and "\x1b" not in out and "esc\\x1b[31mred.env:1" in out
    token_id = json.loads(run("scan", "-q", "--no-db", "-f", "json", str(tmp_path))[1])["findings"][0]["token_id"]
    code, out, _ = run("inventory", "show", token_id)
    assert code == 0 and "\x1b" not in out and "esc\\x1b[31mred.env:1" in out
    code, out, _ = run("inventory", "list")
    assert code == 0 and "\x1b" not in out


# ---- 13: CSV cells never start a formula --------------------------------------------------------------

def test_scan_csv_neutralises_formulas(tmp_path: Path, token: str) -> None:
    names = ["=1+2.env", "+SUM(A1).env", "@cmd.env", "-2+3.env", "plain.env"]
    for name in names:
        (tmp_path / name).write_text(f"T={token}\n")
    code, out, _ = run("scan", "-q", "--no-db", "-f", "csv", str(tmp_path))
    paths = sorted(row["path"] for row in csv.DictReader(io.StringIO(out)))
    assert code == 1 and paths == sorted(["'=1+2.env", "'+SUM(A1).env", "'@cmd.env", "'-2+3.env", "plain.env"])


# ---- 19: pipes and plaintext ------------------------------------------------------------------------

def test_closed_pipe_ends_quietly(tmp_path: Path, isolated_home: Path, token: str) -> None:
    (tmp_path / "a.env").write_text(f"T={token}\n")
    assert cli(isolated_home, "scan", "-q", str(tmp_path)).returncode == 1
    token_id = json.loads(cli(isolated_home, "scan", "-q", "--no-db", "-f", "json", str(tmp_path)).stdout)[
        "findings"][0]["token_id"]
    for args, code in ((["inventory", "show", token_id], 0), (["scan", "-q", "--no-db", str(tmp_path)], 1)):
        proc = subprocess.Popen([sys.executable, "-m", "tokenward", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env_for(isolated_home))
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before the first write: EPIPE every time
        assert proc.wait(timeout=300) == code and proc.stderr.read() == b"", args


def test_show_secrets_never_silently_written_to_a_file(tmp_path: Path, isolated_home: Path) -> None:
    secret = "sk_live_" + TokenFactory(62).chars(ALNUM, 99)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / ("deeply-nested-configuration-file-name-" * 2 + ".env")).write_text(f"STRIPE_KEY={secret}\n")
    target = tmp_path / "report.txt"
    code, _, err = run("scan", "--no-db", "--show-secrets", "-o", str(target), str(tree))
    assert code == 2 and "--allow-plaintext-output" in err and not target.exists()
    code, _, _ = run("scan", "-q", "--no-db", "--show-secrets", "--allow-plaintext-output", "-o", str(target),
                     str(tree))
    assert code == 1 and secret in target.read_text()
    proc = cli(isolated_home, "scan", "-q", "--no-db", "--show-secrets", str(tree))  # stdout is a pipe
    assert proc.returncode == 1 and secret in proc.stdout, proc.stdout
