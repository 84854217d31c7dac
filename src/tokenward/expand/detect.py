"""Content sniffing: which format a blob is, from its first bytes and its name (cheap: no full parse)."""

from __future__ import annotations

import re

HEAD = 8192
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"%PDF-", "pdf"), (b"SQLite format 3\x00", "sqlite"),
)
CONTAINERS = frozenset({"zip", "gzip", "bzip2", "xz", "zstd", "7z", "tar", "pdf", "sqlite"})
ARCHIVES = frozenset({"zip", "gzip", "bzip2", "xz", "zstd", "7z", "tar"})
NAME_SUFFIX: tuple[tuple[str, str], ...] = (
    (".ipynb", "notebook"), (".md", "markdown"), (".markdown", "markdown"), (".eml", "email"),
    (".mbox", "mbox"), (".tfstate", "tfstate"), (".tfstate.backup", "tfstate"), (".tar", "tar"),
    (".env", "dotenv"),
)
NAME_EXACT = {
    ".npmrc": "line-config", ".netrc": "line-config", "_netrc": "line-config",
    ".git-credentials": "line-config", ".pypirc": "ini-config", ".env": "dotenv",
}
K8S_SECRET_KIND = re.compile(rb"(?m)^kind:[ \t]{0,4}[\"']?Secret[\"']?[ \t]*\r?$")
K8S_STARTS = (b"a", b"k", b"-", b"#", b"m", b"d", b"s", b"t")  # apiVersion, kind, ---, comments, fields
# A workload whose containers set environment variables: `- name: X` with `value: …` on the next line.
K8S_ENV_PAIR = re.compile(rb"\n[ \t]*-[ \t]+name:[ \t]*[\"']?[\w.-]+[\"']?[ \t]*\r?\n[ \t]+value:")
GHA_TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ")
CI_STARTS = (b"\x1b[", b"##[", b"section_start:", b"[Pipeline]", b"Started by ", b"Running with gitlab-runner")
MARKER_SPAN = 2048  # CI logs show their markers in the first lines
JSON_SPAN = 4096  # export markers sit in the first record
MAIL_FIRST = (b"Received:", b"Return-Path:", b"From:", b"Delivered-To:", b"Message-ID:", b"Message-Id:",
              b"MIME-Version:", b"Date:", b"Subject:", b"To:", b"X-")


def basename(path: str) -> str:
    """The last component of a display path (after archive '!/' separators), lower-cased."""
    return path.rsplit("/", 1)[-1].lower()


def is_container(fmt: str | None) -> bool:
    """True for binary formats an expander opens (they must not be skipped as binary)."""
    return fmt in CONTAINERS


MAGIC_FIRST = frozenset(magic[:1] for magic, _ in MAGIC)
SUFFIXES = tuple(suffix for suffix, _ in NAME_SUFFIX)
NAMES_BY_PLACE = frozenset({"credentials", "config", "config.json"})


def by_magic(head: bytes) -> str | None:
    """Binary container formats recognised from their magic bytes (zip, gzip, …, tar)."""
    if head[:1] in MAGIC_FIRST:  # one set lookup spares the nine prefix tests for ordinary text
        for magic, fmt in MAGIC:
            if head.startswith(magic):
                return fmt
    if head[257:262] == b"ustar":
        return "tar"
    return None


def container(head: bytes, path: str) -> bool:
    """True when head or path names a container format (the cheap part of sniff(): every file read asks)."""
    return by_magic(head) is not None or by_name(path, head) == "tar"


def sniff(head: bytes, path: str) -> str | None:
    """The format of a blob from its head and display path, or None for plain text."""
    name = basename(path)
    return by_magic(head) or by_name(path, head, name) or by_head(head, name)


def by_name(path: str, head: bytes, name: str | None = None) -> str | None:
    """Formats recognised from the file name (dot-files, suffixes, well-known config locations)."""
    name = basename(path) if name is None else name
    if name in NAME_EXACT:
        return NAME_EXACT[name]
    if name.startswith(".env.") and not name.endswith((".example", ".sample", ".template")):
        return "dotenv"
    if name.endswith(SUFFIXES):
        return next(fmt for suffix, fmt in NAME_SUFFIX if name.endswith(suffix))
    if name not in NAMES_BY_PLACE and not name.startswith("kubeconfig"):
        return None
    lower = path.lower()
    if name == "credentials" and "/.aws/" in f"/{lower}":
        return "ini-config"
    if (name == "config" and "/.kube/" in f"/{lower}") or name.startswith("kubeconfig"):
        return "kubeconfig"
    if name == "config.json" and "/.docker/" in f"/{lower}":
        return "docker-config"
    return None


