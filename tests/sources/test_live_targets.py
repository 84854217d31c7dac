"""Live sources added with issue 17 part 2: malformed target URLs are usage errors; cursor stamps compare as times."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live_servers import run_scan


@pytest.mark.parametrize(("url", "message"), [
    ("gs://", "names no bucket"),
    ("azblob://acct", "name a container"),
    ("azure-devops://acme", "name one project"),
    ("azure-devops://acme/web/extra", "name one project"),
    ("teams://contoso.onmicrosoft.com", "name the team"),
    ("gitlab://acme?recent=ten", "recent= takes a positive whole number"),
    ("azure-devops://acme/web?recent=0", "recent= takes a positive whole number"),
    ("gitlab://user:s3cr3tpw@acme", "never taken from the command line"),
    ("postman://key:s3cr3tpw@ws", "never taken from the command line"),
])
def test_malformed_targets_are_usage_errors(url: str, message: str, tmp_path: Path) -> None:
    code, _, output = run_scan([url, "--no-db"], tmp_path / "r.json")
    assert code == 2 and message in output and "s3cr3tpw" not in output


@pytest.mark.parametrize("scheme", ["gitlab", "bitbucket", "huggingface", "gs", "azblob", "postman", "teams"])
def test_every_new_scheme_is_listed_as_supported(scheme: str, tmp_path: Path) -> None:
    code, _, output = run_scan(["ftp://nowhere", "--no-db"], tmp_path / "r.json")
    assert code == 2 and f"{scheme}://" in output


def test_cursor_stamps_compare_as_times() -> None:
    from tokenward.sources.live.hosting import latest, newer

    assert newer("2024-03-01T10:00:00.5Z", "2024-03-01T10:00:00Z")  # text order says the opposite
    assert not newer("2024-03-01T11:00:00+02:00", "2024-03-01T10:00:00Z")  # 09:00 UTC
    assert newer("2024-03-01T10:00:00Z", None) and not newer("", None)
    assert latest("2024-03-01T10:00:00Z", "2024-03-01T10:00:00.1234567Z") == "2024-03-01T10:00:00.1234567Z"
    assert latest("", "2024-01-01T00:00:00Z") == "2024-01-01T00:00:00Z"
