"""One-line patterns confirm on their hit's line only (rules/lines.py, engine._line_windows; issue 13)."""

from __future__ import annotations

import random

import pytest

from tokenward.engine import Matcher, _line_windows, _windows
from tokenward.rules.compile import CompiledRule, compile_rules
from tokenward.rules.lines import line_shape
from tokenward.rules.spec import load_rules


@pytest.mark.parametrize(("pattern", "one_line"), [
    (r"(?i)\bkey[ \t]{0,3}=[ \t]{0,3}(?P<secret>[^\s\"']{8,64})", True),
    (r"(?:^|[\s\"'])--?pass(?:[ \t]{1,3}|=)(?P<secret>[^\s]{8,200})(?:[\"'\s]|$)", True),  # edge newlines only
    (r"key\s{0,4}=\s{0,4}(?P<secret>\w{8})", False),  # \s in the middle: `key\n=\nvalue`
    (r"key=(?P<secret>[\s\S]{8})", False),
    (r"key=(?P<secret>.{8})", True),  # `.` stops at a newline
    (r"(?s)key=(?P<secret>.{8})", False),
    (r"key=(?s:.)x", False),
    (r"key=(?P<secret>[^a]{8})x", False),  # a negated class admits the newline
    (r"key=\D{8}x", False),
    (r"key=\W{8}x", False),
    (r"key=(?P<v>\w+)-(?P=v)x", False),  # a back-reference: not understood, so "may span lines"
    (r"(?m)^[ \t]*env[ \t]{1,4}(?P<secret>\w{8,})$", True),
    (r"key=(?P<secret>\w{8})(?:\r?\n|$)", False),  # two characters at the end
    (r"\nkey=(?P<secret>\w{8})\n", True),
])
def test_which_patterns_stay_on_one_line(pattern: str, one_line: bool) -> None:
    assert line_shape(pattern)[0] is one_line


def test_lookaheads_are_noticed_wherever_they_are() -> None:
    assert line_shape(r"key=(?P<secret>\w{8})(?![\w-])")[1]
    assert line_shape(r"(?:a|b(?=c))key=\w{8}")[1]
    assert not line_shape(r"(?<![\w-])key=\w{8}")[1]  # a lookbehind reads before the match: the window keeps it


def test_a_window_stops_at_the_lines_around_its_hit() -> None:
    data = b"first line of noise\nsecond key=value here\nthird line\n"
    end = data.index(b"value") + 5
    [(lo, hi)] = _line_windows(data, [end], 200, lookahead=False)
    assert (lo, hi) == (data.index(b"\nsecond"), data.index(b"\nthird") + 1)
    [(lo, hi)] = _line_windows(data, [end], 200, lookahead=True)  # a lookahead keeps a margin past the newline
    assert hi == len(data)
    long = b"x\n" + b"y" * 300 + b" key=value\n"  # a line longer than the window: the width bound stays
    end = len(long) - 1
    assert _line_windows(long, [end], 4, lookahead=False)[0][0] == _windows([end], 4, len(long), 0)[0][0] > 2


def _noisy(lines: list[str], rng: random.Random) -> bytes:
    """The lines between lines of noise that look like code, sometimes with CRLF or two examples adjacent."""
    noise = ["x = 1", "    return self.password_hash(value)", "# token handling below", "", "\t", "--verbose",
             "password:", "export PATH=/usr/bin", "secret_key = None", "auth = get('auth')"]
    out: list[str] = []
    for line in lines:
        out += rng.sample(noise, 3)
        out.append(f"{rng.choice(['', '  ', 'foo; '])}{line}{rng.choice(['', ' ', ';', ' # x'])}")
    return (rng.choice(["\n", "\r\n"])).join(out).encode()


def test_every_one_line_rule_finds_what_the_whole_window_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in rules' examples and counter-examples, among lines of noise: the same matches, at the same
    offsets, with line windows as with the old windows around every hit."""
    specs = load_rules()
    ruleset = compile_rules(specs)
    one_line = [s for s in specs if not s.gated and ruleset.by_id()[s.id].one_line]
    assert len(one_line) > 50  # the generic, structural and most whole-pattern provider rules
    rng = random.Random(7)
    texts = [_noisy([*s.examples, *s.negative_examples], rng) for s in one_line]
    texts.append(_noisy([e for s in one_line for e in s.examples], rng))

    def scan_all() -> list[list[tuple[str, int, int]]]:
        matcher = Matcher(compile_rules(specs))
        return [[(m.rule.spec.id, m.start, m.end) for m in matcher.scan(t)] for t in texts]

    lined = scan_all()
    monkeypatch.setattr(CompiledRule, "one_line", property(lambda _self: False))
    assert lined == scan_all()
    assert sum(map(len, lined)) > len(one_line)  # the examples were found, not only nothing both ways
