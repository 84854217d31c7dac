"""Named validators that rules apply after matching; the explicit registry lives here."""

from __future__ import annotations

from typing import Any

from tokenward.checks import checksum, cloud, comms, devtools, entropy, jwt, pem, placeholder
from tokenward.checks.interface import Check, CheckFactory
from tokenward.errors import CheckError

REGISTRY: dict[str, CheckFactory] = {
    **checksum.CHECKS,
    **entropy.CHECKS,
    **jwt.CHECKS,
    **placeholder.CHECKS,
    **pem.CHECKS,
    **cloud.CHECKS,
    **devtools.CHECKS,
    **comms.CHECKS,
}


# Checks that verify a format's own checksum: a value failing only these is a look-alike of the
# provider's token (a test fixture, a typo), reported as such at low confidence.
CHECKSUM_CHECKS = frozenset({"github_checksum", "npm_checksum", "grafana_sa_checksum", "bech32"})


def build_check(name: str, arg: Any) -> Check:
    """Instantiate the named check with its argument; CheckError when it does not exist."""
    factory = REGISTRY.get(name)
    if factory is None:
        known = ", ".join(sorted(REGISTRY))
        raise CheckError(f"unknown check {name!r} (known: {known})")
    return factory(arg)
