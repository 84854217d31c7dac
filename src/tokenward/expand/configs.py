"""Credential-bearing config files: .env, .npmrc, .pypirc, .netrc, .git-credentials, AWS credentials,
Docker config.json, kubeconfig and Terraform state, each finding labelled with its key path.

Line-based files stay whole (their line says which key); INI files are split per section (padded,
so lines keep their numbers); JSON/YAML files become one blob per object of scalar values
(`key = value` lines), labelled with the object's key path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from tokenward.expand.base import Ctx, Item, child, error, padded, text_blob
from tokenward.expand.detect import basename
from tokenward.sources.interface import Blob

SECTION = re.compile(rb"^\s*\[([^\]\r\n]+)\]", re.MULTILINE)
MAX_GROUPS = 50_000
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def expand_line_config(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """.env, .npmrc, .netrc, .git-credentials: the file as is, labelled with its format."""
    yield Blob(blob.data, child(blob.origin, basename(blob.origin.path)))


def expand_dotenv(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A dotenv file."""
    yield Blob(blob.data, child(blob.origin, "dotenv"))


def expand_ini(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """AWS credentials/config, .pypirc: one blob per [section] (lines keep their numbers)."""
    marks = list(SECTION.finditer(blob.data))
    fmt = basename(blob.origin.path)
    if not marks or len(marks) > 500:
        yield Blob(blob.data, child(blob.origin, fmt))
        return
    if marks[0].start() > 0 and blob.data[: marks[0].start()].strip():
        yield Blob(blob.data[: marks[0].start()], child(blob.origin, fmt))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(blob.data)
        first = blob.data.count(b"\n", 0, m.start()) + 1
        text = padded(blob.data[m.start():end].decode("utf-8", "surrogateescape"), first)
        section = m.group(1).decode("utf-8", "replace").strip()
        yield text_blob(blob.origin, fmt, text, (("key_path", section),))


def _label(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for key in ("name", "address", "type", "key", "id"):
            if isinstance(item.get(key), str) and item[key]:
                return f"[{item[key]}]"
    return f"[{index}]"


Pairs = list[tuple[str, str]]


def groups(value: Any, path: str, out: list[tuple[str, Pairs]]) -> None:
    """(key path, [(key, scalar)]) of every object holding scalar values, depth first."""
    if len(out) >= MAX_GROUPS:
        return
    if isinstance(value, dict):
        pairs = [(str(k), str(v)) for k, v in value.items()
                 if isinstance(v, str | int | float) and not isinstance(v, bool)]
        if pairs:
            out.append((path or "(top)", pairs))
        for k, v in value.items():
            if isinstance(v, dict | list):
                groups(v, f"{path}.{k}" if path else str(k), out)
    elif isinstance(value, list):
        scalars = [("", v) for v in value if isinstance(v, str)]
        if scalars:
            out.append((path, scalars))
        for i, v in enumerate(value):
            if isinstance(v, dict | list):
                groups(v, f"{path}{_label(v, i)}", out)


def placed(raw: str, pairs: Pairs) -> str:
    """'key = value' lines laid out at the file lines their values stand on, so findings keep file lines."""
    at: dict[int, list[str]] = {}
    spare: list[str] = []
    for key, value in pairs:
        line = f"{key} = {value}" if key else value
        pos = raw.find(value) if len(value) >= 4 else -1
        if pos < 0:
            spare.append(line)
        else:
            at.setdefault(raw.count("\n", 0, pos) + 1, []).append(line)
    last = max(at, default=0)
    rows = ["   ".join(at.get(n, [])) for n in range(1, last + 1)]
    return "\n".join(rows + spare)


def _structured(blob: Blob, fmt: str, parse: Any) -> Iterator[Item]:
    try:
        doc = parse(blob.data)
    except (ValueError, yaml.YAMLError) as exc:
        yield error(blob.origin.path, f"malformed {fmt}: {str(exc).splitlines()[0] if str(exc) else exc}")
        yield blob
        return
    found: list[tuple[str, Pairs]] = []
    groups(doc, "", found)
    raw = blob.data.decode("utf-8", "replace")
    for path, pairs in found:
        yield text_blob(blob.origin, fmt, placed(raw, pairs), (("key_path", path),))


def expand_docker_config(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """~/.docker/config.json: auths.<registry>.auth is base64 user:password (decoded by the decoding pass)."""
    yield from _structured(blob, "docker-config", json.loads)


def expand_kubeconfig(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A kubeconfig: users' tokens, passwords and base64 client keys, labelled users[name].user."""
    yield from _structured(blob, "kubeconfig", lambda data: yaml.load(data, Loader=Loader))


def expand_tfstate(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """Terraform state: resource attributes and outputs (which hold secrets in plain text)."""
    yield from _structured(blob, "tfstate", json.loads)
