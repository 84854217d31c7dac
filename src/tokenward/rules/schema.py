"""The rule file schema (pydantic): YAML rule files → validated `RuleSpec`s.

Imported only when rule files are parsed (see spec.load_rule_file): a scan whose rule set comes from
the disk cache never pays for pydantic or the YAML parser.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tokenward import yamlsafe
from tokenward.errors import RuleError
from tokenward.rules.model import (
    DEFAULT_WITHIN,
    ID_RE,
    MAX_WITHIN,
    MIN_GATED_KEYWORD,
    STRUCTURAL_PROVIDERS,
    Confidence,
    PairSpec,
    RuleSpec,
    _check_secret_form,
    common_keywords,
    near_pattern,
    pattern_width,
)


class _PairModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: str
    within: int = Field(default=400, ge=1, le=4096)


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    description: str = ""
    kind: str
    pattern: str = ""
    secret: str = ""
    within: int = Field(default=DEFAULT_WITHIN, ge=1, le=MAX_WITHIN)
    after: int = Field(default=0, ge=0, le=MAX_WITHIN)
    prefilter: Literal["pattern", "keywords"] | None = None
    prefilter_pattern: str = ""
    keywords: list[str] = Field(min_length=1)
    checks: list[str | dict[str, Any]] = Field(default_factory=list)
    confidence: Confidence = "medium"
    environment: Literal["live", "test", "sandbox"] | None = None
    privilege: Literal["admin", "write", "read", "unknown"] | None = None
    pair: _PairModel | None = None
    references: list[str] = Field(min_length=1)
    examples: list[str] = Field(min_length=2)
    negative_examples: list[str] = Field(min_length=2)

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str) -> str:
        if not ID_RE.match(value):
            raise ValueError("id must look like 'provider.kind' (lowercase, digits, dashes)")
        return value

    @model_validator(mode="after")
    def _pattern_form(self) -> _RuleModel:
        if bool(self.pattern) == bool(self.secret):
            raise ValueError("give exactly one of 'pattern' (a whole regex) or 'secret' (+ keywords, within)")
        if self.secret:
            _check_secret_form(self.secret)
            self.pattern = near_pattern(self.keywords, self.secret, self.within, self.after)
        try:
            compiled = re.compile(self.pattern.encode())
        except re.error as exc:
            raise ValueError(f"pattern does not compile: {exc}") from exc
        if "secret" not in compiled.groupindex:
            raise ValueError("pattern needs a named group 'secret'")
        if self.prefilter_pattern:
            _check_prefilter_pattern(self.prefilter_pattern, self.prefilter, bool(self.secret))
        return self

    @field_validator("keywords")
    @classmethod
    def _keywords_nonempty(cls, value: list[str]) -> list[str]:
        if any(not k for k in value):
            raise ValueError("keywords must be non-empty strings")
        return value


def _check_prefilter_pattern(expression: str, prefilter: str | None, keyword_context: bool) -> None:
    if keyword_context or prefilter == "keywords":
        raise ValueError("'prefilter_pattern' replaces a whole pattern in Hyperscan: not with 'secret' or "
                         "'prefilter: keywords'")
    try:
        re.compile(expression.encode())
    except re.error as exc:
        raise ValueError(f"prefilter_pattern does not compile: {exc}") from exc


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: str
    provider_name: str
    aliases: list[str] = Field(default_factory=list)
    rules: list[_RuleModel] = Field(min_length=1)


def _normalise_check(raw: str | dict[str, Any]) -> tuple[str, Any]:
    if isinstance(raw, str):
        return (raw, None)
    if len(raw) != 1:
        raise RuleError(f"a check must be a name or a one-key mapping, got {raw!r}")
    ((name, arg),) = raw.items()
    return (str(name), arg)


def _default_prefilter(model: _RuleModel, provider: str) -> str:
    # Provider rules anchored on literal prefixes are found faster (and compiled ~200x faster) by
    # their keywords than by their whole regex; generic and structural rules, whose keywords are
    # common words or one-character markers, keep the whole regex in Hyperscan.
    if model.secret:
        return "keywords"
    if model.prefilter_pattern:
        return "pattern"  # the rule names its own Hyperscan expression
    provider_tier = provider != "generic" and provider not in STRUCTURAL_PROVIDERS
    distinctive = min(len(k) for k in model.keywords) >= MIN_GATED_KEYWORD
    return "keywords" if provider_tier and distinctive and not common_keywords(model.keywords) else "pattern"


def _to_spec(model: _RuleModel, file: _FileModel, path: Path) -> RuleSpec:
    if not model.id.startswith(file.provider + "."):
        raise RuleError(f"{path}: rule {model.id!r} must start with its provider '{file.provider}.'")
    pair = PairSpec(model.pair.rule, model.pair.within) if model.pair else None
    return RuleSpec(
        id=model.id, name=model.name, provider=file.provider, provider_name=file.provider_name,
        kind=model.kind, pattern=model.pattern, keywords=tuple(model.keywords),
        checks=tuple(_normalise_check(c) for c in model.checks), confidence=model.confidence,
        environment=model.environment, privilege=model.privilege, pair=pair,
        references=tuple(model.references), examples=tuple(model.examples),
        negative_examples=tuple(model.negative_examples), source_file=str(path),
        gated=(model.prefilter or _default_prefilter(model, file.provider)) == "keywords",
        aliases=tuple(file.aliases), description=model.description,
        keyword_first=bool(model.secret) and not model.after,
        prefilter_pattern=model.prefilter_pattern, max_width=pattern_width(model.pattern),
    )


def _describe(exc: ValidationError, path: Path) -> str:
    parts = []
    for err in exc.errors()[:10]:
        loc = ".".join(str(x) for x in err["loc"])
        parts.append(f"{path}: {loc}: {err['msg']}")
    return "\n".join(parts)


def parse_rule_file(path: Path) -> list[RuleSpec]:
    """Parse one YAML rule file; raise RuleError naming the file and field on any problem."""
    try:
        raw = yamlsafe.load(yamlsafe.read_text(path, RuleError), str(path), RuleError)
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read rule file: {exc}") from exc
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: invalid YAML: {exc}") from exc
    try:
        model = _FileModel.model_validate(raw)
    except ValidationError as exc:
        raise RuleError(_describe(exc, path)) from None
    return [_to_spec(r, model, path) for r in model.rules]


