"""YAML from files we do not trust (config, policy, manifest, rules, scanned kubeconfigs): bounded input.

Every document is composed first and measured before anything walks it: the size of the input, how
deep it nests and how many nodes its aliases expand to are capped, so a "billion laughs" file (a few
hundred bytes of nested aliases) or a recursive alias is refused in milliseconds instead of eating
gigabytes. Benign anchors and aliases still work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_BYTES = 8 << 20  # a YAML input larger than this is refused
MAX_NODES = 1_000_000  # nodes of a document once every alias is expanded
MAX_DEPTH = 100  # nesting of mappings and sequences


def read_text(path: Path, error: type[Exception], max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of a YAML file; error when it is larger than max_bytes (OSError and
    UnicodeDecodeError propagate, as from Path.read_text)."""
    with path.open("rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise error(f"{path}: larger than {max_bytes >> 20} MiB: refused (a YAML file this size is no config)")
    return data.decode("utf-8")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check(root: yaml.Node, name: str, error: type[Exception]) -> None:
    """error when the document nests deeper than MAX_DEPTH, its aliases expand past MAX_NODES nodes or an
    alias refers to a node that contains it (one pass over the composed graph, shared nodes measured once)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        kids = _children(node)
        if done:
            open_.discard(key)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > MAX_NODES:
                raise error(f"{name}: YAML aliases expand to more than {MAX_NODES} nodes: refused "
                            "(an alias bomb?)")
            if depth[key] > MAX_DEPTH:
                raise error(f"{name}:{node.start_mark.line + 1}: YAML nested more than {MAX_DEPTH} levels deep")
            continue
        if key in size:
            continue
        if key in open_:
            raise error(f"{name}:{node.start_mark.line + 1}: recursive YAML alias: refused")
        open_.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in kids)


def compose(text: str | bytes, name: str, error: type[Exception], max_bytes: int = MAX_BYTES) -> yaml.Node | None:
    """The checked node graph of one YAML document (None when empty); yaml.YAMLError when malformed,
    error when too large, too deep or an alias bomb."""
    if len(text) > max_bytes:
        raise error(f"{name}: larger than {max_bytes >> 20} MiB: refused")
    node = yaml.compose(text, Loader=_LOADER)
    if node is not None:
        check(node, name, error)
    return node


def construct(node: yaml.Node | None) -> Any:
    """The Python value of a composed (and checked) document, with the safe constructors only."""
    if node is None:
        return None
    return SafeConstructor().construct_document(node)


def load(text: str | bytes, name: str, error: type[Exception], max_bytes: int = MAX_BYTES) -> Any:
    """yaml.safe_load with the limits of compose()."""
    return construct(compose(text, name, error, max_bytes))
