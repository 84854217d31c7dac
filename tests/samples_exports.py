"""Sample chat/ticket/wiki exports, notes, CI logs, notebooks and config files, written at test time
from the documented formats with freshly generated tokens (see tests/samples_base.Planter)."""

from __future__ import annotations

import base64
import json
import zipfile
from pathlib import Path

from tests.samples_base import Planter

TS1, TS2 = "1704164645.000100", "1704164700.000200"


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def slack_files(p: Planter, row: str = "slack") -> dict[str, object]:
    """The JSON documents of a small Slack workspace export (name → document)."""
    users = [{"id": "U01", "name": "alice", "real_name": "Alice Example", "profile": {"display_name": "alice"}},
             {"id": "U02", "name": "bob", "profile": {"real_name": "Bob Builder"}}]
    channels = [{"id": "C01", "name": "general"}, {"id": "C02", "name": "deploys"}]
    general = [
        {"type": "message", "user": "U01", "ts": TS1, "text": f"here is the token {p.github(row)}",
         "thread_ts": TS1, "reply_count": 1},
        {"type": "message", "user": "U02", "ts": TS2, "thread_ts": TS1, "text": f"thanks, mine: {p.github(row)}"},
        {"type": "message", "subtype": "file_share", "user": "U01", "ts": "1704165000.000300", "text": "config",
         "files": [{"id": "F01", "name": "creds.txt", "preview": f"token={p.github(row)}"}]},
        {"type": "message", "user": "U02", "ts": "1704165100.000400", "text": "",
         "attachments": [{"fallback": "deploy", "text": f"deploy key {p.github(row)}"}]},
        {"type": "message", "user": "U01", "ts": "1704165200.000500", "text": "see block",
         "blocks": [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
             {"type": "text", "text": f"in a block {p.github(row)}"}]}]}]},
        {"type": "message", "subtype": "message_changed", "ts": "1704165300.000600",
         "message": {"type": "message", "user": "U01", "text": "redacted", "ts": "1704165250.000550",
                     "edited": {"user": "U01", "ts": "1704165300.000000"}},
         "previous_message": {"type": "message", "user": "U01", "text": f"oops {p.github(row)}"}},
        *({"type": "message", "user": "U02", "ts": f"17041660{i:02d}.000100", "text": f"lunch at {i}?"}
          for i in range(5)),
    ]
    line, _ = p.provider_line(row)
    deploys = [{"type": "message", "user": "U02", "ts": "1704250000.000100", "text": f"```{line}```"}]
    return {"users.json": users, "channels.json": channels, "general/2024-01-02.json": general,
            "deploys/2024-01-03.json": deploys}


def slack_zip(root: Path, p: Planter) -> Path:
    """A Slack export zip."""
    path = root / "slack-export.zip"
    root.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, doc in slack_files(p).items():
            zf.writestr(name, json.dumps(doc, indent=1))
    return path


def slack_folder(root: Path, p: Planter) -> Path:
    """An unpacked Slack export folder."""
    for name, doc in slack_files(p, "slack-folder").items():
        _write(root / "slack" / name, json.dumps(doc, indent=1))
    return root / "slack"


def teams_graph(root: Path, p: Planter) -> Path:
    """Channel messages as returned by Microsoft Graph (…/teams/{id}/channels/{id}/messages)."""
    def msg(mid: str, who: str, html: str, **extra: object) -> dict[str, object]:
        return {"id": mid, "messageType": "message", "createdDateTime": "2024-01-02T03:04:05.123Z",
                "from": {"user": {"id": "u-" + who, "displayName": who}},
                "body": {"contentType": "html", "content": html},
                "channelIdentity": {"teamId": "team-1", "channelId": "19:ops@thread.tacv2"}, **extra}
    doc = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#teams('team-1')/channels('19%3Aops')/messages",
           "teamDisplayName": "Platform", "channelDisplayName": "ops",
           "value": [msg("1704164645123", "Carol", f"<p>use <b>{p.github('teams')}</b></p>"),
                     msg("1704164700456", "Dave", f"<div>reply &amp; key {p.github('teams')}</div>",
                         replyToId="1704164645123", lastEditedDateTime="2024-01-02T04:00:00Z")]}
    return _write(root / "teams" / "ops-messages.json", json.dumps(doc, indent=1))