def by_head(head: bytes, name: str) -> str | None:
    """Formats recognised from the first bytes of text (exports, logs, mail, structured configs).

    This runs for every file scanned, so it costs a few µs: prefix tests and single-byte searches
    (memchr) first; substring searches only once the first character says JSON or markup.
    """
    start = head[:64].lstrip()[:1]
    if start in (b"[", b"{"):
        return _json_kind(head[:JSON_SPAN])
    if start == b"<":
        return _markup_kind(head, name)
    if head.startswith(b"From ") and (b"\nFrom:" in head or b"\nSubject:" in head):
        return "mbox"
    if head.startswith(MAIL_FIRST) and b"\nSubject:" in head and b"From:" in head:
        return "email"
    if head.startswith(CI_STARTS) or GHA_TIMESTAMP.match(head) or _ansi_in(head):
        return "ci-log"
    if name.endswith(".csv") and b"Issue key" in head.split(b"\n", 1)[0]:
        return "jira-csv"
    if head.startswith(b"apiVersion:") and b"kind: Config" in head and b"clusters:" in head:
        return "kubeconfig"
    if start in K8S_STARTS and b"kind:" in head and (
            (b"Secret" in head and K8S_SECRET_KIND.search(head)) or (b"value:" in head and K8S_ENV_PAIR.search(head))):
        return "k8s-manifest"
    return None


def _ansi_in(head: bytes) -> bool:
    at = head.find(b"\x1b", 0, MARKER_SPAN)  # one byte: memchr
    return at >= 0 and head[at + 1: at + 2] == b"["


def _json_kind(head: bytes) -> str | None:
    if b'"ts"' in head and (b'"type": "message"' in head or b'"type":"message"' in head):
        return "slack"
    if b'"MessageList"' in head or b'"originalarrivaltime"' in head:
        return "teams"
    if b'"messageType"' in head and b'"createdDateTime"' in head:
        return "teams"
    if b'"fields"' in head and b'"key"' in head and (b'"issues"' in head or b'"self"' in head):
        return "jira-json"
    if b'"cell_type"' in head and b'"cells"' in head:
        return "notebook"
    if b'"terraform_version"' in head:
        return "tfstate"
    if b'"auths"' in head or b'"credHelpers"' in head:
        return "docker-config"
    if b'"kind": "Secret"' in head or b'"kind":"Secret"' in head:
        return "k8s-manifest"
    if b'"containerDefinitions"' in head and b'"environment"' in head:
        return "ecs-task"
    return None


def _markup_kind(head: bytes, name: str) -> str | None:
    if b"<entity-engine-xml" in head or (b"<rss" in head and b"jira" in head.lower()):
        return "jira-xml"
    if b"<hibernate-generic" in head:
        return "confluence-xml"
    if b"wiki-content" in head or b"breadcrumb-section" in head or b'id="title-text"' in head:
        return "confluence-html"
    if (b"<ac:" in head or b"<ri:" in head) and b"<html" not in head.lower():
        return "confluence-storage"
    return None


FAMILIES: dict[str, frozenset[str]] = {
    "archive": ARCHIVES,
    "document": frozenset({"zip", "pdf", "sqlite"}),
    "image": frozenset({"tar", "gzip", "zip"}),
    "slack": frozenset({"slack", "zip"}),
    "teams": frozenset({"teams", "zip"}),
    "jira": frozenset({"jira-json", "jira-xml", "jira-csv", "zip"}),
    "confluence": frozenset({"confluence-html", "confluence-xml", "confluence-storage", "zip"}),
    "notes": frozenset({"markdown", "email", "mbox", "zip"}),
    "ci-log": frozenset({"ci-log", "zip", "gzip"}),
    "notebook": frozenset({"notebook"}),
    "config": frozenset({"dotenv", "line-config", "ini-config", "kubeconfig", "docker-config", "tfstate",
                         "k8s-manifest", "ecs-task"}),
}
SOURCE_TYPE_NAMES = ("auto", "plain", *FAMILIES)


def forced(source_type: str, head: bytes, path: str) -> str | None:
    """The format to use when the user forces a source type; None when the input cannot be one."""
    if source_type == "plain":
        return "plain"
    sniffed = sniff(head, path)
    if source_type == "auto" or sniffed in FAMILIES[source_type]:
        return sniffed
    start = head.lstrip()[:1]
    if source_type in ("slack", "teams", "ci-log", "notebook"):
        return None if is_container(sniffed) else source_type
    if source_type == "jira":
        return {b"<": "jira-xml", b"{": "jira-json", b"[": "jira-json"}.get(start, "jira-csv")
    if source_type == "confluence":
        return "confluence-xml" if b"<hibernate-generic" in head else "confluence-html" if start == b"<" else None
    if source_type == "notes":
        return "mbox" if head.startswith(b"From ") else "email" if head.startswith(MAIL_FIRST) else "markdown"
    if source_type == "config":
        return None if is_container(sniffed) else "line-config"
    return None
