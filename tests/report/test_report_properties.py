"""Property: hostile file names, commit data and log fields go through every output format inertly.

Every scan format (text, json, jsonl, csv, sarif) and every review format (text, json, sarif, md, html)
renders without an error; terminal output carries no raw control character; Markdown and HTML carry no
unescaped `<` or `"` from the input and no tag or attribute the renderer did not write; no CSV cell
starts with a spreadsheet formula character; JSON formats keep the values exactly.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenward.classify import Exposure
from tokenward.findings import Finding, Location
from tokenward.owners import Owner
from tokenward.policy.model import Place, Review, ReviewSummary, TokenView, Violation
from tokenward.report import REPORTERS
from tokenward.report.review_formats import REVIEW_RENDERERS
from tokenward.results import ScanResult, ScanSummary
from tokenward.sources.interface import CommitInfo, GitProvenance, Origin, SkippedItem

MARK = '<zq"'  # planted in every hostile value: must never reach HTML or Markdown unescaped
FRAGMENTS = ("[/red]", "[bold]", "[link=http://e]", "\x1b[31m", "\x1b]8;;http://e\x07", "\x9b", "\r", "\n", "\t",
             "\x00", "\x7f", "\u202e", "\u2028", "<img src=x onerror=alert(1)>", '"><script>alert(1)</script>',
             "'", "&amp;", "|", "`", "*", "_", "![x](http://e/x.png)", "[a](javascript:alert(1))", "=1+2",
             "+SUM(A1)", "-2+3", "@cmd", "\\", "%", ":smile:", "# h", "> q", "\ufeff", "é", "😀")
TERMINAL_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "\n")  # what a spreadsheet or CSV importer takes for a formula
NOW = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)

fragment = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6))
hostile = st.builds(lambda a, b: "".join(a) + MARK + "".join(b),
                    st.lists(fragment, max_size=4), st.lists(fragment, max_size=4))


def scan_result(path: str, author: str, message: str, detail: str, skipped: str, secret: str | None) -> ScanResult:
    commit = CommitInfo("ab" * 20, author, f"{author}@example.org", "2024-05-06T07:08:09Z", message)
    origin = Origin("git", "/repo", path, blob_id="cd" * 20, details=(("channel", detail),),
                    git=GitProvenance(commit, paths=(path,), refs=("refs/heads/main",), in_head=True))
    finding = Finding(rule_id="github.pat-classic", rule_name="GitHub classic PAT", provider="github",
                      kind="pat-classic", confidence="high", token_id="0" * 64, preview="ghp_…abcd", public_id=None,
                      public_ids=(), origin=origin, location=Location(1, 1, 1, 41, 0, 40), secret=secret)
    summary = ScanSummary(blobs_scanned=1, bytes_scanned=40, findings=1, tokens=1, suppressed={}, skipped={},
                          errors=1, seconds=0.1, ruleset="r", rules=1)
    return ScanResult((finding,), (SkippedItem(skipped, skipped, "error"),), summary)


def review(path: str, author: str, owner: str, field: str, name: str) -> Review:
    token = TokenView(
        key="1" * 64, token_id="1" * 64, provider="github", kind="pat-classic", preview="ghp_…abcd", label=name,
        origins=("scan", "manifest"), records=(),
        places=(Place("source-code", "/repo", path, 3, "ef" * 20, author, NOW, True),),
        exposure=Exposure(True, True, False, None, (path,)), owner=Owner(owner, "manifest", field),
        environment=field, privilege="admin", privilege_basis=field, scopes=(field,), created_at=NOW,
        first_seen=NOW, expires_at=None, last_used_at=NOW, age_days=400, active=True, active_basis=field,
        status="open", services=(field,), environments=(field,), storage=(field,))
    unowned = TokenView(**{**token.__dict__, "key": "2" * 64, "token_id": "2" * 64, "owner": None})
    violations = tuple(
        Violation(check, severity, t.key, name, "github", t.owner.name if t.owner else None,
                  f"Leaked: {name} in {path}", (f"seen from agent {field}", f"committed by {author}"),
                  f"Remove it from {path}", path=path, line=3)
        for check, severity, t in (("leaked", "high", token), ("unmapped-owner", "medium", unowned)))
    summary = ReviewSummary(tokens=2, leaked=2, active_and_leaked=2, unmapped=1, overdue=0, violations=2,
                            by_severity={"high": 1, "medium": 1})
    return Review(NOW, field, path, (token, unowned), violations, summary, notes=(f"usage: {field}",),
                  tool_version="0")


class Tags(HTMLParser):
    """The tags and attribute names of a document, and whether a MARK was seen as markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attrs: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)


