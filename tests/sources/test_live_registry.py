"""docker://: a real registry (Debian's docker-registry, distribution v2) started by the test; images pushed
through the registry HTTP API by the test itself (blob uploads + manifest PUT)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_servers import assert_no_plaintext, details, free_port, process, run_scan
from tests.tokens import TokenFactory

REGISTRY = shutil.which("docker-registry") or shutil.which("registry")
pytestmark = pytest.mark.skipif(REGISTRY is None, reason="no registry binary (apt-get install docker-registry)")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _layer(files: dict[str, str]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    import gzip

    return gzip.compress(raw.getvalue(), mtime=0)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push(url: str, name: str, tag: str, layers: list[bytes], env: list[str]) -> str:
    """Upload blobs and the manifest with the distribution API; returns the manifest digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Env": env},
                         "rootfs": {"type": "layers", "diff_ids": [_digest(x) for x in layers]},
                         "history": [{"created_by": "COPY . /app"}]}).encode()
    with httpx.Client(base_url=url) as client:
        for blob in (config, *layers):
            start = client.post(f"/v2/{name}/blobs/uploads/")
            assert start.status_code == 202, start.text
            location = start.headers["location"]  # carries the upload state in its query: append to it
            done = client.put(f"{location}{'&' if '?' in location else '?'}digest={_digest(blob)}", content=blob,
                              headers={"Content-Type": "application/octet-stream"})
            assert done.status_code == 201, done.text
        manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": _digest(config), "size": len(config)},
                               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                           "digest": _digest(x), "size": len(x)} for x in layers]}).encode()
        put = client.put(f"/v2/{name}/manifests/{tag}", content=manifest, headers={"Content-Type": OCI_MANIFEST})
        assert put.status_code == 201, put.text
    return _digest(manifest)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = root / "config.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root}/data\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")
    with process([str(REGISTRY), "serve", str(config)], port, "docker-registry"):
        yield f"127.0.0.1:{port}"


def test_every_layer_and_the_config_are_scanned(registry: str, tmp_path: Path) -> None:
    tokens = [TokenFactory(seed).github_classic() for seed in (61, 62, 63, 64)]
    base = _layer({"app/.env": f"GITHUB_TOKEN={tokens[0]}\n", "app/main.py": "print('hi')\n"})
    top = _layer({"app/.wh..env": "", "etc/app.conf": f"token = {tokens[1]}\n"})
    digest = push(f"http://{registry}", "team/app", "1.0", [base, top], [f"GITHUB_TOKEN={tokens[2]}", "PATH=/bin"])
    db = tmp_path / "inv.db"
    code, report, output = run_scan([f"docker://{registry}/team/app:1.0", "--db", str(db)], tmp_path / "r.json")
    assert code == 1, output
    assert {f["preview"][-4:] for f in report["findings"]} == {t[-4:] for t in tokens[:3]}
    by_token = {f["preview"][-4:]: f["source"]["details"] for f in report["findings"]}
    deleted = by_token[tokens[0][-4:]]
    assert deleted["layer"] == _digest(base) and deleted["deleted_in_later_layer"] == "yes"
    assert deleted["digest"] == digest and deleted["image"] == f"{registry}/team/app:1.0"
    assert by_token[tokens[2][-4:]]["part"] == "config env"
    assert_no_plaintext(tokens, tmp_path / "r.json", db, output)
    code, again, _ = run_scan([f"docker://{registry}/team/app:1.0", "--db", str(db)], tmp_path / "2.json")
    assert code == 0 and again["summary"]["blobs_scanned"] == 0  # same digest: not pulled again
    push(f"http://{registry}", "team/app", "1.0", [base, _layer({"x.env": f"API_TOKEN={tokens[3]}\n"})], [])
    code, moved, _ = run_scan([f"docker://{registry}/team/app:1.0", "--db", str(db)], tmp_path / "3.json")
    assert code == 1 and tokens[3][-4:] in {f["preview"][-4:] for f in moved["findings"]}
    assert {d["digest"] for d in details(moved)} != {digest}


def test_missing_image_is_an_unreadable_input(registry: str, tmp_path: Path) -> None:
    code, report, _ = run_scan([f"docker://{registry}/team/none:latest", "--no-db"], tmp_path / "r.json")
    assert code == 3 and "HTTP 404" in report["skipped"][0]["reason"]
