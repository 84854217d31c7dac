"""postman://: a fake Postman API (429 + Retry-After, 5xx, malformed body, invalid key)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_servers import FakeApi, Once, Reply, Request, assert_no_plaintext, details, run_scan
from tests.tokens import TokenFactory

WS = "1f0df51a-8658-4ee8-a2a1-d2567dfa09a9"


class FakePostman:
    """Workspace WS: two collections, two environments, globals."""

    def __init__(self) -> None:
        self.key = "PMAK-" + secrets.token_hex(12)
        self.tokens = [TokenFactory(seed).github_classic() for seed in range(131, 136)]
        self.collections = {"c1": self._collection("Customer API", self.tokens[0], "2024-03-01T10:00:00.000Z"),
                            "c2": self._collection("Billing API", self.tokens[1], "2024-03-02T10:00:00.000Z")}
        self.environments = {"e1": ("prod", [{"key": "gh_token", "value": self.tokens[2], "type": "secret"}]),
                             "e2": ("staging", [])}
        self.globals = [{"key": "ci_token", "value": self.tokens[3], "type": "default", "enabled": True}]
        self.broken = False  # environment e2 answers a truncated body
        self.rate = Once(Reply(429, {"error": "rateLimited", "message": "Rate limit exceeded."}, {"Retry-After": "1"}))
        self.flaky = Once(Reply(502, raw=b"Bad Gateway"))
        self.api = FakeApi(self.handle)

    def _collection(self, name: str, token: str, updated: str) -> dict[str, Any]:
        request = {"method": "GET", "url": "https://api.github.com/user",
                   "header": [{"key": "Authorization", "value": f"token {token}"}]}
        return {"updatedAt": updated, "doc": {"info": {"name": name, "schema": "https://schema.getpostman.com/"
                                                                                "json/collection/v2.1.0/collection.json"},
                                               "item": [{"name": "whoami", "request": request}]}}

    def handle(self, req: Request) -> Reply:
        if req.headers.get("x-api-key") != self.key:
            return Reply(401, {"error": {"name": "AuthenticationError", "message": "Invalid API Key."}})
        p = req.path
        if failure := self.rate(p == "/collections") or self.flaky(p == "/collections/u-c2"):
            return failure
        if p == "/collections" and req.query["workspace"] == WS:
            listed = [{"id": c, "uid": f"u-{c}", "name": v["doc"]["info"]["name"], "updatedAt": v["updatedAt"]}
                      for c, v in self.collections.items()]
            offset, limit = int(req.query.get("offset") or 0), int(req.query.get("limit") or 100)
            return Reply(body={"collections": listed[offset:offset + limit]})
        if p.startswith("/collections/u-"):
            return Reply(body={"collection": self.collections[p.removeprefix("/collections/u-")]["doc"]})
        if p == "/environments":
            return Reply(body={"environments": [{"id": e, "uid": f"u-{e}", "name": n,
                                                 "updatedAt": "2024-03-01T00:00:00.000Z"}
                                                for e, (n, _) in self.environments.items()]})
        if p == "/environments/u-e2" and self.broken:
            return Reply(raw=b'{"environment": {"values": [')
        if p.startswith("/environments/u-"):
            name, values = self.environments[p.removeprefix("/environments/u-")]
            return Reply(body={"environment": {"name": name, "values": values}})
        if p == f"/workspaces/{WS}/global-variables":
            return Reply(body={"values": self.globals})
        return Reply(404, {"error": {"name": "instanceNotFoundError"}})


@pytest.fixture
def postman(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePostman]:
    fake = FakePostman()
    monkeypatch.setenv("TOKENWARD_POSTMAN_BASE_URL", fake.api.url)
    monkeypatch.setenv("POSTMAN_API_KEY", fake.key)
    yield fake
    fake.api.close()


def test_collections_environments_and_globals(postman: FakePostman, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tokenward.sources.live.postman.PAGE", 1)  # one collection per page: offsets are followed
    postman.broken = True
    db = tmp_path / "inv.db"
    code, report, output = run_scan([f"postman://{WS}", "--db", str(db)], tmp_path / "r.json")
    assert code == 1, output
    assert {f["preview"][-4:] for f in report["findings"]} == {t[-4:] for t in postman.tokens[:4]}
    found = details(report)
    assert any(d.get("collection") == "Billing API" and d.get("uid") == "u-c2" for d in found)
    assert any(d.get("environment") == "prod" for d in found) and any(d.get("part") == "globals" for d in found)
    [skip] = [s for s in report["skipped"] if s["severity"] == "error"]
    assert skip["location"] == f"postman://{WS}/environments/u-e2" and "malformed JSON" in skip["reason"]
    listed = postman.api.requests("/collections")
    assert [r.query.get("offset") for r in listed] == ["0", "0", "1", "2"]  # 429, then pages until a short one
    assert listed[1].at - listed[0].at >= 0.95
    assert len(postman.api.requests("/collections/u-c2")) == 2  # the 502 was retried
    assert_no_plaintext([*postman.tokens, postman.key], tmp_path / "r.json", db, output)


def test_rerun_reads_only_updated_collections(postman: FakePostman, tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "inv.db")]
    run_scan([f"postman://{WS}", *db], tmp_path / "1.json")
    postman.collections["c1"] = postman._collection("Customer API", postman.tokens[4], "2024-04-01T00:00:00.000Z")
    code, report, _ = run_scan([f"postman://{WS}", *db], tmp_path / "2.json")
    assert code == 1 and report["summary"]["blobs_scanned"] == 1  # no environment, no unchanged globals
    assert [f["preview"][-4:] for f in report["findings"]] == [postman.tokens[4][-4:]]
    assert len(postman.api.requests("/collections/u-c2")) == 2  # read (with its retry) only on the first run


def test_invalid_api_key_is_one_skipped_item(postman: FakePostman, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTMAN_API_KEY", "PMAK-revoked" + secrets.token_hex(6))
    code, report, _ = run_scan([f"postman://{WS}", "--no-db"], tmp_path / "r.json")
    assert code == 3
    [skip] = report["skipped"]
    assert "HTTP 401" in skip["reason"] and "POSTMAN_API_KEY" in skip["reason"]
