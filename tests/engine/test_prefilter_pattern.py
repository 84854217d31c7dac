"""A whole-pattern rule's `prefilter_pattern`: what Hyperscan holds instead of the pattern (issue 13)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tokenward.engine import Matcher
from tokenward.errors import RuleError
from tokenward.rulecheck import check_rules
from tokenward.rules.compile import compile_rules, expressions
from tokenward.rules.spec import load_rule_file, load_rules

RULE = """\
provider: acmewidgets
provider_name: Acme Widgets
rules:
  - id: acmewidgets.api-key
    name: Acme Widgets API key
    kind: api-key
    pattern: '(?i)\\b[\\w.-]{{0,40}}?widgetkey[ \\t]{{0,3}}=[ \\t]{{0,3}}(?P<secret>[a-f0-9]{{40}})\\b'
    prefilter_pattern: '{stand_in}'
{extra}    keywords: [widgetkey]
    references: [https://example.invalid/docs]
    examples: ['ACME_WIDGETKEY={a}', 'my.widgetkey = {b}']
    negative_examples: ['WIDGETKEY=short', 'widgetkey says nothing']
"""
GOOD = "(?i)widgetkey[ \\t]{0,3}=[ \\t]{0,3}[a-f0-9]{40}\\b"


def _rule(tmp_path: Path, stand_in: str = GOOD, extra: str = "") -> Path:
    path = tmp_path / "acmewidgets.yml"
    path.write_text(RULE.format(stand_in=stand_in, extra=extra, a=secrets.token_hex(20), b=secrets.token_hex(20)))
    return path


def test_hyperscan_holds_the_stand_in_and_the_pattern_still_confirms(tmp_path: Path) -> None:
    specs = load_rule_file(_rule(tmp_path))
    assert specs[0].prefilter_pattern == GOOD and not specs[0].gated
    assert expressions(specs).patterns == (GOOD.encode(),)
    assert check_rules(specs) == []
    matcher = Matcher(compile_rules(specs, cache=False))
    value = secrets.token_hex(20)
    # The stand-in dropped the variable-name prefix; the pattern (which needs a word start) still decides.
    assert [m.secret.decode() for m in matcher.scan(f"x DEPLOY_WIDGETKEY = {value}\n".encode())] == [value]
    assert [m.start for m in matcher.scan(f"x DEPLOY_WIDGETKEY = {value}\n".encode())] == [2]


def test_a_stand_in_ending_elsewhere_is_a_rules_check_problem(tmp_path: Path) -> None:
    # Ends after the first 8 hex digits: a hit there would confirm on a window ending too early.
    early = _rule(tmp_path, "(?i)widgetkey[ \\t]{0,3}=[ \\t]{0,3}[a-f0-9]{8}")
    problems = check_rules(load_rule_file(early))
    assert any("no prefilter_pattern match ends where the pattern's does" in p.message for p in problems)


def test_a_stand_in_is_refused_on_gated_rules_and_when_it_does_not_compile(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="not with 'secret' or 'prefilter: keywords'"):
        load_rule_file(_rule(tmp_path, extra="    prefilter: keywords\n"))
    with pytest.raises(RuleError, match="prefilter_pattern does not compile"):
        load_rule_file(_rule(tmp_path, "(?i)widgetkey(["))


def test_builtin_stand_ins_keep_every_example() -> None:
    specs = [s for s in load_rules() if s.prefilter_pattern]
    assert {s.id for s in specs} >= {"generic.password", "generic.api-key", "generic.space-assignment"}
    assert check_rules(specs) == []
