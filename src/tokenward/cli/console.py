"""The CLI's light plumbing: stderr, one error style, error → exit code handling, and the conventions (help
rendering, quiet exit on a closed pipe) applied once to the whole command tree. Every command imports this;
scanning's machinery is in cli/common.py, so a command that scans nothing (`monitor`, `inventory`) starts
without it."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args, get_origin

import typer
from typer import _click as click
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from tokenward.cli import coerce
from tokenward.errors import TokenwardError
from tokenward.safetext import plain, visible

if TYPE_CHECKING:
    from rich.console import Console

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, EXIT_UNREADABLE = 0, 1, 2, 3


def _stderr_console() -> Console:
    """stderr for messages that quote user input (paths, log fields): no markup, no emoji codes, and control
    characters shown as escapes; style with rich Text objects, never by formatting markup into strings."""
    from rich.console import Console

    class StderrConsole(Console):
        def print(self, *objects: Any, **kwargs: Any) -> None:
            """Console.print, with each str argument made terminal-safe line by line."""
            safe = ("\n".join(map(visible, o.split("\n"))) if isinstance(o, str) else o for o in objects)
            super().print(*safe, **kwargs)

    return StderrConsole(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


class _LazyConsole:
    """The stderr Console, made (and rich imported) on first use: a quiet scan writing JSON or SARIF, as CI
    runs one, never shows anything on stderr, and importing rich cost ~40 ms of its start-up."""

    _console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            self._console = _stderr_console()
        return getattr(self._console, name)


err: Console = _LazyConsole()  # type: ignore[assignment]  # a Console in all but its first attribute access
# pydantic names its own model classes in some messages ("… or instance of _ConfigModel")
_MODEL_NAME = re.compile(r"Input should be a valid dictionary or instance of \w+")


def error(message: object) -> None:
    """Print `error: MESSAGE` on one line of stderr (the message is shown as is, never as markup)."""
    lines = [" ".join(line.split()) for line in str(message).splitlines()]
    lines = [line for line in lines if line] or [""]
    text = lines[0] + (" " + "; ".join(lines[1:]) if len(lines) > 1 else "")
    text = _MODEL_NAME.sub("expected a mapping", text).replace(": : ", ": ")
    from rich.text import Text

    err.print(Text.assemble(("error:", "red"), " ", plain(text)))


def stdout_closed() -> None:
    """The reader went away (`| head`): stop quietly, without a second error when Python flushes stdout."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test runner's buffer)
        pass


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn deliberate tokenward errors into a one-line message and exit code 2 (never a traceback)."""
    try:
        yield
    except TokenwardError as exc:
        error(exc)
        raise typer.Exit(EXIT_USAGE) from None
    except BrokenPipeError:
        stdout_closed()
        raise typer.Exit(EXIT_CLEAN) from None
    except OSError as exc:
        # Reached only for whole-run problems (an output path, a root we cannot stat); single
        # unreadable inputs are skipped items, not errors.
        error(f"{exc.filename or ''}: {exc.strerror}")
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


# ---- help rendering and error style, for every command at once ------------------------------------

_TYPE_NAMES: dict[Any, str] = {int: "INTEGER", float: "NUMBER", Path: "PATH", str: "TEXT", bool: "BOOLEAN"}
# "text|json|csv" in a help text: one unbreakable word that a narrow help column cuts with "…"
_CHOICES = re.compile(r"(?<![\w|/])[\w.-]+(?:\|[\w.:-]+)+(?![\w|])")


def _metavar(option: TyperOption) -> str:
    descriptor = getattr(option, "type_descriptor", None)
    annotation: Any = descriptor.annotation if descriptor is not None else None
    if get_origin(annotation) in (list, tuple) and get_args(annotation):
        annotation = get_args(annotation)[0]
    return _TYPE_NAMES.get(annotation, "TEXT")


class _Argument(TyperArgument):
    """An argument shown the Click way: `PATHS...` in usage and help, no Python type."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: click.Context) -> str | None:
        return None

    def display_type(self, ctx: click.Context) -> str:
        return ""


def _convention(param: click.Parameter) -> None:
    coerce.install(param)
    if isinstance(param, TyperOption):
        param.metavar = "" if param.is_flag or param.count else _metavar(param)
    elif isinstance(param, TyperArgument):
        param.__class__ = _Argument
        param.metavar = (param.name or "arg").upper()
    help_text = getattr(param, "help", None)
    if isinstance(help_text, str):
        param.help = _CHOICES.sub(lambda m: ", ".join(m.group().split("|")), help_text)  # type: ignore[attr-defined]


def _params(params: list[click.Parameter]) -> list[click.Parameter]:
    for param in params:
        _convention(param)
    return params


class _Command(TyperCommand):
    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return _params(super().get_params(ctx))


class _Group(TyperGroup):
    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return _params(super().get_params(ctx))


def _apply_conventions(command: click.Command) -> None:
    """Every command of the tree renders its parameters (help and completion options included) one way."""
    if type(command) is TyperCommand:
        command.__class__ = _Command
    elif type(command) is TyperGroup:
        command.__class__ = _Group
    for sub in getattr(command, "commands", {}).values():
        _apply_conventions(sub)


class TokenwardGroup(TyperGroup):
    """The root command: Click-style metavars and plain flags throughout the tree, `-h`, and one error style
    (`error: …` on one line, exit 2) for option parsing errors as for tokenward's own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _apply_conventions(self)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        """The parameters, rendered by the conventions."""
        return _params(super().get_params(ctx))

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        """Run the CLI; parsing errors are reported like every other error."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except click.exceptions.NoArgsIsHelpError:
            code = EXIT_USAGE  # the help was printed
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            error(exc.format_message().rstrip(".") + hint)
            code = EXIT_USAGE
        except typer.Abort:
            err.print("aborted")
            code = 130
        except BrokenPipeError:
            stdout_closed()
            code = EXIT_CLEAN
        sys.exit(code if isinstance(code, int) else EXIT_CLEAN)