def markup_of(document: str) -> Tags:
    parser = Tags()
    parser.feed(document)
    parser.close()
    return parser


BENIGN = review("app/.env", "dev", "@acme/payments", "curl/8.0", "deploy-bot")
BENIGN_HTML = io.StringIO()
REVIEW_RENDERERS["html"](BENIGN, BENIGN_HTML)
HTML_MARKUP = markup_of(BENIGN_HTML.getvalue())


def render(renderer: object, value: object) -> str:
    out = io.StringIO()
    renderer(value, out)  # type: ignore[operator]
    return out.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=hostile, author=hostile, message=hostile, detail=hostile, skipped=hostile,
       show=st.booleans())
def test_scan_formats_render_hostile_values_inertly(path: str, author: str, message: str, detail: str,
                                                    skipped: str, show: bool) -> None:
    result = scan_result(path, author, message, detail, skipped, "ghp_" + "x" * 36 if show else None)
    outputs = {fmt: render(reporter, result) for fmt, reporter in REPORTERS.items()}
    assert set(outputs) >= {"text", "json", "jsonl", "csv", "sarif"}
    assert not TERMINAL_CONTROL.search(outputs["text"]), outputs["text"]
    if show:
        assert "ghp_" + "x" * 36 in outputs["text"]  # whole, never cut, also when not a terminal
    doc = json.loads(outputs["json"])
    source = doc["findings"][0]["source"]
    assert source["path"] == path and source["details"]["channel"] == detail
    assert source["git"]["first_commit"]["summary"] == message and doc["skipped"][0]["location"] == skipped
    assert json.loads(outputs["jsonl"])["source"]["git"]["first_commit"]["author"] == author
    sarif = json.loads(outputs["sarif"])
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert not re.search(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]", uri), uri  # an RFC 3986 reference
    rows = list(csv.reader(io.StringIO(outputs["csv"])))
    assert rows[1][rows[0].index("path")] == ("'" + path if path.startswith(FORMULA_LEADS) else path)
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(FORMULA_LEADS), cell


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=hostile, author=hostile, owner=hostile, field=hostile, name=hostile)
def test_review_formats_render_hostile_values_inertly(path: str, author: str, owner: str, field: str,
                                                      name: str) -> None:
    rv = review(path, author, owner, field, name)
    outputs = {fmt: render(renderer, rv) for fmt, renderer in REVIEW_RENDERERS.items()}
    assert set(outputs) >= {"text", "json", "sarif", "md", "html"}
    assert not TERMINAL_CONTROL.search(outputs["text"]), outputs["text"]
    assert json.loads(outputs["json"])["tokens"][0]["owner"]["name"] == owner
    json.loads(outputs["sarif"])
    for fmt in ("md", "html"):
        assert MARK[:3] not in outputs[fmt] and MARK[1:] not in outputs[fmt], fmt
    md = markup_of(outputs["md"])
    assert md.tags <= {"br", "code"} and not md.attrs, (md.tags, md.attrs)
    assert '"' not in outputs["md"]
    html = markup_of(outputs["html"])
    assert html.tags <= HTML_MARKUP.tags and html.attrs <= HTML_MARKUP.attrs, (html.tags, html.attrs)
