"""Load and validate rule files into frozen RuleSpec objects."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tokenward import yamlsafe
from tokenward.errors import RuleError
from tokenward.rules import diskcache

BUILTIN_DIR = Path(__file__).parent / "builtin"
# libyaml's C loader parses the ~300 rules about 5x faster than the pure-Python one.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9.-]*$")
Confidence = Literal["high", "medium", "low"]
CONFIDENCE_ORDER: tuple[Confidence, ...] = ("low", "medium", "high")  # the one order of confidence labels
STRUCTURAL_PROVIDERS = frozenset({"jwt", "uri"})
DEFAULT_WITHIN, MAX_WITHIN = 40, 256
MIN_GATED_KEYWORD = 3
# A value next to a keyword ends where the token alphabet ends: letters, digits and `_ + / -`.
_BEFORE, _AFTER = r"(?<![\w+/-])", r"(?![\w+/-])"


def near_pattern(keywords: Iterable[str], secret: str, within: int, after: int = 0) -> str:
    """The regex of a keyword-context rule: a keyword, then within `within` bytes (any, newlines
    included: YAML nesting, k8s name/value pairs) a value matching `secret` that stands alone.
    With `after` > 0 the keyword may instead follow the value within `after` bytes (a curl line
    naming the provider's host after the header); that value is the group `secret_after`."""
    words = [_word_start(word) for word in sorted(keywords, key=len, reverse=True)]
    keyword = f"(?:{'|'.join(words)})"
    before = f"{keyword}.{{0,{within}}}?{_BEFORE}(?P<secret>(?-i:{secret})){_AFTER}"
    if not after:
        return f"(?is){before}"
    return f"(?is)(?:{before}|{_BEFORE}(?P<secret_after>(?-i:{secret})){_AFTER}.{{0,{after}}}?{keyword})"


def _word_start(word: str) -> str:
    # Keywords would fire inside ordinary words ("ably" in "probably", "tmetric" in "FontMetrics"):
    # they must start one — after a non-letter, after Java's -D, or as a capitalised camelCase part
    # ("createAblyClient")...
    head, rest = word[0], re.escape(word[1:])
    # A camelCase part must also end where the part ends ("rdbLoadMillisecond" holds no "loadmill");
    # after a separator a brand may run on ("openweathermap", "aivenv1").
    end = "(?-i:(?![a-z]))" if word[-1].isalpha() else ""
    if not head.isalpha():
        return re.escape(word)
    return rf"(?:(?:(?<![A-Za-z])|(?<=-D)){re.escape(head)}{rest}|(?<=[a-z])(?-i:{head.upper()}){rest}{end})"


def _check_secret_form(secret: str) -> None:
    try:
        compiled = re.compile(secret.encode())
    except re.error as exc:
        raise ValueError(f"secret does not compile: {exc}") from exc
    if compiled.groupindex:
        raise ValueError("'secret' is the value's own regex: no named groups (the rule adds them)")


def confidence_rank(confidence: str) -> int:
    """The position of a confidence label in CONFIDENCE_ORDER: low 0, medium 1, high 2."""
    return CONFIDENCE_ORDER.index(confidence)


@dataclass(frozen=True)
class PairSpec:
    """Attach the public id of a nearby match of another rule (e.g. AWS key id + secret)."""

    rule: str
    within: int


@dataclass(frozen=True)
class RuleSpec:
    """One detection rule as parsed from a rule file."""

    id: str
    name: str
    provider: str
    provider_name: str
    kind: str
    pattern: str
    keywords: tuple[str, ...]
    checks: tuple[tuple[str, Any], ...]
    confidence: Confidence
    environment: str | None
    privilege: str | None
    pair: PairSpec | None
    references: tuple[str, ...]
    examples: tuple[str, ...]
    negative_examples: tuple[str, ...]
    source_file: str
    gated: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""
    keyword_first: bool = False  # a keyword-context rule without `after`: every match starts with a keyword

    @property
    def generic(self) -> bool:
        """True for rules that match by context rather than by a provider-specific format."""
        return self.provider == "generic"

    @property
    def tier(self) -> int:
        """Specificity tier for overlap resolution: generic 0, structural (jwt, uri) 1, provider 2."""
        if self.generic:
            return 0
        return 1 if self.provider in STRUCTURAL_PROVIDERS else 2


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
        return self

    @field_validator("keywords")
    @classmethod
    def _keywords_nonempty(cls, value: list[str]) -> list[str]:
        if any(not k for k in value):
            raise ValueError("keywords must be non-empty strings")
        return value


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
    provider_tier = provider != "generic" and provider not in STRUCTURAL_PROVIDERS
    distinctive = min(len(k) for k in model.keywords) >= MIN_GATED_KEYWORD
    return "keywords" if provider_tier and distinctive and not common_keywords(model.keywords) else "pattern"


@functools.cache
def _common_words() -> frozenset[str]:
    text = (Path(__file__).parent / "common_keywords.txt").read_text(encoding="utf-8")
    return frozenset(w for w in text.split("\n") if w and not w.startswith("#"))


def common_keywords(keywords: Iterable[str]) -> list[str]:
    """The keywords too common in ordinary text to gate a rule on (see common_keywords.txt)."""
    common = _common_words()
    return [k for k in keywords if k.lower() in common]


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
    )


