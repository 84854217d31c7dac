"""huggingface://: a fake Hub API (Link pages, 429 + Retry-After, malformed body) and git daemon clones."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_servers import FakeApi, Once, Reply, Request, assert_no_plaintext, bare_repo, git, git_daemon, run_scan
from tests.tokens import TokenFactory

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
HUB = "https://huggingface.co"


class FakeHub:
    """Author acme: two models on two pages, a dataset, a space."""

    def __init__(self) -> None:
        self.token = "hf_" + secrets.token_hex(17)
        self.listing = {"models": [["acme/bert"], ["acme/gpt"]], "datasets": [["acme/logs"]], "spaces": [["acme/demo"]]}
        self.rate = Once(Reply(429, {"error": "Too Many Requests"}, {"Retry-After": "1"}))
        self.flaky = Once(Reply(502, raw=b"Bad Gateway", headers={"Content-Type": "text/plain"}))
        self.broken = False  # /api/spaces answers an HTML error page
        self.api = FakeApi(self.handle)

    def handle(self, req: Request) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, {"error": "Invalid credentials in Authorization header"})
        kind = req.path.removeprefix("/api/")
        if kind not in self.listing or req.query.get("author") not in (None, "acme"):
            return Reply(404, {"error": "not found"})
        if failure := self.rate(kind == "datasets") or self.flaky(req.query.get("p") == "1"):
            return failure
        if self.broken and kind == "spaces":
            return Reply(raw=b"<!doctype html><title>502</title>", headers={"Content-Type": "text/html"})
        page = int(req.query.get("p") or 0)
        pages = self.listing[kind]
        link = {"Link": f'<{self.api.url}/api/{kind}?p={page + 1}>; rel="next"'} if page + 1 < len(pages) else {}
        return Reply(body=[{"id": rid, "private": False} for rid in pages[page]], headers=link)


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeHub, list[str], Path]]:
    served = tmp_path / "served"
    tokens = [TokenFactory(seed).github_classic() for seed in range(101, 106)]
    bare_repo(served, "acme/bert", [{"config.json": f'{{"hub_token": "{tokens[0]}"}}\n'}])
    bare_repo(served, "acme/gpt", [{"README.md": "gpt\n"}])
    bare_repo(served, "datasets/acme/logs", [{"train.jsonl": f'{{"text": "GITHUB_TOKEN={tokens[1]}"}}\n'}])
    bare_repo(served, "spaces/acme/demo", [{"app.py": f'TOKEN = "{tokens[2]}"\n'}])
    with git_daemon(served) as git_url:
        fake = FakeHub()
        monkeypatch.setenv("TOKENWARD_HUGGINGFACE_BASE_URL", fake.api.url)
        monkeypatch.setenv("TOKENWARD_HUGGINGFACE_GIT_BASE_URL", git_url)
        monkeypatch.setenv("HF_TOKEN", fake.token)
        yield fake, tokens, served
        fake.api.close()


def test_models_datasets_and_spaces_cloned(hub: tuple[FakeHub, list[str], Path], tmp_path: Path) -> None:
    fake, tokens, _ = hub
    db = tmp_path / "inv.db"
    code, report, output = run_scan(["huggingface://acme", "--db", str(db)], tmp_path / "r.json")
    assert code == 1, output
    roots = {f["source"]["root"]: f["preview"][-4:] for f in report["findings"]}
    assert roots == {f"{HUB}/acme/bert": tokens[0][-4:], f"{HUB}/datasets/acme/logs": tokens[1][-4:],
                     f"{HUB}/spaces/acme/demo": tokens[2][-4:]}
    assert all(f["source"]["git"]["paths"] for f in report["findings"])  # commit provenance
    datasets = fake.api.requests("/api/datasets")
    assert len(datasets) == 2 and datasets[1].at - datasets[0].at >= 0.95
    assert len(fake.api.requests("/api/models")) == 3  # the Link page was followed, its 502 retried
    assert_no_plaintext([*tokens, fake.token], tmp_path / "r.json", db, output)


def test_rerun_reads_only_new_commits_and_malformed_listing(hub: tuple[FakeHub, list[str], Path],
                                                            tmp_path: Path) -> None:
    fake, tokens, served = hub
    db = ["--db", str(tmp_path / "inv.db")]
    run_scan(["huggingface://acme", *db], tmp_path / "1.json")
    work = served / ".work" / "acme/gpt"
    (work / "README.md").write_text(f"hf login --token {tokens[3]}\n")
    git(work, "commit", "-qam", "oops")
    git(work, "push", "-q", str(served / "acme/gpt.git"), "main")
    fake.broken = True
    code, report, _ = run_scan(["huggingface://acme", *db], tmp_path / "2.json")
    assert code == 1 and report["summary"]["blobs_scanned"] == 1
    new = [f for f in report["findings"] if f["source"]["root"] == f"{HUB}/acme/gpt"]
    assert [f["preview"][-4:] for f in new] == [tokens[3][-4:]]
    [skip] = [s for s in report["skipped"] if s["severity"] == "error"]
    assert skip["location"] == f"{HUB}/spaces?author=acme" and "malformed JSON" in skip["reason"]


def test_expired_credential_is_one_skipped_item(hub: tuple[FakeHub, list[str], Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_expired" + secrets.token_hex(8))
    code, report, _ = run_scan(["huggingface://acme", "--no-db"], tmp_path / "r.json")
    assert code == 3
    [skip] = report["skipped"]
    assert "HTTP 401" in skip["reason"] and "HF_TOKEN" in skip["reason"]
