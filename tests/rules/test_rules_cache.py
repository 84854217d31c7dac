"""The rule caches: a parsed rule set and a compiled database come back identical, a changed rule
file or a corrupt entry is re-parsed, and an unwritable cache never stops loading."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from tokenward.rules import diskcache
from tokenward.rules.spec import BUILTIN_DIR, _parse, load_rules, rule_files

RULE = """\
provider: acmecache
provider_name: Acme Cache
rules:
  - id: acmecache.api-key
    name: Acme Cache API key
    kind: api-key
    secret: '[a-f0-9]{{40}}'
    keywords: [acmecache]
    confidence: {confidence}
    references: [https://example.invalid/docs]
    examples: ['ACMECACHE_KEY={a}', 'acmecache_token: {b}']
    negative_examples: ['ACMECACHE_KEY=short', 'acmecache says nothing']
"""


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("TOKENWARD_COMPILED_CACHE", str(where))
    return where


def _write(path: Path, confidence: str) -> None:
    path.write_text(RULE.format(confidence=confidence, a=secrets.token_hex(20), b=secrets.token_hex(20)))


def test_cached_rule_set_equals_a_fresh_parse(cache: Path) -> None:
    first, second = load_rules(), load_rules()
    assert first == second == _parse(rule_files([BUILTIN_DIR]), True)
    assert len(list(cache.glob("rules-*.json"))) == 1


def test_changed_rule_file_is_parsed_again(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "acmecache.yml"
    _write(path, "medium")
    assert load_rules([path], builtin=False)[0].confidence == "medium"
    _write(path, "high")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert load_rules([path], builtin=False)[0].confidence == "high"


def test_corrupt_entry_is_ignored_and_unwritable_cache_is_harmless(cache: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "acmecache.yml"
    _write(path, "medium")
    load_rules([path], builtin=False)
    for entry in cache.glob("rules-*.json"):
        entry.write_bytes(b'[{"id": 1}]')
    assert load_rules([path], builtin=False)[0].id == "acmecache.api-key"
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    monkeypatch.setenv("TOKENWARD_COMPILED_CACHE", str(blocker / "sub"))
    assert load_rules([path], builtin=False)[0].id == "acmecache.api-key"
    assert diskcache.read("rules-anything.json") is None
