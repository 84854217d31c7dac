"""Reading provider listings: JSON files that hold a list, pages of lists, or an object wrapping one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokenward.errors import ImporterError


def load_json(path: Path) -> Any:
    """The parsed file; ImporterError naming file and line when it is not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ImporterError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError as exc:
        raise ImporterError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def items_of(data: Any, keys: tuple[str, ...], name: str = "input") -> list[dict[str, Any]]:
    """Objects of a list, of a list of pages, or of the first of `keys` in a wrapping object."""
    if isinstance(data, dict):
        data = next((data[k] for k in keys if k in data), [data])
    if not isinstance(data, list):
        raise ImporterError(f"{name}: expected a JSON list of tokens, found a JSON {type(data).__name__}")
    flat = [x for page in data for x in (page if isinstance(page, list) else [page])]
    for i, x in enumerate(flat):
        if not isinstance(x, dict):
            raise ImporterError(f"{name}: item {i} is {json.dumps(x)[:40]}, not an object: expected a list of tokens")
    return flat
