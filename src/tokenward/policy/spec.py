"""Policy-as-code: the shipped defaults.yaml, overridden by a policy.yaml, validated with file:line errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from tokenward import yamlsafe
from tokenward.errors import PolicyError
from tokenward.importers.yamlpos import line_of, load_yaml, validation_messages

DEFAULTS = Path(__file__).with_name("defaults.yaml")
Severity = Literal["critical", "high", "medium", "low", "info"]


class _CheckModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    enabled: bool = True
    severity: Severity | None = None


class _PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    fail_on: Severity | Literal["none"] | None = None
    checks: dict[str, _CheckModel] = {}


@dataclass(frozen=True)
class CheckConfig:
    """One enabled check with its severity and parameters."""

    id: str
    severity: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Policy:
    """The compiled policy: enabled checks in file order and the default --fail-on."""

    name: str
    fail_on: str
    checks: tuple[CheckConfig, ...]


def _parse(path: Path) -> tuple[_PolicyModel, dict[Any, int]]:
    try:
        text = yamlsafe.read_text(path, PolicyError)
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    data, lines = load_yaml(text, str(path), PolicyError)
    try:
        return _PolicyModel.model_validate(data or {}), lines
    except ValidationError as exc:
        raise PolicyError("invalid policy:\n" + validation_messages(exc, str(path), lines)) from None


def _params(check: str, user: _CheckModel, base: Mapping[str, Any], where: str) -> dict[str, Any]:
    params = dict(base)
    for key, value in (user.model_extra or {}).items():
        if key not in base:
            known = ", ".join(sorted(base)) or "none"
            raise PolicyError(f"{where}: checks.{check}.{key}: unknown parameter (known: {known})")
        if type(value) is not type(base[key]):
            raise PolicyError(f"{where}: checks.{check}.{key}: expected {type(base[key]).__name__}")
        params[key] = {**base[key], **value} if isinstance(value, dict) else value
    return params


def load_policy(path: Path | None, known: frozenset[str]) -> Policy:
    """Defaults, overridden by path; PolicyError names file, line and field for any mistake."""
    base, _ = _parse(DEFAULTS)
    user, lines = _parse(path) if path else (_PolicyModel(), {})
    for check in user.checks:
        if check not in known:
            where = f"{path}:{line_of(lines, ('checks', check))}"
            raise PolicyError(f"{where}: checks.{check}: unknown check (known: {', '.join(sorted(known))})")
    checks = []
    for check, default in base.checks.items():
        mine = user.checks.get(check, _CheckModel())
        where = f"{path}:{line_of(lines, ('checks', check))}"
        params = _params(check, mine, default.model_extra or {}, where)
        if mine.enabled and default.enabled:
            checks.append(CheckConfig(check, mine.severity or default.severity or "medium", params))
    fail_on = user.fail_on or base.fail_on or "high"
    return Policy(str(path) if path else "built-in defaults", fail_on, tuple(checks))
