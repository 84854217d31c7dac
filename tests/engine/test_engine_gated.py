"""Keyword-context rules (`secret:` + `keywords:` + `within:`): built pattern, gating, windows."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tokenward.engine import Matcher
from tokenward.errors import RuleError
from tokenward.rulecheck import check_rules
from tokenward.rules.compile import compile_rules
from tokenward.rules.spec import load_rule_file

RULE = """\
provider: acmewidgets
provider_name: Acme Widgets
aliases: [acme-widgets]
rules:
  - id: acmewidgets.api-key
    name: Acme Widgets API key
    kind: api-key
    secret: '[a-f0-9]{{40}}'
    keywords: [acmewidgets, acwx]
    within: {within}
    checks: [not_placeholder]
    references: [https://example.invalid/docs]
    examples: ['ACMEWIDGETS_KEY={a}', "acmewidgets:\\n  key: '{b}'"]
    negative_examples: ['ACMEWIDGETS_KEY=short', 'acmewidgets says nothing']
"""


def _matcher(tmp_path: Path, within: int = 40) -> tuple[Matcher, Path]:
    path = tmp_path / "acmewidgets.yml"
    path.write_text(RULE.format(within=within, a=secrets.token_hex(20), b=secrets.token_hex(20)))
    return Matcher(compile_rules(load_rule_file(path), cache=False)), path


def _found(matcher: Matcher, text: str) -> list[str]:
    return [m.secret.decode() for m in matcher.scan(text.encode())]


def test_value_after_keyword_on_same_or_next_line(tmp_path: Path) -> None:
    matcher, _ = _matcher(tmp_path)
    value = secrets.token_hex(20)
    assert _found(matcher, f"export ACMEWIDGETS_API_KEY={value}\n") == [value]
    assert _found(matcher, f'acmewidgets:\n  api_key: "{value}"\n') == [value]
    assert _found(matcher, f"- name: ACMEWIDGETS_KEY\n  value: {value}\n") == [value]


def test_value_too_far_or_glued_or_wrong_length_is_not_found(tmp_path: Path) -> None:
    matcher, _ = _matcher(tmp_path, within=20)
    value = secrets.token_hex(20)
    assert _found(matcher, f"acmewidgets {'.' * 30} {value}") == []
    assert _found(matcher, f"acmewidgets_key=x{value}") == []
    assert _found(matcher, f"acmewidgets_key={value}ab") == []
    assert _found(matcher, f"{value} acmewidgets") == []


def test_short_keyword_must_start_a_word(tmp_path: Path) -> None:
    matcher, _ = _matcher(tmp_path)
    value = secrets.token_hex(20)
    assert _found(matcher, f"ACWX_TOKEN={value}") == [value]
    assert _found(matcher, f"zacwx_token={value}") == []


def test_keyword_hits_far_apart_in_a_large_blob(tmp_path: Path) -> None:
    matcher, _ = _matcher(tmp_path)
    values = [secrets.token_hex(20) for _ in range(50)]
    filler = "x = 1\n" * 2000
    data = filler.join(f"acmewidgets_key = '{v}'\n" for v in values)
    assert _found(matcher, data) == values


def test_rules_check_accepts_the_file_and_spec_records_gating(tmp_path: Path) -> None:
    _, path = _matcher(tmp_path)
    specs = load_rule_file(path)
    assert specs[0].gated and specs[0].aliases == ("acme-widgets",)
    assert check_rules(specs) == []


def test_pattern_and_secret_together_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    text = RULE.format(within=40, a="a", b="b").replace("    secret:", "    pattern: 'x(?P<secret>y)'\n    secret:")
    path.write_text(text)
    with pytest.raises(RuleError, match="exactly one of"):
        load_rule_file(path)


def test_secret_with_named_group_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(RULE.format(within=40, a="a", b="b").replace("'[a-f0-9]{40}'", "'(?P<x>[a-f0-9]{40})'"))
    with pytest.raises(RuleError, match="no named groups"):
        load_rule_file(path)


def test_short_keyword_as_camel_case_part(tmp_path: Path) -> None:
    matcher, _ = _matcher(tmp_path)
    value = secrets.token_hex(20)
    assert _found(matcher, f'createAcwxClient({{ apiKey: "{value}" }})') == [value]
    assert _found(matcher, f'createacwxClient({{ apiKey: "{value}" }})') == []


def test_gating_on_a_common_word_is_a_rules_check_problem(tmp_path: Path) -> None:
    path = tmp_path / "acmewidgets.yml"
    text = RULE.format(within=40, a=secrets.token_hex(20), b=secrets.token_hex(20))
    path.write_text(text.replace("[acmewidgets, acwx]", "[acmewidgets, line]").replace("'{b}'", "x"))
    problems = check_rules(load_rule_file(path))
    assert any("'line' is too common" in p.message for p in problems)


def test_builtin_provider_rules_with_rare_prefixes_are_gated() -> None:
    from tokenward.rules.spec import load_rules
    by_id = {s.id: s for s in load_rules()}
    assert by_id["github.pat-classic"].gated
    assert not by_id["generic.password"].gated
    assert not by_id["telnyx.api-key"].gated  # keyword 'KEY' is everywhere


def test_checksum_lookalikes_only_on_request_and_never_generic() -> None:
    from tests.tokens import TokenFactory
    from tokenward.rules.compile import compile_rules as build
    from tokenward.rules.spec import load_rules
    token = TokenFactory(31).github_classic()
    broken = token[:-1] + ("A" if token[-1] != "A" else "B")
    ruleset = build(load_rules())
    line = f"GITHUB_TOKEN={broken}".encode()
    assert Matcher(ruleset).scan(line) == []
    found = Matcher(ruleset, lookalikes=True).scan(line)
    assert [(m.rule.spec.id, m.checksum_valid) for m in found] == [("github.pat-classic", False)]
    valid = Matcher(ruleset, lookalikes=True).scan(f"GITHUB_TOKEN={token}".encode())
    assert [(m.rule.spec.id, m.checksum_valid) for m in valid] == [("github.pat-classic", True)]


def test_scan_reports_checksum_lookalike_only_at_low_confidence(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from tests.tokens import TokenFactory
    from tokenward.cli.main import app
    token = TokenFactory(32).github_classic()
    broken = token[:-1] + ("A" if token[-1] != "A" else "B")
    target = tmp_path / "fixture.env"
    target.write_text(f"GITHUB_TOKEN={broken}\n")
    runner = CliRunner()
    default = runner.invoke(app, ["scan", str(target), "--no-db", "-f", "json"])
    assert default.exit_code == 0, default.output
    low = runner.invoke(app, ["scan", str(target), "--no-db", "-f", "json", "--min-confidence", "low"])
    assert low.exit_code == 1, low.output
    findings = json.loads(low.output)["findings"]
    assert [(f["rule_id"], f["confidence"]) for f in findings] == [("github.pat-classic", "low")]
    assert broken not in low.output and "invalid" in json.dumps(findings[0])


def test_keyword_after_the_value_when_the_rule_allows_it(tmp_path: Path) -> None:
    path = tmp_path / "acmewidgets.yml"
    text = RULE.format(within=40, a=secrets.token_hex(20), b=secrets.token_hex(20))
    path.write_text(text.replace("    within: 40\n", "    within: 40\n    after: 60\n"))
    matcher = Matcher(compile_rules(load_rule_file(path), cache=False))
    value = secrets.token_hex(20)
    line = f'curl -H "Authorization: Bearer {value}" https://api.acmewidgets.example/v1/items'
    found = matcher.scan(line.encode())
    assert [m.secret.decode() for m in found] == [value]
    assert line.encode()[found[0].secret_start:found[0].secret_end] == value.encode()
    assert _found(matcher, f"ACMEWIDGETS_KEY={value}") == [value]
    plain, _ = _matcher(tmp_path / "plain" if (tmp_path / "plain").mkdir() is None else tmp_path)
    assert _found(plain, line) == []


def test_min_digits_check() -> None:
    from tokenward.checks import build_check
    check = build_check("min_digits", 2)
    assert check(b"a1b2c3", b"") and not check(b"UserAgentMatcher", b"") and not check(b"abc1", b"")


def test_camel_case_keyword_part_must_end_the_part(tmp_path: Path) -> None:
    matcher, _ = _matcher(tmp_path)
    value = secrets.token_hex(20)
    assert _found(matcher, f"rdbAcwxillisecond\\ncommit {value}") == []
    assert _found(matcher, f'newAcwxClient("{value}")') == [value]
