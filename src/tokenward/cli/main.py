"""The `tokenward` command."""

from __future__ import annotations

import copy
import importlib
import sys
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

import typer
from typer.models import CommandInfo, TyperInfo

from tokenward import __version__, gctune
from tokenward.cli.console import TokenwardGroup

E = TypeVar("E")
HELP = "tokenward: end-to-end API token security review."


def _attr(module: str, name: str) -> Callable[[], Any]:
    """A loader of tokenward.cli.<module>.<name>: the module is imported when the loader is called."""
    return lambda: getattr(importlib.import_module(f"tokenward.cli.{module}"), name)


def _baseline_app() -> typer.Typer:
    """The `baseline` group."""
    from tokenward.cli import scan

    app = typer.Typer(help="Accept current findings so later scans report only new ones.", no_args_is_help=True)
    app.command("create")(scan.baseline_create)
    return app


# The top-level commands in the order the help lists them: (name, loader of its function or Typer app, a group).
COMMANDS: tuple[tuple[str, Callable[[], Any], bool], ...] = (
    ("rules", _attr("rules", "app"), True),
    ("scan", _attr("scan", "scan"), False),
    ("scan-org", _attr("org", "scan_org"), False),
    ("baseline", _baseline_app, True),
    ("inventory", _attr("inventory", "app"), True),
    ("triage", _attr("inventory", "triage"), False),
    ("db", _attr("inventory", "db_app"), True),
    ("import", _attr("review", "import_app"), True),
    ("review", _attr("review", "review"), False),
    ("monitor", _attr("monitor", "monitor"), False),
    ("usage", _attr("monitor", "usage"), False),
    ("scopes", _attr("monitor", "scopes_app"), True),
    ("verify", _attr("verify", "verify"), False),
    ("revoke", _attr("verify", "revoke"), False),
    ("rotate", _attr("rotate", "rotate"), False),
    ("rotation", _attr("rotate", "rotation_app"), True),
    ("honeytoken", _attr("honeytoken", "honeytoken_app"), True),
    ("serve", _attr("serve", "serve"), False),
    ("users", _attr("serve", "users_app"), True),
)


class _Loaded(Generic[E]):
    """One of _RootApp's command lists: every command module is imported on its first read."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, app: _RootApp, owner: type | None = None) -> list[E]:
        app._load()
        return getattr(app, self.slot)  # type: ignore[no-any-return]

    def __set__(self, app: _RootApp, value: list[E]) -> None:
        setattr(app, self.slot, value)


class _RootApp(typer.Typer):
    """The root Typer app. Its commands' modules are imported when typer first reads the command lists (to build
    the tree); a run of one top-level command imports and builds only that command: the other modules import
    scanning, the store and the reporters (~0.1 s), and typer builds every command's parameters (~30 ms)."""

    _loaded = False
    registered_commands = _Loaded[CommandInfo]()
    registered_groups = _Loaded[TyperInfo]()

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True  # before adding: adding reads the lists
        from tokenward.cli.scan import EXIT_HELP

        self.info.help = f"{HELP}\n\n{EXIT_HELP}"
        for name, load, group in COMMANDS:
            self._add(name, load(), group)

    def _add(self, name: str, target: Any, group: bool) -> None:
        if group:
            self.add_typer(target, name=name)
        else:
            self.command(name)(target)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line (sys.argv when called without arguments, as the console script does)."""
        gctune.no_collection_at_exit()
        name = sys.argv[1] if not args and not kwargs and len(sys.argv) > 1 else None
        entry = next((e for e in COMMANDS if e[0] == name), None)
        if entry is None:
            return super().__call__(*args, **kwargs)
        if name == "scan":
            from tokenward.cli.recording import prestart

            prestart(sys.argv)  # the recorder imports the store while this process imports the scanner
        lean = copy.copy(self)
        lean._loaded, lean.registered_commands, lean.registered_groups = True, [], []
        with gctune.paused():  # importing the command's modules makes only long-lived objects
            target = entry[1]()
        lean._add(entry[0], target, entry[2])
        return typer.Typer.__call__(lean)


app = _RootApp(
    help=HELP, no_args_is_help=True, pretty_exceptions_enable=False, cls=TokenwardGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"tokenward {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False) -> None:
    """tokenward: end-to-end API token security review."""
