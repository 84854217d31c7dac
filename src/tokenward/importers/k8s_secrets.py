"""Kubernetes secrets (`kubectl get secrets -A -o json`): values decoded, scanned and fingerprinted in memory;
only fingerprints, previews and metadata (namespace, name, key, labels, creation time) are kept."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from tokenward.classify import environment_hint
from tokenward.errors import ImporterError
from tokenward.importers.interface import DeclaredToken, ImportContext, ImportRequest, ImportResult, parse_time
from tokenward.importers.jsonfile import load_json
from tokenward.importers.values import identify

SKIP_TYPES = frozenset({"helm.sh/release.v1"})  # gzip'd release manifests, not credentials
SERVICE_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/part-of", "app")


def _service(meta: dict[str, Any]) -> str | None:
    labels = meta.get("labels") or {}
    return next((str(labels[k]) for k in SERVICE_LABELS if labels.get(k)), None)


def _secret_records(item: dict[str, Any], ctx: ImportContext, notes: list[str]) -> list[DeclaredToken]:
    meta = _meta(item)
    ns, name = str(meta.get("namespace") or "default"), str(meta.get("name") or "?")
    records = []
    for key, encoded in sorted((item.get("data") or {}).items()):
        try:
            value = base64.b64decode(str(encoded), validate=True)
        except (binascii.Error, ValueError):
            notes.append(f"{ns}/{name}#{key}: not base64; skipped")
            continue
        for ident in identify(value, ctx.fingerprinter, ctx.matcher()):
            where = f"{ns}/{name}#{key}"
            records.append(DeclaredToken(
                origin="k8s", external_id=f"k8s:{where}@{ident.token_id[:16]}", provider=ident.provider,
                kind=ident.kind, token_id=ident.token_id, public_ids=ident.public_ids, name=where,
                service=_service(meta), environment=environment_hint(ns) or ident.environment,
                privilege=ident.privilege, created_at=parse_time(meta.get("creationTimestamp")),
                location=f"k8s:{where}", storage=f"k8s:{where}", preview=ident.preview,
                details=(("namespace", ns), ("secret", name), ("key", key), ("type", str(item.get("type"))))))
        del value
    return records


EXPECTED = ("expected `kubectl get secrets -A -o json` output: an object of kind List or SecretList with "
            "`items`, one Secret, or a list of Secrets (objects with kind Secret, metadata and data)")


def _is_secret(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    if "kind" in item:
        return bool(item["kind"] == "Secret")
    return isinstance(item.get("metadata"), dict) and isinstance(item.get("data", {}), dict) and (
        "data" in item or "type" in item)


def _secrets(data: Any, path: Path) -> list[dict[str, Any]]:
    """The Secret objects of a file, or ImporterError saying what was expected."""
    if isinstance(data, dict) and data.get("kind") in ("List", "SecretList"):
        if not isinstance(data.get("items"), list):
            raise ImporterError(f"{path}: {data['kind']} without an `items` list: {EXPECTED}")
        items = data["items"]
        if items and not any(_is_secret(i) for i in items):
            raise ImporterError(f"{path}: none of the {len(items)} items is a Secret: {EXPECTED}")
        return [i for i in items if _is_secret(i)]
    if isinstance(data, dict) and "kind" in data and data["kind"] != "Secret":
        raise ImporterError(f"{path}: not a list of Kubernetes secrets (kind {data.get('kind')!r})")
    items = data if isinstance(data, list) else [data]
    secrets = [i for i in items if _is_secret(i)]
    if not secrets:
        found = "an empty list" if data == [] else "an empty object" if data == {} else f"a JSON {type(data).__name__}"
        raise ImporterError(f"{path}: {found} with no Secret: {EXPECTED}")
    return secrets


def import_k8s_secrets(request: ImportRequest, ctx: ImportContext) -> ImportResult:
    """One record per token found in a secret's values (a value that is one opaque token counts as one)."""
    path = Path(request.source)
    records: list[DeclaredToken] = []
    notes: list[str] = []
    for item in _secrets(load_json(path), path):
        if item.get("type") in SKIP_TYPES:
            continue
        if not isinstance(item.get("data") or {}, dict):
            raise ImporterError(f"{path}: secret {_name(item)}: `data` is not an object: {EXPECTED}")
        records.extend(_secret_records(item, ctx, notes))
    return ImportResult("k8s", str(path.absolute()), tuple(records), tuple(notes))


def _meta(item: dict[str, Any]) -> dict[str, Any]:
    meta = item.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _name(item: dict[str, Any]) -> str:
    meta = _meta(item)
    return f"{meta.get('namespace') or 'default'}/{meta.get('name') or '?'}"
