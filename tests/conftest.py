"""Shared fixtures: an isolated config/cache/data home per test and one compiled rule set per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tokenward.engine import Matcher
from tokenward.rules.compile import compile_rules
from tokenward.rules.spec import load_rules

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"  # vendored published schemas and the peer checklist: the repo stands alone
# Compiled rule databases are content-addressed, so every test (and every CLI subprocess) can share
# one cache; without it each isolated home would recompile the whole rule set.
COMPILED_CACHE = Path(os.environ.get("TOKENWARD_TEST_COMPILED_CACHE", "/tmp/tokenward-test-compiled-cache"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point config, cache and data directories at a fresh temporary home."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"), ("XDG_DATA_HOME", "data")):
        monkeypatch.setenv(var, str(home / sub))
    for var in ("TOKENWARD_KEY", "TOKENWARD_CONFIG_DIR", "TOKENWARD_CACHE_DIR", "TOKENWARD_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TOKENWARD_COMPILED_CACHE", str(COMPILED_CACHE))
    yield home


@pytest.fixture(scope="session")
def matcher() -> Matcher:
    """The built-in rule set, compiled once per test session (no disk cache)."""
    return Matcher(compile_rules(load_rules(), cache=False))


def env_for(home: Path) -> dict[str, str]:
    """A subprocess environment using the given isolated home."""
    env = dict(os.environ)
    env.update({"XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"),
                "XDG_DATA_HOME": str(home / "data")})
    for var in ("TOKENWARD_KEY", "TOKENWARD_CONFIG_DIR", "TOKENWARD_CACHE_DIR", "TOKENWARD_DB"):
        env.pop(var, None)
    env["TOKENWARD_COMPILED_CACHE"] = str(COMPILED_CACHE)
    return env
