"""The rule set's self-test (every example and negative) and its coverage requirements."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenward.errors import RuleError
from tokenward.rulecheck import check_rules
from tokenward.rules.spec import load_rule_file, load_rules


def test_builtin_rules_pass_their_own_examples() -> None:
    problems = check_rules(load_rules(unique=False))
    assert not problems, "\n".join(f"{p.rule_id}: {p.message}" for p in problems)


def test_rule_set_size_and_provider_coverage() -> None:
    specs = load_rules()
    assert len(specs) >= 200
    assert len({s.provider for s in specs}) >= 120


def test_every_rule_documents_itself() -> None:
    for spec in load_rules():
        assert spec.references and all(r.startswith("https://") for r in spec.references), spec.id
        assert len(spec.examples) >= 2 and len(spec.negative_examples) >= 2, spec.id


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "custom.yml"
    path.write_text(body)
    return path


GOOD_RULE = """
provider: acme
provider_name: Acme
rules:
  - id: acme.key
    name: Acme key
    kind: key
    pattern: '\\b(?P<secret>acme_[a-z0-9]{{20}})\\b'
    keywords: [acme_]
    references: [https://acme.invalid/docs]
    examples: ['k = acme_{a}', 'acme_{a}']
    negative_examples: [{neg1}, 'acme_short']
"""


def test_rules_check_reports_bad_examples(tmp_path: Path) -> None:
    body = GOOD_RULE.format(a="q1w2e3r4t5y6u7i8o9p0", neg1="'acme_q1w2e3r4t5y6u7i8o9p0'")
    problems = check_rules(load_rule_file(_write(tmp_path, body)))
    assert [p.message for p in problems] == ["negative example 0 matches"]


def test_rules_check_reports_duplicate_ids(tmp_path: Path) -> None:
    body = GOOD_RULE.format(a="q1w2e3r4t5y6u7i8o9p0", neg1="'nothing'")
    specs = load_rule_file(_write(tmp_path, body)) * 2
    assert any("defined 2 times" in p.message for p in check_rules(specs))


def test_rules_check_reports_missing_keyword(tmp_path: Path) -> None:
    body = GOOD_RULE.format(a="q1w2e3r4t5y6u7i8o9p0", neg1="'nothing'").replace("[acme_]", "[zzz]")
    assert any("no keyword" in p.message for p in check_rules(load_rule_file(_write(tmp_path, body))))


@pytest.mark.parametrize("mutation, message", [
    (("(?P<secret>", "("), "named group 'secret'"),
    (("id: acme.key", "id: Acme Key"), "provider.kind"),
    (("kind: key", "kind: key\n    bogus: 1"), "Extra inputs"),
    (("pattern: '", "pattern: '(unclosed"), "does not compile"),
])
def test_malformed_rule_files_name_file_and_field(tmp_path: Path, mutation: tuple[str, str], message: str) -> None:
    body = GOOD_RULE.format(a="q1w2e3r4t5y6u7i8o9p0", neg1="'nothing'").replace(*mutation)
    with pytest.raises(RuleError, match=message) as info:
        load_rule_file(_write(tmp_path, body))
    assert "custom.yml" in str(info.value)


def test_unknown_check_is_a_rule_error(tmp_path: Path) -> None:
    body = GOOD_RULE.format(a="q1w2e3r4t5y6u7i8o9p0", neg1="'nothing'").replace(
        "keywords: [acme_]", "keywords: [acme_]\n    checks: [no_such_check]")
    problems = check_rules(load_rule_file(_write(tmp_path, body)))
    assert problems and "unknown check" in problems[0].message
