"""Every "Beyond code" format: planted tokens are found and carry their provenance."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests import samples_archives as A
from tests import samples_exports as E
from tests.samples_base import Outcome, Planter, probed, recall, scan_path
from tokenward.engine import Matcher
from tokenward.expand import ExpandOptions, expand
from tokenward.scanner import _reason_class
from tokenward.sources.interface import Blob, Origin


@pytest.fixture
def planter() -> Planter:
    return Planter()


def only(outcome: Outcome, planter: Planter, row: str) -> None:
    missing = [t[:12] for t in planter.planted[row] if not outcome.of(t)]
    assert not missing, f"{row}: planted tokens not found: {missing}"


def test_slack_zip_message_provenance(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    out = scan_path(matcher, E.slack_zip(tmp_path, planter))
    only(out, planter, "slack")
    first, reply = planter.planted["slack"][:2]
    assert out.details(first) == {"channel": "#general", "ts": "2024-01-02T03:04:05Z", "user": "Alice Example",
                                  "permalink": "/archives/C01/p1704164645000100"}
    d = out.details(reply)
    assert (d["user"], d["thread"]) == ("Bob Builder", "2024-01-02T03:04:05Z")
    assert d["permalink"] == "/archives/C01/p1704164700000200?thread_ts=1704164645.000100"
    assert out.of(first)[0].origin.path.endswith("slack-export.zip!/general/2024-01-02.json")
    assert out.of(first)[0].origin.kind == "file" and out.fmt(first) == "slack"  # kind names the source
    assert out.details(planter.planted["slack"][5])["edited"] == "yes"  # text only in the previous version


def test_slack_folder_resolves_users_and_channel_ids(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    out = scan_path(matcher, E.slack_folder(tmp_path, planter))
    only(out, planter, "slack-folder")
    d = out.details(planter.planted["slack-folder"][-1])
    assert (d["channel"], d["user"], d["permalink"][:14]) == ("#deploys", "Bob Builder", "/archives/C02/")


def test_teams_graph_and_personal_export(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    E.teams_graph(tmp_path, planter)
    E.teams_personal(tmp_path, planter)
    out = scan_path(matcher, tmp_path)
    only(out, planter, "teams")
    t1, t2, t3 = planter.planted["teams"]
    assert out.details(t1) == {"team": "Platform", "channel": "ops", "sender": "Carol",
                               "time": "2024-01-02T03:04:05.123Z", "message_id": "1704164645123"}
    assert out.details(t2)["reply_to"] == "1704164645123"
    assert out.details(t3)["channel"] == "release chat" and out.details(t3)["sender"] == "Erin"


def test_jira_json_xml_backup_and_csv(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    for build in (E.jira_json, E.jira_xml, E.jira_csv):
        build(tmp_path, planter)
    E.jira_backup(tmp_path / "backup", planter)
    out = scan_path(matcher, tmp_path)
    only(out, planter, "jira")
    t = planter.planted["jira"]
    assert out.details(t[0])["issue"] == "OPS-7" and out.details(t[0])["field"] == "description"
    assert out.details(t[1])["field"] == "Deploy key"  # custom field name from "names"
    assert out.details(t[2]) == {"issue": "OPS-7", "field": "comment", "comment_id": "20001", "author": "Grace",
                                 "time": "2024-01-06T11:00:00.000+0000"}
    assert out.details(t[4])["comment_id"] == "30001" and out.details(t[5])["field"] == "Secrets"
    assert out.details(t[6])["issue"] == "OPS-10" and out.details(t[7])["author"] == "mia"
    assert out.details(t[9])["issue"] == "OPS-9" and out.details(t[10])["comment_id"] == "40001"


def test_confluence_html_and_xml(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    E.confluence_html(tmp_path, planter)
    E.confluence_xml(tmp_path, planter)
    out = scan_path(matcher, tmp_path)
    only(out, planter, "confluence")
    html_token, xml_token = planter.planted["confluence"]
    assert out.details(html_token) == {"space": "Engineering", "page": "Deploy notes", "modified": "Jan 02, 2024"}
    assert out.details(xml_token) == {"space": "ENG", "page": "Runbook", "version": "4", "content": "Page 65538"}


def test_markdown_notes_by_heading_keep_file_lines(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    out = scan_path(matcher, E.notes_vault(tmp_path, planter))
    only(out, planter, "notes")
    runbook = out.of(planter.planted["notes"][0])[0]
    assert out.details(planter.planted["notes"][0]) == {"heading": "Runbook > Setup > Credentials"}  # not code
    assert runbook.location.line == 13 and out.fmt(planter.planted["notes"][0]) == "notes"


def test_mail_eml_and_mbox(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    E.mail(tmp_path, planter)
    out = scan_path(matcher, tmp_path)
    only(out, planter, "notes")
    body, attachment, m1, m2 = planter.planted["notes"]
    assert out.details(body)["message"] == "deploy key" and out.details(body)["part"] == "body text/plain"
    assert out.of(attachment)[0].origin.path == "mail/deploy.eml!/prod.env"  # base64 attachment decoded
    assert out.details(m2)["mbox_index"] == "2" and out.details(m1)["message"] == "note 1"


def test_mail_headers_read_as_text(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    """Headers are read raw (compat32) and shown as a reader sees them: unfolded, encoded words decoded."""
    from tokenward.expand.notes import header_text

    assert header_text("first part\r\n second part") == "first part second part"
    assert header_text("=?utf-8?b?" + base64.b64encode("clé du déploiement".encode()).decode() + "?=") == \
        "clé du déploiement"
    assert header_text("=?x-unknown?q?abc?=") == "=?x-unknown?q?abc?="  # an unknown charset stays raw
    in_subject, folded, in_name = (planter.github("notes") for _ in range(3))
    subject = base64.b64encode(f"rotate {in_subject} today".encode()).decode()
    eml = (f"From: Olga <olga@example.com>\nSubject: =?utf-8?b?{subject}?=\nX-Deploy-Note: token\n"
           f" {folded}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\n"
           "Content-Type: text/plain\n\nsee attachment\n--B\nContent-Type: application/octet-stream\n"
           "Content-Disposition: attachment; filename*=utf-8''d%C3%A9ploiement.env\n\n"
           f"GITHUB_TOKEN={in_name}\n--B--\n")
    eight_bit = eml.encode().replace(b"MIME-Version", b"X-Old: caf\xe9\nMIME-Version", 1)  # a raw Latin-1 header
    (tmp_path / "note.eml").write_bytes(eight_bit)
    out = scan_path(matcher, tmp_path)
    assert out.details(in_subject)["message"] == f"rotate {in_subject} today"
    assert out.details(in_subject)["part"] == "headers" and out.details(folded)["part"] == "headers"
    assert out.of(in_name)[0].origin.path == "note.eml!/déploiement.env"


def test_ci_logs_steps_lines_and_masks(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    E.ci_logs(tmp_path, planter)
    out = scan_path(matcher, tmp_path)
    only(out, planter, "ci-log")
    deploy, step, gitlab, jenkins = planter.planted["ci-log"]
    f = out.of(deploy)[0]
    assert f.origin.path == "ci/logs_42.zip!/0_build.txt" and f.location.line == 7  # line of the original log
    assert out.details(deploy) == {"job": "build", "step": "./deploy.sh", "masked_values": "1"}
    assert out.details(step) == {"job": "build", "step": "Run tests"}
    g = out.of(gitlab)[0]  # timestamp + section prefix stripped, so the assignment starts the line
    assert out.details(gitlab) == {"job": "job-1234", "step": "step_script"} and g.location.line == 4
    assert out.details(jenkins) == {"job": "console", "step": "Deploy"}
    assert all("***" not in (x.secret or "") for x in out.findings)


def test_notebook_cells_and_outputs(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    out = scan_path(matcher, E.notebook(tmp_path, planter))
    only(out, planter, "notebook")
    source, stream, result = planter.planted["notebook"]
    assert out.details(source) == {"cell": "2", "cell_type": "code", "cell_id": "b2", "part": "input"}
    assert out.details(stream)["part"] == "output 1" and out.details(result)["part"] == "output 2"


def test_config_files_key_paths(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    out = scan_path(matcher, E.configs(tmp_path, planter))
    only(out, planter, "config")
    env, _npm, pypirc, netrc, _git, docker, kube, tf_out, tf_res, aws = planter.planted["config"]
    assert out.fmt(env) == "dotenv" and out.details(env) == {}
    assert out.fmt(pypirc) == ".pypirc" and out.details(pypirc) == {"key_path": "pypi"}
    # Structured configs keep file lines: the decoded auth is reported on the line it stands on.
    assert out.details(docker) == {"key_path": "auths.ghcr.io", "encoding": "base64", "encoded_at": "line 4"}
    assert out.of(docker)[0].location.line == 4
    assert out.fmt(docker) == "docker-config" and out.fmt(tf_res) == "tfstate" and out.fmt(kube) == "kubeconfig"
    assert out.details(kube)["key_path"] == "users[ci].user"
    assert out.details(tf_out)["key_path"] == "outputs.gh"
    assert out.details(tf_res)["key_path"] == "resources[ci].instances[0].attributes"
    assert out.details(aws)["key_path"] == "deploy"
    assert out.of(netrc)[0].location.line == 3


def test_encoded_content_reports_the_chain(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    out = scan_path(matcher, E.encoded(tmp_path, planter))
    only(out, planter, "encoded")
    chains = [out.details(t)["encoding"] for t in planter.planted["encoded"]]
    assert chains == ["base64", "base64", "hex", "url", "unicode-escape", "base64>hex"]
    assert out.details(planter.planted["encoded"][2])["encoded_at"] == "line 3"


def test_archives_every_format_with_path_chain(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    A.archives(tmp_path / "a", planter)
    out = scan_path(matcher, tmp_path / "a")
    only(out, planter, "archive")
    paths = sorted(f.origin.path for f in out.findings if f.rule_id.startswith("github"))
    assert "outer.zip!/inner/b.tar!/c/.env" in paths
    assert {"a.zip!/conf/.env", "b.tar!/conf/.env", "c.tar.gz!/conf/.env", "d.tar.bz2!/conf/.env",
            "e.tar.xz!/conf/.env", "f.env.zst!/f.env", "g.7z!/conf/.env", "app.jar!/application.properties",
            "pkg-1.0-py3-none-any.whl!/pkg/settings.py", "lib.1.0.0.nupkg!/content/appsettings.json"} <= set(paths)
    assert not out.skipped


def test_documents_parts_pages_rows(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    A.documents(tmp_path, planter)
    out = scan_path(matcher, tmp_path)
    only(out, planter, "document")
    split, _, xlsx, pptx, odt, pdf, db = planter.planted["document"]
    assert out.details(split) == {"document": "docx", "part": "word/document.xml"}  # joined across runs
    assert out.fmt(split) == "document"
    assert out.of(xlsx)[0].location.line == 3 and out.details(xlsx)["sheet"] == "Secrets"
    assert out.details(pptx)["part"] == "ppt/slides/slide2.xml"
    assert out.details(odt)["part"] == "content.xml"
    assert out.details(pdf) == {"document": "pdf", "page": "2"}
    assert out.details(db)["table"] == "users" and out.of(db)[0].location.line == 2
    assert out.reasons() == ["binary content (1 archive members)"]  # the docx's embedded PNG


def test_container_images_layers_config_and_deleted_files(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    _, deleted = A.docker_save(tmp_path, planter)
    A.oci_layout(tmp_path, planter)
    out = scan_path(matcher, tmp_path)
    only(out, planter, "image")
    gone = out.of(deleted)[0]
    assert gone.origin.path == "api-image.tar!/l1/layer.tar!/app/.env"
    d = out.details(deleted)
    assert (d["image"], d["layer_index"], d["deleted_in_later_layer"]) == ("acme/api:1.0", "1", "yes")
    assert out.fmt(deleted) == "dotenv"  # the .env inside the layer is read as a config file
    assert d["layer"].startswith("sha256:")
    env, history = planter.planted["image"][2:4]
    assert out.details(env)["part"] == "config env" and out.details(history)["part"] == "history"
    oci = [f for f in out.findings if f.origin.path.startswith("worker-oci.tar!/blobs/sha256/")]
    assert {dict(f.origin.details)["image"] for f in oci} == {"acme/worker:2"} and len(oci) == 4


def test_recall_per_source_on_planted_tokens(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    builders = [E.slack_zip, E.slack_folder, E.teams_graph, E.teams_personal, E.jira_json, E.jira_xml, E.jira_csv,
                E.confluence_html, E.confluence_xml, E.notes_vault, E.mail, E.ci_logs, E.notebook, E.configs,
                E.encoded, A.archives, A.documents, A.docker_save, A.oci_layout]
    for i, build in enumerate(builders):
        build(tmp_path / f"s{i}", planter)
    out = scan_path(matcher, tmp_path)
    table = {row: recall(out, tokens) for row, tokens in planter.planted.items()}
    assert table == {row: 1.0 for row in table}, table
    assert len(table) == 13 and sum(len(t) for t in planter.planted.values()) >= 80


def test_probe_gate_finds_the_same_with_fewer_blobs(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    path = E.slack_zip(tmp_path, planter)
    gated = scan_path(matcher, path)
    ungated = scan_path(matcher, path, ExpandOptions())
    assert sorted(f.secret or "" for f in gated.findings) == sorted(f.secret or "" for f in ungated.findings)
    data = Blob(path.read_bytes(), Origin("file", str(tmp_path), "s.zip"))
    assert len(list(expand(data, probed(matcher)))) == len(list(expand(data))) - 5  # the lunch chatter


def test_oci_layout_unpacked_on_disk(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    import tarfile

    packed = A.oci_layout(tmp_path / "packed", planter)
    with tarfile.open(packed) as tf:
        tf.extractall(tmp_path / "layout", filter="data")
    out = scan_path(matcher, tmp_path / "layout")
    deleted = planter.planted["image"][0]
    found = out.of(deleted)[0]
    assert found.origin.path.startswith("blobs/sha256/") and found.origin.path.endswith("!/app/.env")
    assert out.details(deleted)["layer"].startswith("sha256:")
    assert all(out.of(t) for t in planter.planted["image"])  # config env and history: the config blob as JSON


def test_tar_links_and_devices_are_counted_as_skipped(tmp_path: Path, matcher: Matcher) -> None:
    import io
    import tarfile

    from tests.tokens import TokenFactory

    secret = TokenFactory(17).github_classic()
    path = tmp_path / "bundle.tar"
    with tarfile.open(path, "w") as tf:
        body = f"T={secret}\n".encode()
        info = tarfile.TarInfo("conf/.env")
        info.size = len(body)
        tf.addfile(info, io.BytesIO(body))
        for name, kind, target in (("conf/link.env", tarfile.SYMTYPE, "/etc/shadow"),
                                   ("conf/hard.env", tarfile.LNKTYPE, "conf/.env"),
                                   ("dev/null", tarfile.CHRTYPE, ""), ("dev/pipe", tarfile.FIFOTYPE, "")):
            member = tarfile.TarInfo(name)
            member.type, member.linkname = kind, target
            tf.addfile(member)
    out = scan_path(matcher, path)
    assert out.of(secret)
    skipped = {s.location.split("bundle.tar!/")[-1]: s.reason for s in out.skipped}
    assert skipped["conf/link.env"] == "symbolic link not followed (to /etc/shadow)"
    assert skipped["conf/hard.env"] == "hard link not followed (to conf/.env)"
    # the summary counts them by class, not one class per link target
    assert {_reason_class(r) for r in skipped.values() if "link" in r} == {"symbolic link not followed",
                                                                          "hard link not followed"}
    assert "device" in skipped["dev/null"] and "fifo" in skipped["dev/pipe"]
    assert all(s.severity == "policy" for s in out.skipped)
