"""Jupyter notebooks: each cell's source and each of its outputs (printed tokens leak there) as a blob."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tokenward.expand.base import Ctx, Details, Item, error, text_blob
from tokenward.sources.interface import Blob


def _text(value: Any) -> str:
    """nbformat stores multi-line strings as a list of lines or one string."""
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def output_text(output: dict[str, Any]) -> str:
    """The text of one output: stream text, every text-like MIME bundle entry, or an error's traceback."""
    parts = [_text(output.get("text"))]
    data = output.get("data")
    if isinstance(data, dict):
        parts += [_text(v) for k, v in data.items() if k.startswith("text/") or k.endswith(("json", "javascript"))]
    parts += [_text(output.get("evalue")), _text(output.get("traceback"))]
    return "\n".join(p for p in parts if p)


def expand_notebook(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A .ipynb file: cell sources and outputs, with cell number and input/output in the details."""
    try:
        nb = json.loads(blob.data)
        cells = nb["cells"] if isinstance(nb, dict) else nb
        assert isinstance(cells, list)
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        yield error(blob.origin.path, f"malformed notebook JSON: {exc}")
        yield blob
        return
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            continue
        base: Details = (("cell", str(number)), ("cell_type", str(cell.get("cell_type", "?"))))
        if cell.get("id"):
            base += (("cell_id", str(cell["id"])),)
        source = _text(cell.get("source"))
        if source:
            yield text_blob(blob.origin, "notebook", source, (*base, ("part", "input")))
        for index, output in enumerate(cell.get("outputs") or [], 1):
            text = output_text(output) if isinstance(output, dict) else ""
            if text:
                yield text_blob(blob.origin, "notebook", text, (*base, ("part", f"output {index}")))
