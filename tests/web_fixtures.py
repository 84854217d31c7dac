"""Fixtures of the web tests (load with `pytest_plugins = ["tests.web_fixtures"]`): served inventories."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web_site import Site, backend_url, site


@pytest.fixture(scope="session", params=("sqlite", "postgresql"))
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A served, scanned inventory on each backend, shared by the API and browser tests (their assertions
    hold whatever the others triaged or scanned before them)."""
    base = tmp_path_factory.mktemp(f"web-{request.param}")
    with site(base, backend_url(request.param, base)) as s:
        yield s

