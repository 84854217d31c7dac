"""The explicit registry of review output formats."""

from __future__ import annotations

from typing import Protocol, TextIO

from tokenward.policy.model import Review
from tokenward.report.review_html import render_review_html
from tokenward.report.review_json import render_review_json
from tokenward.report.review_md import render_review_md
from tokenward.report.review_sarif import render_review_sarif
from tokenward.report.review_text import render_review_text


class ReviewRenderer(Protocol):
    """Writes a Review in one format."""

    def __call__(self, review: Review, out: TextIO) -> None:
        """Render review to out."""
        ...


REVIEW_RENDERERS: dict[str, ReviewRenderer] = {
    "text": render_review_text,
    "json": render_review_json,
    "sarif": render_review_sarif,
    "md": render_review_md,
    "html": render_review_html,
}
