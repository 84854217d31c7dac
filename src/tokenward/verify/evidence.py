"""The evidence rule: `live` only on the documented success with its body shape, `invalid` only on the
documented rejection with the provider's own error body, `unknown` (with why) for anything else."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tokenward.verify.interface import Failure, Reply, Status

MISSING = object()


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path ("error.code", "errors.0.message"); MISSING when absent."""
    node = data
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


@dataclass(frozen=True)
class Shape:
    """A documented answer: status codes plus what the body (or a header) must hold.

    With neither `text` nor `header`, the body must be a JSON object (or array) holding every `keys`
    path and every `equals` value (a tuple value means any of them).
    """

    status: tuple[int, ...]
    keys: tuple[str, ...] = ()
    equals: tuple[tuple[str, Any], ...] = ()
    text: str | None = None  # a plain-text answer: this substring, not HTML ("" = any non-HTML body)
    header: tuple[str, str] | None = None  # (lower-case name, substring) e.g. a WWW-Authenticate error

    def matches(self, reply: Reply) -> bool:
        """True when reply is this documented answer."""
        if reply.status not in self.status:
            return False
        if self.header is not None:
            return self.header[1] in reply.headers.get(self.header[0], "")
        if self.text is not None:
            return not reply.html and self.text.encode() in reply.body
        data = reply.json()
        if not isinstance(data, dict | list) or reply.html:
            return False
        return all(dig(data, k) is not MISSING for k in self.keys) and all(
            _equal(dig(data, k), v) for k, v in self.equals)

    def sample(self) -> Any:
        """A body that satisfies the shape (the tests' fake server replays it)."""
        if self.text is not None:
            return self.text
        body: dict[str, Any] = {}
        for key, value in ((k, "x") for k in self.keys):
            _put(body, key, value)
        for key, value in self.equals:
            _put(body, key, value[0] if isinstance(value, tuple) else value)
        return body


def _equal(found: Any, want: Any) -> bool:
    if isinstance(want, tuple):
        return any(_equal(found, w) for w in want)
    if isinstance(found, list) and not isinstance(want, list):
        return want in found  # "errors" lists: the documented message is one of them
    return bool(found == want)


def _put(body: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = body
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt = parts[i + 1] if not last else ""
        if isinstance(node, list):
            while len(node) <= int(part):
                node.append({} if not nxt.isdigit() else [])
            if last:
                node[int(part)] = value
            node = node[int(part)]
            continue
        if last:
            node[part] = value
        else:
            node = node.setdefault(part, [] if nxt.isdigit() else {})


def judge(answer: Reply | Failure, live: Shape, invalid: Iterable[Shape], regional: str | None = None,
          denied: Iterable[Shape] = ()) -> tuple[Status, str]:
    """Classify an answer. `regional` names what a rejection may mean instead (another region, instance);
    `denied` are the provider's documented "authenticated, but not allowed" answers (the token works)."""
    if isinstance(answer, Failure):
        return "unknown", answer.reason
    if 300 <= answer.status < 400:
        return "unknown", f"redirect (HTTP {answer.status}) not followed"
    if live.matches(answer):
        return "live", f"documented success (HTTP {answer.status})"
    if any(s.matches(answer) for s in denied):
        return "live", f"authenticated, but not allowed to read the probe (documented HTTP {answer.status})"
    if any(s.matches(answer) for s in invalid):
        if regional:
            return "unknown", f"rejected (HTTP {answer.status}), but {regional}"
        return "invalid", f"documented rejection (HTTP {answer.status})"
    return "unknown", unexpected(answer)


def unexpected(answer: Reply) -> str:
    """Why an answer proves nothing."""
    code = answer.status
    if code == 429:
        after = answer.headers.get("retry-after")
        return f"rate limited (HTTP 429{', Retry-After ' + after if after else ''})"
    if code >= 500:
        return f"provider error (HTTP {code})"
    if answer.html:
        return f"an HTML page (HTTP {code}), not the provider's API answer (WAF, proxy or login page?)"
    if answer.json() is not None:
        return f"unexpected JSON answer (HTTP {code})"
    return f"unexpected answer (HTTP {code}, {answer.content_type or 'no content type'})"


def text_of(value: Any) -> str | None:
    """A JSON value as short text for identity/expiry fields (None when absent)."""
    if value is MISSING or value is None or isinstance(value, dict | list):
        return None
    return str(value)[:200]


def scopes_of(value: Any) -> tuple[str, ...]:
    """Scopes from a JSON list, a comma/space separated string, or a {scope: true} mapping."""
    if value is MISSING or value is None:
        return ()
    if isinstance(value, dict):
        return tuple(sorted(str(k) for k, v in value.items() if v))
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str | int))[:200]
    return tuple(s for s in str(value).replace(",", " ").split() if s)[:200]