def teams_personal(root: Path, p: Planter) -> Path:
    """The Teams personal data export (messages.json)."""
    doc = {"userId": "8:orgid:1", "exportDate": "2024-02-01T00:00:00Z", "conversations": [
        {"id": "19:abc@thread.v2", "displayName": "release chat", "threadProperties": {"topic": "release"},
         "MessageList": [{"id": "1704164645000", "displayName": "Erin", "originalarrivaltime": "2024-01-02T03:04:05Z",
                          "messagetype": "RichText/Html", "content": f"<p>token {p.github('teams')}</p>",
                          "conversationid": "19:abc@thread.v2", "from": "8:orgid:2"}]}]}
    return _write(root / "teams" / "messages.json", json.dumps(doc))


def jira_json(root: Path, p: Planter) -> Path:
    """REST /search results with ADF description, a custom field and comments."""
    adf = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "rotate "}, {"type": "text", "text": p.github("jira"), "marks": [{"type": "code"}]}]}]}
    issue = {"id": "10001", "key": "OPS-7", "self": "https://example.atlassian.net/rest/api/3/issue/10001",
             "fields": {"summary": "Deploy broken", "description": adf, "customfield_10010": f"key {p.github('jira')}",
                        "reporter": {"displayName": "Frank"}, "updated": "2024-01-05T10:00:00.000+0000",
                        "comment": {"comments": [{"id": "20001", "author": {"displayName": "Grace"},
                                                  "created": "2024-01-06T11:00:00.000+0000",
                                                  "body": f"try {p.github('jira')}"}]}}}
    doc = {"expand": "names,schema", "startAt": 0, "maxResults": 50, "total": 1, "issues": [issue],
           "names": {"customfield_10010": "Deploy key"}}
    return _write(root / "jira" / "search.json", json.dumps(doc, indent=1))


def jira_xml(root: Path, p: Planter) -> Path:
    """An RSS issue export (Jira's "Export XML")."""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="0.92"><channel><title>Jira</title><link>https://jira.example.com</link>
<item><title>[OPS-8] Leaked key</title><key id="10002">OPS-8</key><summary>Leaked key</summary>
<reporter username="hank">Hank</reporter><updated>Fri, 5 Jan 2024 10:00:00 +0000</updated>
<description>&lt;p&gt;token {p.github('jira')}&lt;/p&gt;</description>
<comments><comment id="30001" author="ivy" created="Sat, 6 Jan 2024 11:00:00 +0000">
&lt;p&gt;{p.github('jira')}&lt;/p&gt;</comment></comments>
<customfields><customfield id="customfield_10020" key="com.atlassian.jira.plugin.system.customfieldtypes:textarea">
<customfieldname>Secrets</customfieldname><customfieldvalues><customfieldvalue>{p.github('jira')}</customfieldvalue>
</customfieldvalues></customfield></customfields></item></channel></rss>
"""
    return _write(root / "jira" / "export.xml", xml)


def jira_backup(root: Path, p: Planter) -> Path:
    """A Jira backup's entities.xml (issues, comments as Actions)."""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<entity-engine-xml>
    <Project id="10000" name="Ops" key="OPS"/>
    <Issue id="10100" project="10000" number="9" reporter="jack" summary="db" description="pw {p.github('jira')}"/>
    <Action id="40001" issue="10100" author="kate" type="comment" created="2024-01-07 10:00:00.0"
        body="use {p.github('jira')}"/>
</entity-engine-xml>
"""
    return _write(root / "jira" / "entities.xml", xml)


def jira_csv(root: Path, p: Planter) -> Path:
    """A Jira CSV export (several Comment columns: date;author;body)."""
    rows = ["Summary,Issue key,Issue id,Reporter,Created,Description,Comment,Comment,Custom field (Deploy key)",
            f'Rotate,OPS-10,10200,Liam,02/Jan/24 3:04 AM,"token {p.github("jira")}",'
            f'"03/Jan/24 9:00 AM;mia;try {p.github("jira")}",,{p.github("jira")}']
    return _write(root / "jira" / "issues.csv", "\n".join(rows) + "\n")


def confluence_html(root: Path, p: Planter) -> Path:
    """A page of a Confluence HTML space export."""
    page = f"""<!DOCTYPE html>
<html>
    <head>
        <title>Engineering : Deploy notes</title>
        <link rel="stylesheet" href="styles/site.css" type="text/css" />
    </head>
    <body class="theme-default aui-theme-default">
        <div id="page"><div id="main" class="aui-page-panel"><div id="main-header">
            <div id="breadcrumb-section"><ol id="breadcrumbs">
                <li class="first"><span><a href="index.html">Engineering</a></span></li></ol></div>
            <h1 id="title-heading" class="pagetitle"><span id="title-text">Engineering : Deploy notes</span></h1></div>
        <div id="content" class="view">
            <div class="page-metadata">Created by <span class='author'> Nina</span>, last modified on Jan 02, 2024</div>
            <div id="main-content" class="wiki-content group">
