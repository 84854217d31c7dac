"""The HTML review is rendered by the Jinja2 environment the dashboard shares (autoescape, shared macros), not
by hand: no module of the HTML outputs escapes by itself, and the file stays one self-contained document."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import jinja2

from tests.conftest import REPO
from tests.report.test_report_properties import review
from tokenward.report.review_formats import REVIEW_RENDERERS
from tokenward.report.templating import environment, report_environment
from tokenward.web.render import templates

HTML_MODULES = ("report/review_html.py", "report/review_charts.py", "report/templating.py", "web/render.py",
                "web/pages.py", "web/api.py")


def _render(name: str = "deploy-bot", path: str = "app/.env") -> str:
    out = io.StringIO()
    REVIEW_RENDERERS["html"](review(path, "dev", "@acme/payments", "curl/8.0", name), out)
    return out.getvalue()


def test_no_html_module_escapes_or_builds_markup_by_hand() -> None:
    for rel in HTML_MODULES:
        source = (REPO / "src" / "tokenward" / rel).read_text(encoding="utf-8")
        names = {a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert not names & {"escape", "Markup", "Template"}, rel
        assert "string.Template" not in source and "markupsafe" not in source, rel


def test_the_review_and_the_dashboard_share_one_environment() -> None:
    web, report = templates(), report_environment()
    for env in (web, report):
        assert env.autoescape is True and env.undefined is jinja2.StrictUndefined
        assert {"when", "safe_url"} <= set(env.filters) and {"bars", "columns"} <= set(env.globals)
        assert env.get_template("_shared.html").module.severity("high") == '<span class="sev sev-high">high</span>'
    assert web.get_template("review.html") is not None  # the served pages see the report templates too
    assert environment().get_template("review.html").filename == report.get_template("review.html").filename


def test_the_review_is_one_self_contained_escaped_file() -> None:
    html = _render(name='<script>alert(1)</script>"><img src=x onerror=alert(2)>', path="a&b/<x>.env")
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert html.count("<script>") == 1 and html.count("<style>") == 1  # the review's own, inline
    assert not re.search(r'\s(src|href)="', html) and "<link" not in html and "@import" not in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img" in html
    assert "a&amp;b/&lt;x&gt;.env" in html
    assert html.count('<figure class="chart"') == 5 and html.count("<svg") == 5


def test_the_review_keeps_its_content() -> None:
    html = _render()
    text = re.sub(r"<[^>]+>", " ", html)
    for expected in ("Token security review", "leaked &amp; active", "rotation overdue", "Tokens by provider",
                     "Violations by severity", "Where tokens live", "Token age", "Leak timeline",
                     "Remove it from app/.env", "owner via manifest", "1 violation",
                     "(unmapped)", "deploy-bot", "Note: usage: curl/8.0", "No secret values are stored"):
        assert expected in text, expected
    assert Path(REPO / "src/tokenward/report/templates/review.html").read_text().startswith("{% from")
