"""Provider facts that are not detection rules, read from data (rules/providers/*.yml): how a
provider's granted scopes map to privilege, which token kinds imply a privilege, and which public
identifiers are derived from a token (GitHub's hashed_token). Code asks here instead of testing
provider names, so adding a provider's facts touches a data file only."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenward import yamlsafe
from tokenward.errors import RuleError
from tokenward.identity import github_hashed_token

DATA_DIR = Path(__file__).parent / "rules" / "providers"
LEVELS = frozenset({"read", "write", "admin"})
# Public identifiers computable from a token, by the name a data file uses for them.
DERIVED_IDS: dict[str, Callable[[bytes], str]] = {"github_hashed_token": github_hashed_token}


@dataclass(frozen=True)
class ProviderFacts:
    """What is known about one provider beyond its token formats."""

    scopes: Mapping[str, str] = field(default_factory=dict)
    scope_prefixes: tuple[tuple[str, str], ...] = ()
    admin_on_write: frozenset[str] = frozenset()
    kind_privileges: tuple[tuple[str, str], ...] = ()
    derived_ids: tuple[str, ...] = ()

    @property
    def has_scope_table(self) -> bool:
        """True when the provider's scopes are listed (unlisted ones are then 'unknown')."""
        return bool(self.scopes or self.scope_prefixes or self.admin_on_write)

    def scope_level(self, scope: str) -> str:
        """read | write | admin | unknown of one lower-case scope or `name:access` permission."""
        name, _, access = scope.rpartition(":")
        if self.admin_on_write and name and access in LEVELS:
            return "admin" if access == "admin" or (access == "write" and name in self.admin_on_write) else access
        if scope in self.scopes:
            return self.scopes[scope]
        return next((lv for prefix, lv in self.scope_prefixes if scope.startswith(prefix)), "unknown")

    def kind_privilege(self, kind: str) -> str | None:
        """The privilege a token kind implies (first listed word the kind contains), or None."""
        return next((lv for word, lv in self.kind_privileges if word in kind), None)

    def public_ids(self, secret: bytes) -> tuple[tuple[str, str], ...]:
        """(name, value) of every public identifier derived from the token."""
        return tuple((name, DERIVED_IDS[name](secret)) for name in self.derived_ids)


NONE = ProviderFacts()


def facts(provider: str) -> ProviderFacts:
    """The facts of a provider (empty when the data says nothing about it)."""
    return _all().get(provider, NONE)


@functools.cache
def _all() -> dict[str, ProviderFacts]:
    out: dict[str, ProviderFacts] = {}
    for path in sorted(DATA_DIR.glob("*.yml")):
        doc = yamlsafe.load(path.read_bytes(), str(path), RuleError) or {}
        for provider, raw in doc.items():
            out[str(provider)] = _parse(raw or {}, f"{path}: {provider}")
    return out


def _parse(raw: dict[str, Any], where: str) -> ProviderFacts:
    scopes = {str(k).lower(): str(v) for k, v in (raw.get("scopes") or {}).items()}
    prefixes = sorted(((str(k).lower(), str(v)) for k, v in (raw.get("scope_prefixes") or {}).items()),
                      key=lambda kv: -len(kv[0]))
    kinds = tuple((str(k), str(v)) for k, v in (raw.get("kind_privileges") or {}).items())
    derived = tuple(str(d) for d in raw.get("derived_ids") or ())
    bad = [lv for _, lv in [*scopes.items(), *prefixes, *kinds] if lv not in LEVELS]
    unknown = [d for d in derived if d not in DERIVED_IDS]
    if bad or unknown:
        raise RuleError(f"{where}: unknown privilege levels {bad} or derived ids {unknown}")
    admin = frozenset((raw.get("permissions") or {}).get("admin_on_write") or ())
    return ProviderFacts(scopes, tuple(prefixes), admin, kinds, derived)
