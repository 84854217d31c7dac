"""Providers described as data: one request template, the documented success shape and rejection shapes.

Templates name the plaintext `{token}` and a public id found next to it `{id}` (an AWS key id, a Twilio
SID); `derive` adds values computed from the token (a Mailchimp data centre, a SendGrid key id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tokenward.verify.evidence import MISSING, Shape, dig, judge, scopes_of, text_of
from tokenward.verify.interface import Call, Credential, Example, Examples, Failure, Http, Reply, Revocation, Verdict

Pairs = tuple[tuple[str, str], ...]
Derive = Callable[[Credential], dict[str, str]]
BEARER: Pairs = (("Authorization", "Bearer {token}"),)
JSON_ACCEPT: Pairs = (("Accept", "application/json"),)


def header(name: str, value: str = "{token}") -> Pairs:
    """A one-header auth template."""
    return ((name, value),)


def render(text: str, values: dict[str, str]) -> str:
    """Replace {name} placeholders (plain replace: JSON/GraphQL braces stay as they are)."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _deep(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return render(value, values)
    if isinstance(value, dict):
        return {k: _deep(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v, values) for v in value]
    return value


@dataclass(frozen=True)
class Request:
    """A request template."""

    method: str
    path: str
    headers: Pairs = ()
    params: Pairs = ()
    json: Any = None
    form: Pairs = ()
    basic: tuple[str, str] | None = None
    body: str | None = None

    def call(self, values: dict[str, str]) -> Call:
        """The concrete Call for these values."""
        def pairs(items: Pairs) -> Pairs:
            return tuple((k, render(v, values)) for k, v in items)

        basic = (render(self.basic[0], values), render(self.basic[1], values)) if self.basic else None
        return Call(self.method, render(self.path, values), pairs(self.headers), pairs(self.params),
                    _deep(self.json, values), pairs(self.form), basic,
                    render(self.body, values) if self.body is not None else None)


def values_of(cred: Credential, derive: Derive | None) -> dict[str, str]:
    """Template values: token, id, and derived ones."""
    values = {"token": cred.secret, "id": cred.public("id") or ""}
    if derive is not None:
        values.update(derive(cred))
    return values


def _other_kind(cred: Credential, only: tuple[str, ...]) -> str | None:
    if only and not cred.secret.startswith(only):
        return f"only {', '.join(only)}… tokens of this rule can be checked through the API"
    return None


def _missing(cred: Credential, needs: tuple[str, ...]) -> str | None:
    lacking = [n for n in needs if not cred.public(n)]
    return f"needs the {', '.join(lacking)} found with the token, and none was recorded" if lacking else None


@dataclass(frozen=True)
class Api:
    """A verifier described as data (see the module docstring)."""

    provider: str
    rule_ids: tuple[str, ...]
    base_url: str
    request: Request
    live: Shape
    invalid: tuple[Shape, ...]
    identity: tuple[str, ...] = ()  # dotted paths naming whom the token acts as (those present, joined)
    scopes: str | None = None  # dotted path of the granted scopes
    scopes_header: str | None = None
    expires: str | None = None
    expires_header: str | None = None
    regional: str | None = None  # why a rejection here does not prove the token invalid
    derive: Derive | None = None
    needs: tuple[str, ...] = ()
    docs: str = ""
    denied: tuple[Shape, ...] = ()  # documented "authenticated, but not allowed here": live
    only: tuple[str, ...] = ()  # token prefixes this endpoint accepts (others of the rule cannot be checked)
    live_example: Any = None  # a documented body, when the shape's sample would be too thin
    live_headers: Pairs = ()

    def base(self, cred: Credential) -> str:
        """The base URL for this credential (some hosts depend on the token, e.g. a data centre)."""
        return render(self.base_url, values_of(cred, self.derive))

    def verify(self, cred: Credential, http: Http) -> Verdict:
        """Send the request; judge the answer by the documented shapes; read identity and scopes."""
        lacking = _missing(cred, self.needs) or _other_kind(cred, self.only)
        if lacking:
            return Verdict("unknown", lacking)
        call = self.request.call(values_of(cred, self.derive))
        answer = http.send(call)
        status, reason = judge(answer, self.live, self.invalid, self.regional, self.denied)
        evidence = _evidence(call.redacted(cred.secret), answer)
        if status != "live" or not isinstance(answer, Reply):
            return Verdict(status, reason, evidence=evidence)
        return self._details(answer, reason, evidence)

    def _details(self, answer: Reply, reason: str, evidence: str) -> Verdict:
        data = answer.json()
        found = [text_of(dig(data, p)) for p in self.identity]
        who = " / ".join(dict.fromkeys(f for f in found if f)) or None
        scopes = scopes_of(dig(data, self.scopes)) if self.scopes else ()
        if self.scopes_header and self.scopes_header in answer.headers:
            scopes = scopes_of(answer.headers[self.scopes_header])
        expires = text_of(dig(data, self.expires)) if self.expires else None
        if self.expires_header:
            expires = answer.headers.get(self.expires_header) or expires
        return Verdict("live", reason, who, scopes, expires, evidence)

    def examples(self) -> Examples:
        """The documented success and rejection, as the fake server replays them."""
        req = self.request
        path = req.path.split("{", 1)[0] or "/"
        body = self.live_example if self.live_example is not None else self.live.sample()
        live = Example(req.method, path, self.live.status[0], body, self.live_headers)
        bad = tuple(Example(req.method, path, s.status[0], s.sample(), _sample_header(s)) for s in self.invalid)
        return Examples((live,), bad)


