"""Peer coverage: every provider that two or more peer scanners detect is covered by a rule or is
listed in docs/coverage.md as deliberately out of scope, with a reason."""

from __future__ import annotations

import re

from tests.conftest import DATA, REPO
from tokenward.rules.spec import load_rules

MIN_COVERED = 600


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _checklist() -> list[str]:
    lines = (DATA / "peer-providers.tsv").read_text().splitlines()
    return [line.split("\t")[0] for line in lines if line and not line.startswith(("#", "provider\t"))]


def _covered() -> set[str]:
    return {_norm(n) for spec in load_rules() for n in (spec.provider, *spec.aliases)}


def _out_of_scope() -> dict[str, str]:
    text = (REPO / "docs" / "coverage.md").read_text()
    section = text.split("## Out of scope", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `?([^|`]+?)`? \| ([^|]+?) \|$", section, re.M)
    return {_norm(name): reason.strip() for name, reason in rows if name.strip() not in ("provider", "---")}


def test_every_checklist_row_is_covered_or_justified() -> None:
    covered, excused = _covered(), _out_of_scope()
    neither = [row for row in _checklist() if _norm(row) not in covered and _norm(row) not in excused]
    assert neither == [], f"{len(neither)} checklist rows have no rule and no reason: {neither}"


def test_out_of_scope_rows_have_reasons_and_no_rule() -> None:
    covered, excused = _covered(), _out_of_scope()
    assert all(len(reason) > 10 for reason in excused.values())
    assert sorted(n for n in excused if n in covered) == []
    rows = {_norm(r) for r in _checklist()}
    assert sorted(n for n in excused if n not in rows) == []


def test_most_rows_are_covered_by_a_rule() -> None:
    covered = _covered()
    assert sum(1 for row in _checklist() if _norm(row) in covered) >= MIN_COVERED
