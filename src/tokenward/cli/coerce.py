"""Command-line values coerced without Pydantic when the value is already what the parameter wants.

typer 0.29 turns every parameter value into its annotated type through a Pydantic `TypeAdapter`, built
the first time the parameter is processed: a `tokenward scan` builds twenty of them, and the first one
imports Pydantic, about 80 ms of every run, most of a rescan's budget. Nearly every value is an omitted
option's default, a plain string or a plain decimal integer, which the adapter hands back unchanged (or
as the int it spells). `install()` gives each parameter a `Deferred` coercion that returns those values
as they are (with typer's own checks for paths) and builds typer's coercion only for any other value,
so errors and conversions stay typer's.
On a typer without this machinery (an older or newer release) nothing is installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

try:  # typer's private coercion layer (0.29); without it, typer coerces as it always did
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
    from typer._param_types import coerce_cli_path
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - depends on the installed typer
    RuntimeParam = None  # type: ignore[assignment,misc]

_PLAIN_FLAGS = ("parser", "click_type", "formats")
_CANONICAL_INT = re.compile(r"0|-?[1-9][0-9]{0,17}")  # plain decimal, no sign games, spaces or underscores


def _plain(descriptor: Any) -> bool:
    """True when no parser, choice, file, date or custom click type changes a value of the annotation."""
    info = descriptor.parameter_info
    if any(getattr(info, name, None) is not None for name in _PLAIN_FLAGS):
        return False
    return not (descriptor.is_choice or descriptor.is_file or descriptor.is_datetime)


def _in_range(info: Any, value: float) -> bool:
    return (info.min is None or value >= info.min) and (info.max is None or value <= info.max)


def _plain_path(info: Any) -> bool:
    return getattr(info, "path_type", None) is None and not getattr(info, "allow_dash", False)


@dataclass(frozen=True)
class Deferred:
    """A parameter's coercion: values that need no conversion pass straight through, others go to typer's."""

    descriptor: Any
    _built: list[Any] = field(default_factory=list, compare=False)

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        """The coerced value, as typer's own coercion would give it."""
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        done, out = self._quick(value, param, ctx)
        return out if done else self._typer().coerce(value, param=param, ctx=ctx)

    def _quick(self, value: Any, param: Any, ctx: Any) -> tuple[bool, Any]:
        annotation = self.descriptor.annotation
        if get_origin(annotation) is list and isinstance(value, (list, tuple)) and len(get_args(annotation)) == 1:
            items = [self._leaf(get_args(annotation)[0], item, param, ctx) for item in value]
            return all(done for done, _ in items), [out for _, out in items]
        return self._leaf(annotation, value, param, ctx)

    def _leaf(self, annotation: Any, value: Any, param: Any, ctx: Any) -> tuple[bool, Any]:
        info = self.descriptor.parameter_info
        if annotation is str and type(value) is str:
            return True, value
        if annotation in (int, float) and type(value) is annotation:
            return _in_range(info, value), value
        if annotation is int and type(value) is str and _CANONICAL_INT.fullmatch(value):
            return _in_range(info, int(value)), int(value)  # "2" for --workers: what typer's int adapter gives
        if annotation is Path and _plain_path(info) and isinstance(value, (str, Path)) and str(Path(value)) == value:
            # typer's own checks (exists, file or directory, readable, writable) on the Path; its messages quote
            # the value as given, so only a value the Path spells the same way is passed as a Path
            return True, coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
        return False, None

    def _typer(self) -> Any:
        if not self._built:
            self._built.append(build_runtime_param(self.descriptor))
        return self._built[0]


def install(param: Any) -> None:
    """Give a typer parameter the Deferred coercion (once; only plain annotations; only on typer 0.29's layer)."""
    if RuntimeParam is None or not isinstance(param, _TyperParameter):
        return
    descriptor = getattr(param, "type_descriptor", None)
    if not isinstance(descriptor, TypeDescriptor) or getattr(param, "_runtime_param", "") is not None:
        return
    if _plain(descriptor):
        param._runtime_param = Deferred(descriptor)  # type: ignore[assignment]
