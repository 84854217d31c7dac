"""Credential-bearing config files: .env, .npmrc, .pypirc, .netrc, .git-credentials, AWS credentials,
Docker config.json, kubeconfig, Terraform state and Kubernetes Secret manifests, each finding labelled
with its key path.

Line-based files stay whole (their line says which key); INI files are split per section (padded,
so lines keep their numbers); JSON/YAML files become one blob per object of scalar values, written
in the file's own syntax (`"key": "value"` for JSON, `key: value` for YAML) so that every rule
matches them as it matches the file itself, labelled with the object's key path. Kubernetes
manifests are scanned as they are, plus the decoded values of each Secret's `data`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from tokenward import yamlsafe
from tokenward.expand.base import Ctx, Item, Member, child, error, padded, text_blob
from tokenward.expand.decode import candidates
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


def _pair_line(key: str, value: str, style: str) -> str:
    if style == "json":
        quoted = json.dumps(value, ensure_ascii=False)
        return f"{json.dumps(key, ensure_ascii=False)}: {quoted}" if key else quoted
    return f"{key}: {value}" if key else value


def placed(raw: str, pairs: Pairs, style: str = "yaml") -> str:
    """The pairs as lines in the file's syntax (style "json": `"key": "value"`, "yaml": `key: value`),
    laid out at the file lines their values stand on, so findings keep file lines."""
    at: dict[int, list[str]] = {}
    spare: list[str] = []
    for key, value in pairs:
        line = _pair_line(key, value, style)
        pos = raw.find(value) if len(value) >= 4 else -1
        if pos < 0:
            spare.append(line)
        else:
            at.setdefault(raw.count("\n", 0, pos) + 1, []).append(line)
    last = max(at, default=0)
    rows = ["   ".join(at.get(n, [])) for n in range(1, last + 1)]
    return "\n".join(rows + spare)


def _structured(blob: Blob, fmt: str, parse: Any, style: str) -> Iterator[Item]:
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
        yield text_blob(blob.origin, fmt, placed(raw, pairs, style), (("key_path", path),))


def expand_docker_config(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """~/.docker/config.json: auths.<registry>.auth is base64 user:password (decoded by the decoding pass)."""
    yield from _structured(blob, "docker-config", json.loads, "json")


def expand_kubeconfig(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A kubeconfig: users' tokens, passwords and base64 client keys, labelled users[name].user."""
    yield from _structured(blob, "kubeconfig", lambda data: yamlsafe.load(data, "kubeconfig", ValueError), "yaml")


