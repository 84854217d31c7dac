"""azure-devops://: a fake REST 7.1 API (continuation tokens, 429 + Retry-After, 5xx, malformed body) and clones."""

from __future__ import annotations

import base64
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_servers import (
    FakeApi,
    Once,
    Reply,
    Request,
    assert_no_plaintext,
    bare_repo,
    details,
    git_daemon,
    run_scan,
)
from tests.tokens import TokenFactory

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
API = "/acme/web/_apis"
TEXT = {"Content-Type": "text/plain"}


class FakeAzureDevops:
    """Project acme/web: repositories app and an empty one; completed builds on two continuation pages."""

    def __init__(self, git_url: str) -> None:
        self.pat = secrets.token_hex(26)
        self.tokens = [TokenFactory(seed).github_classic() for seed in range(91, 96)]
        self.git_url = git_url
        self.builds = [self._build(5, "2024-03-01T10:00:00.000Z"), self._build(6, "2024-03-02T10:00:00.000Z")]
        self.logs: dict[str, str] = {"5/1": "restore\n", "5/2": f"##[command] curl -H 'token {self.tokens[1]}'\n",
                                     "6/1": f"GITHUB_TOKEN={self.tokens[2]}\n"}
        self.broken = False  # the logs list of build 6 answers a truncated body
        self.rate = Once(Reply(429, {"message": "TF400733: request throttled"}, {"Retry-After": "1"}))
        self.flaky = Once(Reply(503, raw=b"Service Unavailable"))
        self.api = FakeApi(self.handle)

    def _build(self, bid: int, finished: str) -> dict[str, Any]:
        return {"id": bid, "buildNumber": f"2024.{bid}", "status": "completed", "finishTime": finished,
                "definition": {"name": "ci"}, "_links": {"web": {"href": f"https://dev.azure.com/acme/web/"
                                                                          f"_build/results?buildId={bid}"}}}

    def handle(self, req: Request) -> Reply:
        basic = base64.b64encode(f":{self.pat}".encode()).decode()
        if req.headers.get("authorization") != f"Basic {basic}" or req.query.get("api-version") != "7.1":
            return Reply(401, raw=b"", headers=TEXT)
        p = req.path
        failure = self.rate(p == f"{API}/build/builds") or self.flaky(p == f"{API}/build/builds/5/logs/2")
        if failure:
            return failure
        if p == f"{API}/git/repositories":
            return Reply(body={"count": 2, "value": [
                {"name": "app", "size": 100, "remoteUrl": f"{self.git_url}/acme/web/app.git",
                 "webUrl": "https://dev.azure.com/acme/web/_git/app"}, {"name": "empty", "size": 0}]})
        if p == f"{API}/build/builds":
            done = sorted((b for b in self.builds if b["finishTime"] > req.query.get("minTime", "")),
                          key=lambda b: b["finishTime"], reverse=True)
            first = req.query.get("continuationToken") != "p2"
            more = {"x-ms-continuationtoken": "p2"} if first and len(done) > 1 else {}
            return Reply(body={"count": 1, "value": done[:1] if first else done[1:]}, headers=more)
        return self.log(p)

    def log(self, p: str) -> Reply:
        build = p.removeprefix(f"{API}/build/builds/").split("/")
        if build[1:] == ["logs"]:
            if self.broken and build[0] == "6":
                return Reply(raw=b'{"count": 1, "value": [')
            ids = [int(k.split("/")[1]) for k in self.logs if k.startswith(f"{build[0]}/")]
            return Reply(body={"value": [{"id": i} for i in ids]})
        if len(build) == 3 and "/".join(build[::2]) in self.logs:
            return Reply(raw=self.logs["/".join(build[::2])].encode(), headers=TEXT)
        return Reply(404, {"message": "not found"})


@pytest.fixture
def devops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzureDevops]:
    served = tmp_path / "served"
    code_token = TokenFactory(90).github_classic()
    bare_repo(served, "acme/web/app", [{"pipeline.yml": f"env:\n  GITHUB_TOKEN: {code_token}\n"}])
    with git_daemon(served) as git_url:
        fake = FakeAzureDevops(git_url)
        fake.tokens[0] = code_token
        monkeypatch.setenv("TOKENWARD_AZURE_DEVOPS_BASE_URL", fake.api.url)
        monkeypatch.setenv("AZURE_DEVOPS_PAT", fake.pat)
        yield fake
        fake.api.close()


def test_repositories_and_pipeline_logs(devops: FakeAzureDevops, tmp_path: Path) -> None:
    db = tmp_path / "inv.db"
    code, report, output = run_scan(["azure-devops://acme/web", "--db", str(db)], tmp_path / "r.json")
    assert code == 1, output
    assert {f["preview"][-4:] for f in report["findings"]} == {t[-4:] for t in devops.tokens[:3]}
    git = next(f for f in report["findings"] if f["source"]["kind"] == "git")
    assert git["source"]["root"] == "https://dev.azure.com/acme/web/_git/app"
    log = next(d for d in details(report) if d.get("build_id") == "5")
    assert log["log_id"] == "2" and log["pipeline"] == "ci" and log["url"].endswith("buildId=5")
    assert any(d.get("build_id") == "6" for d in details(report))  # from the continuation page
    builds = devops.api.requests(f"{API}/build/builds")
    assert builds[1].at - builds[0].at >= 0.95 and builds[-1].query["continuationToken"] == "p2"
    assert len(devops.api.requests(f"{API}/build/builds/5/logs/2")) == 2  # the 503 was retried
    assert_no_plaintext([*devops.tokens, devops.pat], tmp_path / "r.json", db, output)


def test_malformed_body_is_a_skipped_item(devops: FakeAzureDevops, tmp_path: Path) -> None:
    devops.broken = True
    code, report, _ = run_scan(["azure-devops://acme/web", "--no-db"], tmp_path / "r.json")
    assert code == 1 and report["findings"]
    [skip] = [s for s in report["skipped"] if s["severity"] == "error"]
    assert skip["location"] == "azure-devops://acme/web/_build" and "malformed JSON" in skip["reason"]


def test_rerun_reads_only_new_builds(devops: FakeAzureDevops, tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "inv.db")]
    run_scan(["azure-devops://acme/web", *db], tmp_path / "1.json")
    devops.builds.append(devops._build(7, "2024-04-01T00:00:00.000Z"))
    devops.logs["7/1"] = f"token={devops.tokens[3]}\n"
    code, report, _ = run_scan(["azure-devops://acme/web", *db], tmp_path / "2.json")
    assert code == 1 and report["summary"]["blobs_scanned"] == 1
    assert [d.get("build_id") for d in details(report) if d.get("build_id")] == ["7"]
    assert devops.api.requests(f"{API}/build/builds")[-1].query["minTime"] == "2024-03-02T10:00:00.000Z"


def test_expired_credential_is_one_skipped_item(devops: FakeAzureDevops, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_DEVOPS_PAT", secrets.token_hex(26))
    code, report, _ = run_scan(["azure-devops://acme/web", "--no-db"], tmp_path / "r.json")
    assert code == 3
    [skip] = report["skipped"]
    assert "HTTP 401" in skip["reason"] and "AZURE_DEVOPS_PAT" in skip["reason"]