<p>Token: <code>{p.github('confluence')}</code></p>
            </div></div></div></div>
    </body>
</html>
"""
    return _write(root / "confluence" / "Deploy-notes_65537.html", page)


def confluence_xml(root: Path, p: Planter) -> Path:
    """entities.xml of a Confluence XML space export."""
    body = ('<p>key</p><ac:structured-macro ac:name="code"><ac:plain-text-body>'
            f'<![CDATA[TOKEN={p.github("confluence")}]]></ac:plain-text-body></ac:structured-macro>')
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<hibernate-generic datetime="2024-01-02 03:04:05">
<object class="Space" package="com.atlassian.confluence.spaces"><id name="id">98305</id>
<property name="key"><![CDATA[ENG]]></property><property name="name"><![CDATA[Engineering]]></property></object>
<object class="Page" package="com.atlassian.confluence.pages"><id name="id">65538</id>
<property name="title"><![CDATA[Runbook]]></property><property name="version">4</property>
<property name="space" class="Space" package="com.atlassian.confluence.spaces"><id name="id">98305</id></property>
</object>
<object class="BodyContent" package="com.atlassian.confluence.core"><id name="id">131073</id>
<property name="body"><![CDATA[{body.replace("]]>", "]]]]><![CDATA[>")}]]></property>
<property name="content" class="Page" package="com.atlassian.confluence.pages"><id name="id">65538</id></property>
<property name="bodyType">2</property></object>
</hibernate-generic>
"""
    return _write(root / "confluence-xml" / "entities.xml", xml)


def notes_vault(root: Path, p: Planter) -> Path:
    """An Obsidian vault and a Notion Markdown export."""
    vault = root / "vault"
    _write(vault / ".obsidian" / "app.json", "{}")
    _write(vault / "Ops" / "Runbook.md", "# Runbook\n\nintro\n\n## Setup\n\n```bash\n# not a heading\n```\n\n"
           f"### Credentials\n\nGH: {p.github('notes')}\n")
    _write(vault / "Notion" / "Deploy 1f2e3d4c5b6a79881726354453627180.md",
           f"# Deploy\n\nStatus: Done\n\ntoken {p.github('notes')}\n")
    return vault


def mail(root: Path, p: Planter) -> tuple[Path, Path]:
    """An .eml with a base64 body and a text attachment, and a two-message mbox."""
    body = base64.encodebytes(f"Hi,\nthe key is {p.github('notes')}\n".encode()).decode()
    attach = base64.encodebytes(f"GITHUB_TOKEN={p.github('notes')}\n".encode()).decode()
    eml = f"""From: Olga <olga@example.com>
To: ops@example.com
Subject: deploy key
Date: Tue, 02 Jan 2024 03:04:05 +0000
Message-ID: <m1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

--XX
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

{body}
--XX
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="prod.env"
Content-Transfer-Encoding: base64

{attach}
--XX--
"""
    mbox = "".join(f"From sender{i}@example.com Tue Jan  2 03:04:05 2024\nFrom: s{i}@example.com\n"
                   f"Subject: note {i}\nMessage-ID: <n{i}@example.com>\n\nkey {p.github('notes')}\n\n" for i in (1, 2))
    return _write(root / "mail" / "deploy.eml", eml), _write(root / "mail" / "inbox.mbox", mbox)


