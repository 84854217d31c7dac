"""The one test-side check for "running under CI" (CI=1/true/yes): where a required service is missing,
tests fail under CI and skip elsewhere."""

from __future__ import annotations

import os


def in_ci() -> bool:
    """True when the CI environment variable says so (1, true or yes, any case)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
