"""YAML with line numbers: parse a document and map each (key/index path) to the line it starts on."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from tokenward import yamlsafe

Path = tuple[str | int, ...]


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            _walk(value, child, lines)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines)


def load_yaml(text: str, name: str, error: type[Exception]) -> tuple[Any, dict[Path, int]]:
    """The parsed document and its line map; `error` (with file:line) when the YAML is malformed."""
    try:
        node = yamlsafe.compose(text, name, error)  # size, depth and alias expansion capped
        data = yamlsafe.construct(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise error(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    lines: dict[Path, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


def line_of(lines: dict[Path, int], loc: Path) -> int:
    """The line of the deepest known prefix of loc (1 when none is known)."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def field_name(loc: Path) -> str:
    """A readable field path: tokens[2].purpose."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def validation_messages(exc: ValidationError, name: str, lines: dict[Path, int], limit: int = 10) -> str:
    """Pydantic errors as 'file:line: field: message' lines."""
    out = []
    for e in exc.errors()[:limit]:
        loc: Path = tuple(p for p in e["loc"] if isinstance(p, str | int))
        out.append(f"{name}:{line_of(lines, loc)}: {field_name(loc)}: {e['msg']}")
    more = len(exc.errors()) - limit
    return "\n".join(out) + (f"\n… and {more} more" if more > 0 else "")