def ci_logs(root: Path, p: Planter) -> list[Path]:
    """A GitHub Actions logs zip, a GitLab job trace and a Jenkins console log."""
    ts = "2024-01-02T03:04:05.1234567Z "
    job = [f"{ts}Current runner version: '2.311.0'", f"{ts}##[group]Run actions/checkout@v4", f"{ts}checkout",
           f"{ts}##[endgroup]", f"{ts}##[group]Run ./deploy.sh", f"{ts}  GH_TOKEN: ***",
           f"{ts}deploying with {p.github('ci-log')}", f"{ts}##[endgroup]"]
    step = [f"{ts}running tests", f"{ts}\x1b[32mtoken {p.github('ci-log')}\x1b[0m"]
    path = root / "ci" / "logs_42.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("0_build.txt", "\n".join(job) + "\n")
        zf.writestr("build/2_Run tests.txt", "\n".join(step) + "\n")
    line, _ = p.provider_line("ci-log")
    gitlab = ("\x1b[0KRunning with gitlab-runner 16.6.0\n"
              "section_start:1704164645:step_script\r\x1b[0K\x1b[0K\x1b[36;1mExecuting \"step_script\" stage\x1b[0;m\n"
              f"\x1b[32;1m$ echo $TOKEN\x1b[0;m\n2024-01-02T03:04:05.123456Z 01O {line}\n"
              "section_end:1704164650:step_script\r\x1b[0K\n")
    jenkins = ("Started by user admin\n[Pipeline] Start of Pipeline\n[Pipeline] stage\n[Pipeline] { (Deploy)\n"
               f"[2024-01-02T03:04:05.123Z] + deploy --token {p.github('ci-log')}\n[Pipeline] }}\n")
    return [path, _write(root / "ci" / "job-1234.log", gitlab), _write(root / "ci" / "console.log", jenkins)]


def notebook(root: Path, p: Planter) -> Path:
    """A Jupyter notebook leaking one token in a cell's source and others in outputs."""
    nb = {"cells": [
        {"cell_type": "markdown", "id": "a1", "metadata": {}, "source": ["# Demo\n"]},
        {"cell_type": "code", "id": "b2", "execution_count": 1, "metadata": {},
         "source": ["import os\n", f"os.environ['GH'] = '{p.github('notebook')}'\n"], "outputs": []},
        {"cell_type": "code", "id": "c3", "execution_count": 2, "metadata": {},
         "source": ["print(os.environ['GH2'])\n"],
         "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"{p.github('notebook')}\n"]},
                     {"output_type": "execute_result", "execution_count": 2, "metadata": {},
                      "data": {"text/plain": [f"'{p.github('notebook')}'"]}}]}],
        "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    return _write(root / "nb" / "analysis.ipynb", json.dumps(nb, indent=1))


def configs(root: Path, p: Planter) -> Path:
    """Config files that hold credentials, under a fake home directory."""
    home = root / "home"
    gh = p.github
    _write(home / "app" / ".env", f"DEBUG=1\nGITHUB_TOKEN={gh('config')}\n")
    npm_line, _ = p.provider_line("config")
    _write(home / ".npmrc", f"registry=https://registry.npmjs.org/\n{npm_line}\n")
    _write(home / ".pypirc",
           f"[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = {gh('config')}\n")
    _write(home / ".netrc", f"machine github.com\n  login bot\n  password {gh('config')}\n")
    _write(home / ".git-credentials", f"https://bot:{gh('config')}@github.com\n")
    auth = base64.b64encode(f"bot:{gh('config')}".encode()).decode()
    _write(home / ".docker" / "config.json", json.dumps({"auths": {"ghcr.io": {"auth": auth}}}, indent=1))
    _write(home / ".kube" / "config", "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n"
           "    server: https://k8s.example.com\nusers:\n- name: ci\n  user:\n"
           f"    token: {gh('config')}\ncontexts: []\n")
    state = {"version": 4, "terraform_version": "1.6.0", "outputs": {"gh": {"value": gh("config"), "sensitive": True}},
             "resources": [{"mode": "managed", "type": "github_actions_secret", "name": "ci", "instances": [
                 {"attributes": {"secret_name": "TOKEN", "plaintext_value": gh("config")}}]}]}
    _write(home / "infra" / "terraform.tfstate", json.dumps(state, indent=2))
    _write(home / ".aws" / "credentials", f"[default]\nregion = eu-west-1\n\n[deploy]\ngithub = {gh('config')}\n")
    return home


def encoded(root: Path, p: Planter) -> Path:
    """Tokens hidden in base64, data URIs, hex, URL-encoding, unicode escapes and base64-of-hex."""
    def b64(s: str) -> str:
        return base64.b64encode(s.encode()).decode()
    t = [p.github("encoded") for _ in range(6)]
    lines = [f"blob: {b64('token=' + t[0])}",
             f'<img src="data:text/plain;base64,{b64("key " + t[1])}">',
             f"hex = {('key ' + t[2]).encode().hex()}",
             "url = " + "".join(f"%{b:02X}" for b in t[3].encode()),
             'json = "' + "".join(f"\\u{ord(c):04x}" for c in t[4]) + '"',
             f"nested = {b64(('x ' + t[5]).encode().hex())}"]
    return _write(root / "encoded" / "values.txt", "\n".join(lines) + "\n")
