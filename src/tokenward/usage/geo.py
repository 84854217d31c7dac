"""Where an address is: country offline (iptocc), optionally city and ASN from MaxMind databases."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import iptocc

from tokenward.errors import UsageError

CACHE = 1 << 16


@dataclass(frozen=True)
class GeoPlace:
    """What is known about an IP address's location and network."""

    country: str | None = None
    asn: int | None = None
    asn_org: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None


def prefix(ip: str) -> str:
    """The address's network: /24 for IPv4, /64 for IPv6 (textual, no validation)."""
    if ":" in ip:
        groups = ip.split("::", 1)[0].split(":") if "::" in ip else ip.split(":")
        return ":".join(([*groups, "0", "0", "0", "0"])[:4]) + "::/64"
    head, dot, _ = ip.rpartition(".")  # what ip.rsplit(".", 1)[0] keeps, without building a list
    return (head if dot else ip) + ".0/24"


def distance_km(a: GeoPlace, b: GeoPlace) -> float | None:
    """Great-circle distance between two places with coordinates, else None."""
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return None
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _open(path: str | None) -> Any:
    if not path:
        return None
    try:
        import maxminddb
    except ImportError:
        raise UsageError("MaxMind databases need maxminddb: pip install 'tokenward[geoip]'") from None
    try:
        return maxminddb.open_database(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot open MaxMind database {path}: {exc}") from None


def _city(reader: Any, ip: str) -> dict[str, Any]:
    try:
        rec = reader.get(ip)
    except ValueError:
        return {}
    return rec if isinstance(rec, dict) else {}


class Geo:
    """Address lookups with a bounded cache: iptocc for countries, MaxMind City/ASN when given."""

    def __init__(self, city_db: str | None = None, asn_db: str | None = None) -> None:
        self.city = _open(city_db)
        self.asn = _open(asn_db)
        self._cache: dict[str, GeoPlace] = {}

    @property
    def has_city(self) -> bool:
        """True when city coordinates are available (impossible travel can run)."""
        return self.city is not None

    def place(self, ip: str) -> GeoPlace:
        """The GeoPlace of ip (empty for private, reserved or malformed addresses)."""
        hit = self._cache.get(ip)
        if hit is None:
            if len(self._cache) >= CACHE:
                self._cache.clear()
            hit = self._cache[ip] = self._lookup(ip)
        return hit

    def _lookup(self, ip: str) -> GeoPlace:
        country = iptocc.country_code(ip)
        city = _city(self.city, ip) if self.city else {}
        asn = _city(self.asn, ip) if self.asn else {}
        loc = city.get("location") or {}
        return GeoPlace(country=(city.get("country") or {}).get("iso_code") or country,
                     asn=asn.get("autonomous_system_number"), asn_org=asn.get("autonomous_system_organization"),
                     city=((city.get("city") or {}).get("names") or {}).get("en"),
                     lat=loc.get("latitude"), lon=loc.get("longitude"))
