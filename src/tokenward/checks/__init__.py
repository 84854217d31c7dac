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


def build_check(name: str, arg: Any) -> Check:
    """Instantiate the named check with its argument; CheckError when it does not exist."""
    factory = REGISTRY.get(name)
    if factory is None:
        known = ", ".join(sorted(REGISTRY))
        raise CheckError(f"unknown check {name!r} (known: {known})")
    return factory(arg)
