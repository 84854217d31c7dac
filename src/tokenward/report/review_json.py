"""JSON review renderer."""

from __future__ import annotations

import json
from typing import TextIO

from tokenward.policy.model import Review
from tokenward.report.review_records import review_document


def render_review_json(review: Review, out: TextIO) -> None:
    """The versioned review document."""
    json.dump(review_document(review), out, indent=2)
    out.write("\n")
