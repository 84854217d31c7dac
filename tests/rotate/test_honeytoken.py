"""`tokenward honeytoken create`: canaries the scanner's own rules accept (checksums included), an AWS key that
really works on moto but can do nothing, each registered as a honeytoken with where it was planted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_servers import free_port, moto_binary, process
from tests.rotate_fixtures import KEY_HEX, cli, use_inventory
from tokenward.engine import Matcher
from tokenward.identity import Fingerprinter
from tokenward.importers.values import identify
from tokenward.store import Inventory
from tokenward.store import tables as t
from tokenward.store.usage import UsageState


def _planted(place: Path) -> str:
    return place.read_text().strip().splitlines()[-1].split("=", 1)[1].strip()


def _registered(db: str, token_id_prefix: str) -> tuple[str, dict[str, object], dict[str, str]]:
    with Inventory.open(db) as inv:
        detail = inv.token_detail(inv.find(token_id_prefix))
        honey = UsageState(inv.engine).token_flags()  # token_id → (declared, honeytoken, granted)
    [event] = [e for e in detail.events if e.action == "honeytoken"]
    assert honey[detail.token.token_id][1] is True
    return detail.token.token_id, json.loads(event.note or "{}"), dict(detail.public_ids)


@pytest.mark.parametrize(("kind", "provider", "token_kind"),
                         [("github", "github", "pat-classic"), ("slack", "slack", "bot-token")])
def test_saas_canaries_pass_the_rules_and_are_registered(kind: str, provider: str, token_kind: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch, matcher: Matcher) -> None:
    use_inventory(monkeypatch, matcher)
    db, place = str(tmp_path / "inv.db"), tmp_path / "app" / ".env"
    place.parent.mkdir()
    place.write_text("DEBUG=1\n")
    result = cli("honeytoken", "create", "--kind", kind, "--place", str(place), "--db", db)
    assert result.exit_code == 0, result.output
    value = _planted(place)
    assert place.read_text().startswith("DEBUG=1\n") and value not in result.output
    [ident] = identify(value.encode(), Fingerprinter(bytes.fromhex(KEY_HEX)), matcher)
    assert (ident.provider, ident.kind, ident.rule_id) == (provider, token_kind, f"{provider}.{token_kind}")
    token_id, note, _ = _registered(db, result.output.split()[0])
    assert token_id == ident.token_id and note["planted"] == str(place.resolve()) and note["honeytoken"] == kind
    assert value.encode() not in Path(db).read_bytes()


def test_url_canary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, matcher: Matcher) -> None:
    use_inventory(monkeypatch, matcher)
    db, place = str(tmp_path / "inv.db"), tmp_path / "hooks.env"
    result = cli("honeytoken", "create", "--kind", "url", "--place", str(place), "--db", db,
                 "--url-base", "https://canary.example.org/t/")
    assert result.exit_code == 0, result.output
    assert _planted(place).startswith("https://canary.example.org/t/")
    _, note, _ = _registered(db, result.output.split()[0])
    assert note["honeytoken"] == "url"


@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if moto_binary() is None:
        pytest.skip("moto_server not installed (pip install 'moto[server]')")
    port = free_port()
    with process([str(moto_binary()), "-H", "127.0.0.1", "-p", str(port)], port, "moto_server"):
        url = f"http://127.0.0.1:{port}"
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": url}.items():
            monkeypatch.setenv(name, value)
        yield url


def test_aws_canary_is_a_real_key_that_can_do_nothing(moto_url: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch, matcher: Matcher) -> None:
    import boto3

    use_inventory(monkeypatch, matcher)
    db, place = str(tmp_path / "inv.db"), tmp_path / "credentials"
    result = cli("honeytoken", "create", "--kind", "aws", "--place", str(place), "--db", db)
    assert result.exit_code == 0, result.output
    conf = dict(line.split(" = ") for line in place.read_text().splitlines() if " = " in line)
    kid, secret = conf["aws_access_key_id"], conf["aws_secret_access_key"]
    sts = boto3.client("sts", aws_access_key_id=kid, aws_secret_access_key=secret)
    user = sts.get_caller_identity()["Arn"].rsplit("/", 1)[1]
    iam = boto3.client("iam")
    assert user.startswith("tokenward-honey-")
    assert not iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    assert not iam.list_user_policies(UserName=user)["PolicyNames"] and not iam.list_groups_for_user(
        UserName=user)["Groups"]
    token_id, note, public = _registered(db, kid)
    assert token_id == Fingerprinter(bytes.fromhex(KEY_HEX)).token_id(secret.encode())
    assert public == {"id": kid, "iam_user": user} and note["planted"] == str(place.resolve())
    assert kid in result.output and secret not in result.output and secret.encode() not in Path(db).read_bytes()


def test_unwritable_place_registers_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            matcher: Matcher) -> None:
    use_inventory(monkeypatch, matcher)
    db = str(tmp_path / "inv.db")
    result = cli("honeytoken", "create", "--kind", "github", "--place", str(tmp_path / "missing" / "x.env"),
                 "--db", db)
    assert result.exit_code == 2 and "cannot plant" in result.output
    with Inventory.open(db) as inv, inv.engine.connect() as conn:
        assert conn.execute(t.token.select()).first() is None
