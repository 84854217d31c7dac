"""Confirmation gates: a hot rule's pattern in Hyperscan rules out windows before its regex runs (issue 13)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import hyperscan
import pytest

from tokenward.engine import Matcher
from tokenward.rules import gates
from tokenward.rules.compile import CompiledRule, compile_rules
from tokenward.rules.gates import Gate
from tokenward.rules.spec import load_rules


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOKENWARD_COMPILED_CACHE", str(tmp_path))
    return tmp_path


def _ready(pattern: str) -> Gate:
    gate = Gate(pattern)
    gate.timed(-1e9)  # as if the rule had spent ages confirming: built now
    return gate


def test_a_gate_reads_the_byte_before_its_window_as_the_regex_does(own_cache: Path) -> None:
    pattern = r"\bkey_[a-z]{4}\b"
    gate, regex = _ready(pattern), re.compile(pattern.encode())
    data = b"xkey_abcd key_efgh"
    for lo, hi in [(0, 10), (1, 10), (2, 18), (10, 18), (11, 18), (0, 17)]:
        if list(regex.finditer(data, lo, hi)):
            assert gate.may_match(data, lo, hi), (lo, hi)  # never hides a match
    assert not gate.may_match(data, 1, 10)  # `x` before `key_abcd`: no word start there, for either
    assert not gate.may_match(data, 0, 17)  # the window ends inside `key_efgh`, as the regex's does


def test_built_once_then_loaded_from_the_cache(own_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _ready(r"acme_[0-9a-f]{32}").ready
    assert [p.name for p in own_cache.glob("gate-*")]

    class NoCompile:
        def compile(self, **_kwargs: object) -> None:
            raise AssertionError("compiled again")

    monkeypatch.setattr(gates.hyperscan, "Database", NoCompile)
    assert _ready(r"acme_[0-9a-f]{32}").ready
    later = Gate(r"acme_[0-9a-f]{32}")  # another process, another run: ready from its first window
    assert later.ready and later.spent == 0
    unknown = Gate(r"other_[0-9a-f]{32}")
    assert not unknown.ready and not unknown.built  # still built once hot


def test_a_pattern_hyperscan_cannot_take_has_no_gate_and_the_regex_still_decides(
        monkeypatch: pytest.MonkeyPatch) -> None:
    class Refuses:
        def compile(self, **_kwargs: object) -> None:
            raise hyperscan.error("refused")

    ruleset = compile_rules(load_rules())
    monkeypatch.setattr(gates.diskcache, "read", lambda _name: None)
    monkeypatch.setattr(gates.hyperscan, "Database", Refuses)
    gate = _ready(r"acme_[0-9a-f]{32}")
    assert gate.built and not gate.ready
    monkeypatch.setattr(gates, "HOT_SECONDS", 0.0)
    token = "sk_" + "".join(random.choice("0123456789abcdef") for _ in range(48))
    found = Matcher(ruleset).scan(f"ELEVENLABS_API_KEY={token}\n".encode())
    assert [m.rule.spec.id for m in found] == ["elevenlabs.api-key"]


def test_a_rule_is_hot_only_after_spending_enough(own_cache: Path) -> None:
    gate = Gate(r"acme_[0-9a-f]{32}")
    gate.spent = gates.HOT_SECONDS / 2
    gate.timed(float("inf"))  # no time since "started": not hot yet
    assert not gate.built


def _noisy(lines: list[str], rng: random.Random) -> bytes:
    noise = ["x = 1", "# config below", "", "token = get_token()", "key: value", "api_key = os.environ['KEY']"]
    out: list[str] = []
    for line in lines:
        out += rng.sample(noise, 2)
        out.append(f"{rng.choice(['', '  ', 'a;'])}{line}{rng.choice(['', ' ', ';'])}")
    return "\n".join(out).encode()


def test_gates_change_no_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sample of the built-in rules that get gates (keyword-gated, stand-ins, lookarounds), every gate
    built from the first window: the same matches at the same offsets as without gates."""
    specs = load_rules()
    ruleset = compile_rules(specs)
    gated = [s for s in specs if ruleset.by_id()[s.id].gate is not None]
    sample = gated[::12] + [s for s in gated if s.prefilter_pattern or "(?<" in s.pattern][:20]
    rng = random.Random(11)
    texts = [_noisy([*s.examples, *s.negative_examples], rng) for s in sample]
    texts.append(_noisy([e for s in sample for e in s.examples], rng))

    def scan_all() -> list[list[tuple[str, int, int]]]:
        matcher = Matcher(ruleset)
        return [[(m.rule.spec.id, m.start, m.end) for m in matcher.scan(t)] for t in texts]

    monkeypatch.setattr(gates, "HOT_SECONDS", 0.0)
    with_gates = scan_all()
    built = [ruleset.by_id()[s.id].gate for s in sample]
    assert sum(1 for g in built if g is not None and g.ready) > len(sample) // 2
    monkeypatch.setattr(CompiledRule, "gate", property(lambda _self: None))
    assert with_gates == scan_all()
    assert sum(map(len, with_gates)) >= len(sample)
