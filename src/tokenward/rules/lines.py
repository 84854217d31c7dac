"""Which rule patterns stay on one line: the confirmation window of their hits can stop at the line.

The matcher confirms a Hyperscan hit by running the rule's Python regex over a window around the hit
(engine._windows): for a whole-pattern rule, from the longest match the regex can make before the hit's
end to a margin after it. Python's `re` tries every start position of that window, and a generic rule
such as `(?i)\\b[\\w./-]{0,40}?(?:credentials?|creds?|auth)…` costs tens of steps at each: on git/git's
history these windows were a quarter of the scan's CPU. A pattern that cannot match a newline, except
as its first or last character (`(?:^|[\\s"'])--?…` or `…(?:["'\\s]|$)`), only matches within the line
of its hit, its newlines included, so its window can start at the newline before the hit and end at
the newline after it. This module decides that from the pattern's parse tree, conservatively: any
construct it does not know makes the pattern "may span lines".
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

NEWLINE = 10
_SPACE_LIKE = ("CATEGORY_SPACE", "CATEGORY_NOT_DIGIT", "CATEGORY_NOT_WORD", "CATEGORY_LINEBREAK",
               "CATEGORY_UNI_SPACE", "CATEGORY_UNI_NOT_DIGIT", "CATEGORY_UNI_NOT_WORD", "CATEGORY_UNI_LINEBREAK",
               "CATEGORY_LOC_NOT_WORD")
_NO_NEWLINE = ("CATEGORY_NOT_SPACE", "CATEGORY_DIGIT", "CATEGORY_WORD", "CATEGORY_NOT_LINEBREAK",
               "CATEGORY_UNI_NOT_SPACE", "CATEGORY_UNI_DIGIT", "CATEGORY_UNI_WORD", "CATEGORY_UNI_NOT_LINEBREAK",
               "CATEGORY_LOC_WORD")
_ZERO_WIDTH = ("AT", "ASSERT", "ASSERT_NOT")


@functools.cache
def _sre() -> tuple[Any, Any]:
    # re._parser / re._constants: the stdlib's own parse of the pattern the engine runs (as pattern_width does)
    return importlib.import_module("re._parser"), importlib.import_module("re._constants")


def _name(op: Any) -> str:
    return str(op)


def _class_has_newline(items: list[tuple[Any, Any]]) -> bool:
    """Whether a character class [...] (parsed items) admits b'\\n'."""
    negate, has = False, False
    for op, av in items:
        name = _name(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            has = has or av == NEWLINE
        elif name == "RANGE":
            has = has or av[0] <= NEWLINE <= av[1]
        elif name == "CATEGORY":
            if _name(av) in _SPACE_LIKE:
                has = True
            elif _name(av) not in _NO_NEWLINE:
                return True  # a category not known here: assume the worst
        else:
            return True
    return has != negate


def may_newline(items: Any, dotall: bool) -> bool:
    """Whether a parsed (sub)pattern can consume a newline anywhere; True for anything not understood."""
    for op, av in items:
        name = _name(op)
        if name == "LITERAL":
            found = av == NEWLINE
        elif name == "NOT_LITERAL":
            found = av != NEWLINE
        elif name == "IN":
            found = _class_has_newline(av)
        elif name == "ANY":
            found = dotall
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            found = av[1] > 0 and may_newline(av[2], dotall)
        elif name == "SUBPATTERN":
            found = may_newline(av[3], _dotall(dotall, av[1], av[2]))
        elif name == "ATOMIC_GROUP":
            found = may_newline(av, dotall)
        elif name == "BRANCH":
            found = any(may_newline(branch, dotall) for branch in av[1])
        elif name in _ZERO_WIDTH:
            found = False  # consumes nothing: looks around, but the window keeps its context (see lines_of)
        else:
            return True  # back-references, conditionals, anything new: assume the worst
        if found:
            return True
    return False


def _dotall(dotall: bool, add: int, remove: int) -> bool:
    flag = int(_sre()[1].SRE_FLAG_DOTALL)
    return (dotall or bool(add & flag)) and not remove & flag


def _looks_ahead(items: Any) -> bool:
    """Whether a lookahead appears anywhere in the parsed pattern (it may read past the match's end)."""
    for op, av in items:
        name = _name(op)
        if name in ("ASSERT", "ASSERT_NOT") and av[0] >= 0:
            return True
        subs: list[Any] = []
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            subs = [av[2]]
        elif name == "SUBPATTERN":
            subs = [av[3]]
        elif name == "ATOMIC_GROUP":
            subs = [av]
        elif name == "BRANCH":
            subs = list(av[1])
        elif name in ("ASSERT", "ASSERT_NOT"):
            subs = [av[1]]
        if any(_looks_ahead(sub) for sub in subs):
            return True
    return False


@functools.cache
def line_shape(pattern: str) -> tuple[bool, bool]:
    """(stays on its line, looks ahead) for a rule pattern: the first is True when no match can hold a
    newline except as its first or last character (each of those items one character wide at most)."""
    parser, _constants = _sre()
    try:
        parsed = parser.parse(pattern.encode().decode("latin-1"))
    except Exception:  # a pattern Python rejects never reaches the matcher; be safe anyway
        return False, True
    dotall = bool(parsed.state.flags & int(_constants.SRE_FLAG_DOTALL))
    consuming = [i for i, (op, _av) in enumerate(parsed.data) if _name(op) not in _ZERO_WIDTH]
    if not consuming:
        return False, True
    ends = {consuming[0], consuming[-1]}
    for i, item in enumerate(parsed.data):
        if not may_newline([item], dotall):
            continue
        if i not in ends or parser.SubPattern(parsed.state, [item]).getwidth()[1] > 1:
            return False, _looks_ahead(parsed.data)
    return True, _looks_ahead(parsed.data)
