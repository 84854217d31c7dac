"""Hypothesis against the served OpenAPI document: every operation, with inputs drawn from its parameter
schemas (and arbitrary text), never answers 500, always answers what its schema says, and refuses anonymous
callers with 401 (only /api/health is open)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.web_site import Site

pytest_plugins = ["tests.conftest_pg", "tests.web_fixtures"]
SQLITE_ONLY = pytest.mark.parametrize("served", ["sqlite"], indirect=True)  # the API code is the same on both
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)


@pytest.fixture
def spec(served: Site) -> dict[str, Any]:
    """The served OpenAPI document."""
    with served.client() as c:
        found: dict[str, Any] = c.get("/openapi.json").json()
    return found


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _value(schema: dict[str, Any], spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema allows, plus arbitrary text (the server must reject that cleanly, never crash)."""
    schema = _resolve(schema, spec)
    if "anyOf" in schema:
        return st.one_of([_value(s, spec) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), TEXT)
    if schema.get("type") == "integer":
        low, high = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31)
        return st.one_of(st.integers(low, high), st.integers(), TEXT)
    if schema.get("type") == "object":
        props = {k: _value(v, spec) for k, v in schema.get("properties", {}).items()}
        return st.fixed_dictionaries({}, optional=props) | st.dictionaries(TEXT, TEXT, max_size=3)
    if "pattern" in schema:
        return st.one_of(st.from_regex(schema["pattern"], fullmatch=True), TEXT)
    return st.one_of(TEXT, st.just(None)) if schema.get("type") == "null" else TEXT


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in sorted(spec["paths"].items()) for method, op in sorted(ops.items())]


def _request(data: st.DataObject, spec: dict[str, Any], method: str, path: str, op: dict[str, Any]
             ) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {}
    for p in op.get("parameters", []):
        if p["in"] == "path":
            value = data.draw(_value(p["schema"], spec).filter(lambda v: isinstance(v, str) and v.strip("./")))
            path = path.replace("{" + p["name"] + "}", quote(value, safe=""))
        elif p["in"] == "query" and (p.get("required") or data.draw(st.booleans())):
            params[p["name"]] = data.draw(_value(p["schema"], spec))
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    extra = {"json": data.draw(_value(body, spec))} if body else {}
    return path, {"params": {k: v for k, v in params.items() if v is not None}, **extra}


@SQLITE_ONLY
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow])
@given(data=st.data())
def test_no_operation_fails_or_breaks_its_schema(served: Site, spec: dict[str, Any], data: st.DataObject) -> None:
    method, path, op = data.draw(st.sampled_from(_operations(spec)))
    url, kwargs = _request(data, spec, method, path, op)
    with served.client(data.draw(st.sampled_from(["admin", "rita", None]))) as c:
        got = c.request(method, url, **kwargs)
        anonymous = "authorization" not in c.headers
    assert got.status_code < 500, (method, url, kwargs, got.text[:300])
    if anonymous and path != "/api/health":
        assert got.status_code in (401, 404), (method, url)  # 404: a path no route matches
    if got.status_code == 200:
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        Draft202012Validator({**schema, "components": spec["components"]}).validate(got.json())


NEW_OPERATIONS = ("/verify", "/revoke", "/rotate", "/usage", "/violations", "/owners")


@SQLITE_ONLY
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(data=st.data())
def test_action_and_review_operations_never_fail(served: Site, spec: dict[str, Any], data: st.DataObject) -> None:
    """The same properties, drawn from the actions (verify, revoke, rotate) and the usage/violation reads only,
    with every role: refused (401/403), rejected (400/404/409/422) or answered by the schema, never a 500."""
    ops = [o for o in _operations(spec) if o[1].endswith(NEW_OPERATIONS)]
    assert len(ops) == 7
    method, path, op = data.draw(st.sampled_from(ops))
    url, kwargs = _request(data, spec, method, path, op)
    with served.client(data.draw(st.sampled_from(["admin", "tina", "rita", None]))) as c:
        got = c.request(method, url, **kwargs)
    assert got.status_code < 500, (method, url, kwargs, got.text[:300])
    if got.status_code == 200:
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        Draft202012Validator({**schema, "components": spec["components"]}).validate(got.json())
