"""The confirmation window of every rule comes from its parsed width, measured once and kept in the rule cache."""

from __future__ import annotations

import importlib

from tokenward.rules.compile import compile_rule
from tokenward.rules.model import MAX_WINDOW
from tokenward.rules.spec import load_rules


def _parsed_width(pattern: str) -> int:
    parser = importlib.import_module("re._parser")
    return min(int(parser.parse(pattern.encode().decode("latin-1")).getwidth()[1]), MAX_WINDOW)


def test_every_builtin_rule_carries_its_width() -> None:
    specs = load_rules()
    assert len(specs) > 1000
    for spec in specs:
        assert spec.max_width == _parsed_width(spec.pattern) > 0, spec.id
        assert compile_rule(spec).window == spec.max_width


def test_a_spec_without_a_measured_width_measures_it() -> None:
    from dataclasses import replace

    spec = replace(load_rules()[0], max_width=0)
    assert compile_rule(spec).window == _parsed_width(spec.pattern)