def _sample_header(shape: Shape) -> Pairs:
    return ((shape.header[0], shape.header[1]),) if shape.header else ()


def _evidence(call: Call, answer: Reply | Failure) -> str:
    """'GET /v1/models -> HTTP 200 application/json' (the call is already redacted)."""
    target = call.path.split("?", 1)[0]
    if isinstance(answer, Failure):
        return f"{call.method} {target} -> {answer.reason}"
    return f"{call.method} {target} -> HTTP {answer.status} {answer.content_type or '(no content type)'}"


@dataclass(frozen=True)
class Step:
    """One request of a revocation; `capture` reads values (an id) for the next steps."""

    request: Request
    done: Shape
    capture: tuple[tuple[str, str], ...] = ()  # (template name, dotted path in the JSON answer)


@dataclass(frozen=True)
class RevokeApi:
    """A revoker described as data: one or more steps, each with its documented success answer."""

    provider: str
    rule_ids: tuple[str, ...]
    base_url: str
    steps: tuple[Step, ...]
    derive: Derive | None = None
    needs: tuple[str, ...] = ()
    docs: str = ""
    only: tuple[str, ...] = ()
    samples: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # captured values the fake returns

    def base(self, cred: Credential) -> str:
        """The base URL for this credential."""
        return render(self.base_url, values_of(cred, self.derive))

    def calls(self, cred: Credential) -> tuple[Call, ...]:
        """Every request, with captured values shown as <name> (they are known only while revoking)."""
        values = values_of(cred, self.derive)
        for step in self.steps:
            values.update({name: f"<{name}>" for name, _ in step.capture})
        return tuple(s.request.call(values) for s in self.steps)

    def revoke(self, cred: Credential, http: Http) -> Revocation:
        """Run the steps in order; done only when the last one gets its documented success answer."""
        lacking = _missing(cred, self.needs) or _other_kind(cred, self.only)
        if lacking:
            return Revocation(False, lacking)
        values = values_of(cred, self.derive)
        trail: list[str] = []
        for step in self.steps:
            call = step.request.call(values)
            answer = http.send(call)
            trail.append(_evidence(call.redacted(cred.secret), answer))
            if isinstance(answer, Failure) or not step.done.matches(answer):
                why = answer.reason if isinstance(answer, Failure) else _refusal(answer)
                return Revocation(False, why, "; ".join(trail))
            for name, path in step.capture:
                found = text_of(dig(answer.json(), path))
                if found is None:
                    return Revocation(False, f"the answer has no {path}", "; ".join(trail))
                values[name] = found
        return Revocation(True, "the provider confirmed the revocation", "; ".join(trail))

    def examples(self) -> Examples:
        """Each step's documented success; the first step refused (401 JSON) as the failure."""
        live = []
        for step in self.steps:
            body = step.done.sample()
            if isinstance(body, dict):
                for name, path in step.capture:
                    _set(body, path, dict(self.samples).get(name, "id-1"))
            req = step.request
            live.append(Example(req.method, req.path.split("{", 1)[0] or "/", step.done.status[0],
                                body if body else None))
        first = self.steps[0].request
        return Examples(tuple(live), (Example(first.method, first.path.split("{", 1)[0] or "/", 401,
                                              {"error": "unauthorized"}),))


def _set(body: dict[str, Any], path: str, value: str) -> None:
    node = body
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _refusal(answer: Reply) -> str:
    if answer.status in (401, 403) and not answer.html:
        return f"the provider refused (HTTP {answer.status}): the token is invalid or may not revoke itself"
    if 300 <= answer.status < 400:
        return f"redirect (HTTP {answer.status}) not followed"
    return f"no documented success answer (HTTP {answer.status})"


__all__ = ["BEARER", "JSON_ACCEPT", "MISSING", "Api", "Request", "RevokeApi", "Shape", "Step", "header"]