def expand_tfstate(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """Terraform state: resource attributes and outputs (which hold secrets in plain text)."""
    yield from _structured(blob, "tfstate", json.loads, "json")


MAX_DECODED = 1 << 20  # one decoded Secret value
K8S_SECRET = "k8s-secret"
Decoded = list[tuple[str, str, str]]  # (key, decoded text, encoded value)


def _decoded_value(encoded: str) -> str | None:
    """The UTF-8 text a Secret `data` value holds, or None when it is not base64 of text."""
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw or len(raw) > MAX_DECODED:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if all(c.isprintable() or c in "\t\r\n" for c in text) else None


def _secrets(doc: Any) -> Iterator[dict[str, Any]]:
    """The Secret objects of one manifest document (a List's items included)."""
    if not isinstance(doc, dict):
        return
    if doc.get("kind") == "Secret":
        yield doc
    items = doc.get("items")
    if isinstance(items, list):
        for item in items:
            yield from _secrets(item)


def _string_map(value: Any) -> dict[str, str]:
    return {str(k): v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}


def _decoded_data(secret: dict[str, Any]) -> Decoded:
    """(key, decoded text, encoded value) of every `data` value that is base64 of text."""
    out: Decoded = []
    for key, encoded in _string_map(secret.get("data")).items():
        text = _decoded_value(encoded)
        if text is not None:
            out.append((key, text, encoded))
    return out


def _decoded_elsewhere(encoded: str, ctx: Ctx) -> bool:
    """True when the decoding pass decodes this value by itself (it spells a token prefix or keyword):
    reporting it here too would report it twice."""
    return ctx.limits.decode_depth > 0 and bool(candidates(encoded.encode(), ctx.keywords)[0])


def _bootstrap_token(secret: dict[str, Any], decoded: Decoded) -> tuple[str, str] | None:
    """(token-secret as the file writes it, `id.secret`) of a bootstrap-token Secret, else None."""
    if secret.get("type") != "bootstrap.kubernetes.io/token":
        return None
    plain = _string_map(secret.get("stringData"))
    written = dict(plain)
    for key, text, encoded in decoded:
        plain[key], written[key] = text, encoded
    if "token-id" not in plain or "token-secret" not in plain:
        return None
    return written["token-secret"], f"{plain['token-id'].strip()}.{plain['token-secret'].strip()}"


def _line_of(raw: str, text: str) -> int:
    pos = raw.find(text)
    return raw.count("\n", 0, pos) + 1 if pos >= 0 else 0


def _decoded_rows(raw: str, decoded: Decoded) -> str:
    """`key: decoded` lines standing on the file lines of their encoded values."""
    at: dict[int, list[str]] = {}
    for key, text, encoded in decoded:
        at.setdefault(_line_of(raw, encoded), []).append(f"{key}: {text.strip()}")
    last = max(at, default=0)
    return "\n".join(["   ".join(at.get(n, [])) for n in range(1, last + 1)] + at.get(0, []))


def _manifest_docs(data: bytes, name: str) -> list[Any]:
    """Every document of a multi-document YAML file, with the limits of yamlsafe (size, depth, aliases)."""
    if len(data) > yamlsafe.MAX_BYTES:
        raise ValueError(f"{name}: larger than {yamlsafe.MAX_BYTES >> 20} MiB")
    docs = []
    for node in yaml.compose_all(data, Loader=Loader):
        if node is not None:
            yamlsafe.check(node, name, ValueError)
            docs.append(yamlsafe.construct(node))
    return docs


def expand_k8s_manifest(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A Kubernetes manifest holding a Secret or a container's environment: the text as it is, plus each
    Secret's decoded `data` values as `key: value` lines (multi-line values as blobs of their own, expanded
    again) and a bootstrap token's `id.secret`, labelled Secret/<name>.data, and every `- name: X` /
    `value: v` pair of an env list as an `X: v` line on the value's line, labelled env."""
    yield Blob(blob.data, child(blob.origin, "k8s-manifest"))
    try:
        docs = _manifest_docs(blob.data, blob.origin.path)
    except (yaml.YAMLError, ValueError):
        return  # templates ({{ }}), fragments, alias bombs: the text itself was scanned
    raw = blob.data.decode("utf-8", "replace")
    yield from _env_rows(blob, raw, docs, K8S_ENV)
    for doc in docs:
        for secret in _secrets(doc):
            meta = secret.get("metadata")
            name = str(meta.get("name", "")) if isinstance(meta, dict) else ""
            path = f"Secret/{name}.data" if name else "Secret.data"
            every = _decoded_data(secret)
            decoded = [d for d in every if not _decoded_elsewhere(d[2], ctx)]
            lines = [d for d in decoded if "\n" not in d[1].strip()]
            if lines:
                yield text_blob(blob.origin, K8S_SECRET, _decoded_rows(raw, lines), (("key_path", path),))
            for key, text, _ in decoded:
                if "\n" in text.strip():
                    details = (("key_path", f"{path}.{key}"),)
                    yield Member(Blob(text.encode("utf-8"), child(blob.origin, K8S_SECRET, f"{path}.{key}", details)))
            token = _bootstrap_token(secret, every)
            if token is not None:
                text = padded(f"bootstrap-token: {token[1]}", max(1, _line_of(raw, token[0])))
                yield text_blob(blob.origin, K8S_SECRET, text, (("key_path", path),))


K8S_ENV, ECS_ENV = "k8s-env", "ecs-env"
MAX_ENV_PAIRS = 10_000


def env_pairs(value: Any, out: Pairs) -> None:
    """(name, value) of every `{name: …, value: …}` item of a list, anywhere in a parsed document: a k8s
    container's env, an ECS task's environment. Such a pair names a variable in one field and sets it in
    another, so no `NAME = value` text says which variable a value belongs to."""
    if len(out) >= MAX_ENV_PAIRS:
        return
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("name"), str) and _scalar(item.get("value")):
                out.append((item["name"], str(item["value"])))
            else:
                env_pairs(item, out)
    elif isinstance(value, dict):
        for item in value.values():
            env_pairs(item, out)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool) and str(value) != ""


def _env_rows(blob: Blob, raw: str, docs: list[Any], fmt: str) -> Iterator[Item]:
    """One blob of `NAME: value` lines standing on the file lines of their values (when any pair)."""
    pairs: Pairs = []
    for doc in docs:
        env_pairs(doc, pairs)
    if pairs:
        yield text_blob(blob.origin, fmt, placed(raw, pairs), (("key_path", "env"),))


def expand_ecs_task(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """An ECS task definition (JSON): the text as it is, plus each container's environment pairs as
    `NAME: value` lines, labelled env."""
    yield Blob(blob.data, child(blob.origin, "ecs-task"))
    try:
        doc = json.loads(blob.data)
    except ValueError:
        return  # a fragment or a template: the text itself was scanned
    yield from _env_rows(blob, blob.data.decode("utf-8", "replace"), [doc], ECS_ENV)
