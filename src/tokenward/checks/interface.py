"""The check interface: a named predicate a rule applies to each candidate match."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[bytes, bytes], bool]
"""Keep the match? Called with (secret, whole matched text)."""

CheckFactory = Callable[[Any], Check]
"""Build a Check from the rule's argument for it (None when the rule gave only the name)."""