def _describe(exc: ValidationError, path: Path) -> str:
    parts = []
    for err in exc.errors()[:10]:
        loc = ".".join(str(x) for x in err["loc"])
        parts.append(f"{path}: {loc}: {err['msg']}")
    return "\n".join(parts)


def load_rule_file(path: Path) -> list[RuleSpec]:
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


def rule_files(dirs: Iterable[Path]) -> list[Path]:
    """Every *.yml / *.yaml file under the given files or directories, sorted."""
    found: list[Path] = []
    for d in dirs:
        if d.is_file():
            found.append(d)
        elif d.is_dir():
            found.extend(p for p in d.rglob("*") if p.suffix in (".yml", ".yaml"))
        else:
            raise RuleError(f"{d}: no such rule file or directory")
    return sorted(found)


def load_rules(extra: Iterable[Path] = (), builtin: bool = True, unique: bool = True) -> list[RuleSpec]:
    """Load the built-in rules plus any user rule files; ids must be unique unless unique=False.

    A rule set parsed before (same files, sizes and times, same loader code) comes from the disk
    cache: parsing and validating a thousand rules is most of a small scan's start-up."""
    paths = rule_files(([BUILTIN_DIR] if builtin else []) + list(extra))
    name = f"rules-{_files_key(paths, unique)}.json"
    cached = diskcache.read(name)
    if cached is not None:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            return [_from_json(item) for item in json.loads(cached)]
    specs = _parse(paths, unique)
    diskcache.write(name, json.dumps([dataclasses.asdict(s) for s in specs]).encode())
    return specs


def _parse(paths: list[Path], unique: bool) -> list[RuleSpec]:
    specs: list[RuleSpec] = []
    seen: dict[str, str] = {}
    for path in paths:
        for spec in load_rule_file(path):
            if unique and spec.id in seen:
                raise RuleError(f"rule id {spec.id!r} defined twice: {seen[spec.id]} and {path}")
            seen[spec.id] = str(path)
            specs.append(spec)
    return specs


def _files_key(paths: list[Path], unique: bool) -> str:
    # The loader's own source is part of the key: a change to how rules are parsed re-parses them.
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update((Path(__file__).parent / "common_keywords.txt").read_bytes())
    h.update(repr(unique).encode())
    for path in paths:
        st = path.stat()
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:24]


def _from_json(item: dict[str, Any]) -> RuleSpec:
    tuples = ("keywords", "references", "examples", "negative_examples", "aliases")
    fields: dict[str, Any] = {k: tuple(v) if k in tuples else v for k, v in item.items()}
    fields["checks"] = tuple((name, arg) for name, arg in item["checks"])
    fields["pair"] = PairSpec(**item["pair"]) if item["pair"] else None
    return RuleSpec(**fields)


def ruleset_hash(specs: Iterable[RuleSpec]) -> str:
    """A content hash of the matching-relevant parts of a rule set (cache and rescan key)."""
    h = hashlib.sha256()
    for s in sorted(specs, key=lambda r: r.id):
        h.update(repr((s.id, s.pattern, s.keywords, s.checks, s.confidence, s.pair, s.gated)).encode())
    return h.hexdigest()[:32]
