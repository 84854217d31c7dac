"""The live-source plumbing: target URLs, the auth file, retries and their bounds, pagination, unknown schemes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.live_servers import FakeApi, Reply, Request, run_scan
from tokenward.errors import ConfigError
from tokenward.sources.live import is_live_target, open_target
from tokenward.sources.live.interface import (
    HttpPolicy,
    LiveError,
    LiveOptions,
    http_client,
    paginate,
    parse_target,
    read_auth_file,
    retry_after,
)


def test_targets() -> None:
    t = parse_target("slack://acme?channels=general,%23random&channels=C0X")
    assert (t.scheme, t.host, t.items("channels")) == ("slack", "acme", ["general", "#random", "C0X"])
    assert parse_target("s3://bucket/a/b/?versions=1").flag("versions", False)
    assert is_live_target("github://acme") and not is_live_target("./dir") and not is_live_target("-")
    with pytest.raises(ConfigError, match="never taken from the command line"):
        parse_target("jira://me:secret@site")
    with pytest.raises(ConfigError, match="not a supported target"):
        open_target("ftp://host/x", LiveOptions())
    with pytest.raises(ConfigError, match="not a supported target"):
        open_target("https://example.com/acme", LiveOptions())


def test_auth_file(tmp_path: Path) -> None:
    path = tmp_path / "auth"
    path.write_text("# comment\nexport A_TOKEN=\"one\"\nB=two=three\n\n")
    path.chmod(0o600)
    assert read_auth_file(path) == {"A_TOKEN": "one", "B": "two=three"}
    path.write_text("not a pair with value-secret\n")
    with pytest.raises(ConfigError, match=r"auth:1: expected NAME=value") as err:
        read_auth_file(path)
    assert "value-secret" not in str(err.value)


def _api(handle: object, **policy: float) -> tuple[FakeApi, object]:
    server = FakeApi(handle)  # type: ignore[arg-type]
    options = LiveOptions(http=HttpPolicy(timeout=5, retries=2, backoff=0.01, **policy))  # type: ignore[arg-type]
    return server, http_client("Fake", server.url, options)


def test_retries_are_bounded_and_retry_after_is_capped() -> None:
    calls: list[str] = []

    def always_busy(req: Request) -> Reply:
        calls.append(req.path)
        return Reply(503 if req.path == "/busy" else 429, {}, {"Retry-After": "0" if req.path == "/busy" else "3600"})

    server, api = _api(always_busy, max_wait=5)
    try:
        with pytest.raises(LiveError, match="HTTP 503"):
            api.json("/busy")  # type: ignore[attr-defined]
        assert calls.count("/busy") == 3  # first try + 2 retries
        with pytest.raises(LiveError, match="asks to wait 3600s"):
            api.json("/later")  # type: ignore[attr-defined]
        assert calls.count("/later") == 1
    finally:
        server.close()


def test_malformed_json_and_transport_errors() -> None:
    server, api = _api(lambda req: Reply(raw=b"{not json"))
    try:
        with pytest.raises(LiveError, match="malformed JSON"):
            api.json("/x")  # type: ignore[attr-defined]
    finally:
        server.close()
    dead = http_client("Dead", "http://127.0.0.1:9", LiveOptions(http=HttpPolicy(timeout=1, retries=1, backoff=0.01)))
    with pytest.raises(LiveError, match="unreachable after 2 attempts"):
        dead.json("/")


def test_retry_after_forms() -> None:
    def response(headers: dict[str, str]) -> httpx.Response:
        return httpx.Response(429, headers=headers)

    assert retry_after(response({"Retry-After": "7"})) == 7
    assert retry_after(response({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), now=1445412470) == 10
    assert retry_after(response({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000"}), now=990) == 10
    assert retry_after(response({})) is None


def test_paginate_stops_on_a_repeated_cursor() -> None:
    pages = {None: ([1, 2], "a"), "a": ([3], "b"), "b": ([4], "a")}
    assert list(paginate(lambda c: pages[c])) == [1, 2, 3, 4]


def test_unknown_scheme_is_a_usage_error(tmp_path: Path) -> None:
    code, _, output = run_scan(["gopher://host/x", "--no-db"], tmp_path / "r.json")
    assert code == 2 and "not a supported target" in output
