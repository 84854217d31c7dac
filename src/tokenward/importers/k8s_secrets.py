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
from tokenward.importers.jsonfile import items_of, load_json
from tokenward.importers.values import identify

SKIP_TYPES = frozenset({"helm.sh/release.v1"})  # gzip'd release manifests, not credentials
SERVICE_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/part-of", "app")


def _service(meta: dict[str, Any]) -> str | None:
    labels = meta.get("labels") or {}
    return next((str(labels[k]) for k in SERVICE_LABELS if labels.get(k)), None)


def _secret_records(item: dict[str, Any], ctx: ImportContext, notes: list[str]) -> list[DeclaredToken]:
    meta = item.get("metadata") or {}
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


def import_k8s_secrets(request: ImportRequest, ctx: ImportContext) -> ImportResult:
    """One record per token found in a secret's values (a value that is one opaque token counts as one)."""
    path = Path(request.source)
    data = load_json(path)
    if isinstance(data, dict) and data.get("kind") not in (None, "List", "SecretList", "Secret"):
        raise ImporterError(f"{path}: not a list of Kubernetes secrets (kind {data.get('kind')!r})")
    records: list[DeclaredToken] = []
    notes: list[str] = []
    for item in items_of(data, ("items",), str(path)):
        if item.get("kind", "Secret") != "Secret" or item.get("type") in SKIP_TYPES:
            continue
        records.extend(_secret_records(item, ctx, notes))
    return ImportResult("k8s", str(path.absolute()), tuple(records), tuple(notes))
