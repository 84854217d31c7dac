"""Format checks specific to the cloud rule family."""

from __future__ import annotations

from tokenward.checks.interface import CheckFactory

CHECKS: dict[str, CheckFactory] = {}
