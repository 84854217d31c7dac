"""gs:// and azblob://: fake GCS JSON API and Azure Blob REST servers (pages, 429/503 + Retry-After, bad bodies)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote
from xml.sax.saxutils import escape

import pytest

from tests.live_servers import FakeApi, Once, Reply, Request, assert_no_plaintext, details, run_scan
from tests.tokens import TokenFactory

TEXT = {"Content-Type": "application/octet-stream"}


class FakeGcs:
    """Bucket acme-logs: objects with generations, listed two per page."""

    def __init__(self) -> None:
        self.token = "ya29." + secrets.token_hex(20)
        self.tokens = [TokenFactory(seed).github_classic() for seed in range(111, 116)]
        self.objects: dict[str, tuple[bytes, int]] = {
            "app/.env": (f"GITHUB_TOKEN={self.tokens[0]}\n".encode(), 1700000000000001),
            "app/notes.txt": (b"nothing here\n", 1700000000000002),
            "app/deploy.sh": (f"export TOKEN={self.tokens[1]}\n".encode(), 1700000000000003),
            "other/.env": (f"GITHUB_TOKEN={self.tokens[2]}\n".encode(), 1700000000000004),
            "apple/.env": (f"GITHUB_TOKEN={self.tokens[4]}\n".encode(), 1700000000000005)}  # not under app/
        self.rate = Once(Reply(429, {"error": {"code": 429, "message": "rateLimitExceeded"}}, {"Retry-After": "1"}))
        self.flaky = Once(Reply(503, {"error": {"code": 503, "message": "backendError"}}))
        self.api = FakeApi(self.handle)

    def handle(self, req: Request) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, {"error": {"code": 401, "message": "Invalid Credentials", "errors": [
                {"reason": "authError"}]}})
        if req.path == "/storage/v1/b/acme-logs/o":
            return self.listing(req)
        name = unquote(req.path.removeprefix("/storage/v1/b/acme-logs/o/"))
        if failure := self.flaky(name == "app/deploy.sh"):
            return failure
        data, generation = self.objects[name]
        assert req.query == {"alt": "media", "generation": str(generation)}
        return Reply(raw=data, headers=TEXT)

    def listing(self, req: Request) -> Reply:
        if failure := self.rate(bool(req.query.get("pageToken"))):
            return failure
        if req.query["prefix"] == "broken/":
            return Reply(raw=b"<html>Bad Gateway</html>", headers={"Content-Type": "text/html"})
        names = sorted(n for n in self.objects if n.startswith(req.query["prefix"]))
        start = int(req.query.get("pageToken") or 0)
        items = [{"kind": "storage#object", "name": n, "bucket": "acme-logs", "generation": str(self.objects[n][1]),
                  "size": str(len(self.objects[n][0])), "md5Hash": "x", "updated": "2024-03-01T10:00:00.000Z"}
                 for n in names[start:start + 2]]
        more = {"nextPageToken": str(start + 2)} if start + 2 < len(names) else {}
        return Reply(body={"kind": "storage#objects", "items": items, **more})


@pytest.fixture
def gcs(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGcs]:
    fake = FakeGcs()
    monkeypatch.setenv("TOKENWARD_GS_BASE_URL", fake.api.url)
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", fake.token)
    yield fake
    fake.api.close()


def test_gcs_objects_with_generations(gcs: FakeGcs, tmp_path: Path) -> None:
    db = tmp_path / "inv.db"
    code, report, output = run_scan(["gs://acme-logs/app", "--db", str(db)], tmp_path / "r.json")
    assert code == 1, output
    assert {f["preview"][-4:] for f in report["findings"]} == {t[-4:] for t in gcs.tokens[:2]}
    env = next(d for d in details(report) if d["key"] == "app/.env")
    assert env["generation"] == "1700000000000001" and env["url"] == "gs://acme-logs/app/.env#1700000000000001"
    pages = gcs.api.requests("/storage/v1/b/acme-logs/o")
    assert len(pages) == 3 and pages[2].at - pages[1].at >= 0.95  # 429 + Retry-After on page 2
    assert len(gcs.api.requests("/storage/v1/b/acme-logs/o/app%2Fdeploy.sh")) == 2  # 503 retried
    assert_no_plaintext([*gcs.tokens, gcs.token], tmp_path / "r.json", db, output)
    gcs.objects["app/new.env"] = (f"TOKEN={gcs.tokens[3]}\n".encode(), 1700000000000009)
    code, report, _ = run_scan(["gs://acme-logs/app", "--db", str(db)], tmp_path / "2.json")
    assert code == 1 and report["summary"]["blobs_scanned"] == 1
    assert [d["key"] for d in details(report)] == ["app/new.env"]


def test_gcs_malformed_listing_and_expired_token(gcs: FakeGcs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, report, _ = run_scan(["gs://acme-logs/broken", "--no-db"], tmp_path / "r.json")
    assert code == 3 and "malformed JSON" in report["skipped"][0]["reason"]
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.expired" + secrets.token_hex(6))
    code, report, _ = run_scan(["gs://acme-logs/app", "--no-db"], tmp_path / "e.json")
    assert code == 3
    [skip] = report["skipped"]
    assert "HTTP 401" in skip["reason"] and "GOOGLE_OAUTH_ACCESS_TOKEN" in skip["reason"]


class FakeAzureBlob:
    """Account acme, container backups: List Blobs XML two per page (NextMarker), Get Blob; a SAS on every call."""

    def __init__(self) -> None:
        self.sig = secrets.token_urlsafe(24)
        self.key = secrets.token_bytes(64)  # the account key (AZURE_STORAGE_KEY is its base64)
        self.tokens = [TokenFactory(seed).github_classic() for seed in range(121, 126)]
        self.blobs: dict[str, tuple[bytes, float, str]] = {}
        for n, (name, text) in enumerate([("db/.env", f"GITHUB_TOKEN={self.tokens[0]}\n"), ("db/readme", "hi\n"),
                                          ("db/conf.ini", f"token = {self.tokens[1]}\n")]):
            self.put(name, text, 1709287200 + n)
        self.busy = Once(Reply(503, raw=b"<Error><Code>ServerBusy</Code></Error>", headers={"Retry-After": "1"}))
        self.api = FakeApi(self.handle)

    def signed_by_key(self, req: Request) -> bool:
        """The Shared Key check, written from the REST reference: VERB, eleven standard headers, x-ms-*, resource."""
        names = ["content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
                 "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"]
        standard = [req.headers.get(n, "") for n in names]
        standard[2] = "" if standard[2] == "0" else standard[2]
        ms = [f"{k}:{v.strip()}\n" for k, v in sorted(req.headers.items()) if k.startswith("x-ms-")]
        resource = f"/acme{req.path}" + "".join(f"\n{k.lower()}:{v}" for k, v in sorted(req.query.items()))
        text = "\n".join([req.method, *standard]) + "\n" + "".join(ms) + resource
        digest = hmac.new(self.key, text.encode(), hashlib.sha256).digest()
        return req.headers["authorization"] == f"SharedKey acme:{base64.b64encode(digest).decode()}"

    def put(self, name: str, text: str, when: float) -> None:
        self.blobs[name] = (text.encode(), when, "0x8DC" + secrets.token_hex(6).upper())

    def handle(self, req: Request) -> Reply:
        signed = req.headers.get("authorization", "").startswith("SharedKey ") and self.signed_by_key(req)
        if (req.query.get("sig") != self.sig and not signed) or req.headers.get("x-ms-version") is None:
            error = "<Error><Code>AuthenticationFailed</Code><Message>Signature not valid in the specified time " \
                    "frame</Message></Error>"
            return Reply(403, raw=error.encode(), headers={"Content-Type": "application/xml"})
        if req.path == "/broken" and req.query.get("comp") == "list":
            return Reply(raw=b"<EnumerationResults><Blobs><Blob><Name>x", headers={"Content-Type": "application/xml"})
        if req.path == "/backups" and req.query.get("comp") == "list":
            return self.busy(bool(req.query.get("marker"))) or self.listing(req)
        data = self.blobs[unquote(req.path.removeprefix("/backups/"))][0]
        return Reply(raw=data, headers=TEXT)

    def listing(self, req: Request) -> Reply:
        names = sorted(n for n in self.blobs if n.startswith(req.query.get("prefix", "")))
        start = int(req.query.get("marker") or 0)
        blobs = "".join(
            f"<Blob><Name>{escape(n)}</Name><Properties><Last-Modified>{formatdate(self.blobs[n][1], usegmt=True)}"
            f"</Last-Modified><Etag>{self.blobs[n][2]}</Etag><Content-Length>{len(self.blobs[n][0])}</Content-Length>"
            f"<BlobType>BlockBlob</BlobType></Properties></Blob>" for n in names[start:start + 2])
        marker = str(start + 2) if start + 2 < len(names) else ""
        xml = (f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="{self.api.url}/" '
               f'ContainerName="backups"><Blobs>{blobs}</Blobs><NextMarker>{marker}</NextMarker></EnumerationResults>')
        return Reply(raw=xml.encode(), headers={"Content-Type": "application/xml"})


@pytest.fixture
def azblob(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzureBlob]:
    fake = FakeAzureBlob()
    monkeypatch.setenv("TOKENWARD_AZBLOB_BASE_URL", fake.api.url)
    monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", f"?sv=2022-11-02&ss=b&srt=co&sp=rl&sig={fake.sig}")
    yield fake
    fake.api.close()


def test_azure_blobs_listed_and_read_then_only_new(azblob: FakeAzureBlob, tmp_path: Path) -> None:
    db = tmp_path / "inv.db"
    code, report, output = run_scan(["azblob://acme/backups/db", "--db", str(db)], tmp_path / "r.json")
    assert code == 1, output
    assert {f["preview"][-4:] for f in report["findings"]} == {t[-4:] for t in azblob.tokens[:2]}
    env = next(d for d in details(report) if d["key"] == "db/.env")
    assert env["container"] == "backups" and env["etag"] == azblob.blobs["db/.env"][2]
    assert env["last_modified"] == "2024-03-01T10:00:00Z"
    lists = [r for r in azblob.api.requests("/backups") if r.query.get("comp") == "list"]
    assert len(lists) == 3 and lists[2].at - lists[1].at >= 0.95  # 503 ServerBusy + Retry-After
    assert_no_plaintext([*azblob.tokens, azblob.sig], tmp_path / "r.json", db, output)
    azblob.put("db/conf.ini", f"token = {azblob.tokens[2]}\n", 1709287202)  # overwritten in the same second
    azblob.put("db/new.env", f"GITHUB_TOKEN={azblob.tokens[3]}\n", 1709290000)
    code, report, _ = run_scan(["azblob://acme/backups/db", "--db", str(db)], tmp_path / "2.json")
    assert code == 1 and report["summary"]["blobs_scanned"] == 2
    assert sorted(d["key"] for d in details(report)) == ["db/conf.ini", "db/new.env"]


def test_azure_malformed_listing_and_expired_sas(azblob: FakeAzureBlob, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    code, report, _ = run_scan(["azblob://acme/broken", "--no-db"], tmp_path / "r.json")
    assert code == 3 and "malformed List Blobs" in report["skipped"][0]["reason"]
    monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", "sv=2022-11-02&sp=rl&sig=expired")
    code, report, output = run_scan(["azblob://acme/backups", "--no-db"], tmp_path / "e.json")
    assert code == 3
    [skip] = report["skipped"]
    assert "HTTP 403" in skip["reason"] and "AZURE_STORAGE_SAS_TOKEN" in skip["reason"]
    assert_no_plaintext([azblob.sig], tmp_path / "e.json", output)


def test_azure_shared_key_signs_every_request(azblob: FakeAzureBlob, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_STORAGE_SAS_TOKEN")
    key = base64.b64encode(azblob.key).decode()
    monkeypatch.setenv("AZURE_STORAGE_KEY", key)
    code, report, output = run_scan(["azblob://acme/backups/db", "--no-db"], tmp_path / "r.json")
    assert code == 1 and {f["preview"][-4:] for f in report["findings"]} == {t[-4:] for t in azblob.tokens[:2]}
    assert all(r.headers["authorization"].startswith("SharedKey acme:") for r in azblob.api.log)
    assert_no_plaintext([key], tmp_path / "r.json", output)
    monkeypatch.setenv("AZURE_STORAGE_KEY", base64.b64encode(secrets.token_bytes(64)).decode())
    code, report, _ = run_scan(["azblob://acme/backups/db", "--no-db"], tmp_path / "e.json")
    assert code == 3 and "AZURE_STORAGE_KEY" in report["skipped"][0]["reason"]
