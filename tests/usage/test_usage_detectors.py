"""Baselines and detectors: benign history stays quiet; each injected anomaly raises its alert, once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from tests import usage_samples as s
from tokenward.usage.alerts import Alert, AlertManager
from tokenward.usage.baseline import Profile
from tokenward.usage.detectors import DETECTORS, TokenInfo
from tokenward.usage.events import TOKEN_ID, UsageEvent
from tokenward.usage.geo import Geo, GeoPlace
from tokenward.usage.identity import Joiner, KnownToken, MemoryDirectory
from tokenward.usage.monitor import Monitor, MonitorOptions

TID = "5e" * 32
GB, GB2, DE, US = "81.2.69.160", "81.2.69.161", "185.220.101.1", "3.5.140.1"


class ListSink:
    """Collects alerts."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def close(self) -> None:
        pass


def run(tmp_path: Path, traffic: s.Traffic, info: TokenInfo | None = None, geo: Geo | None = None) -> list[Alert]:
    sink = ListSink()
    directory = MemoryDirectory([KnownToken(info or TokenInfo(TID, "aws", "AKIA…", owner="ana"), ())])
    monitor = Monitor(Joiner(directory), AlertManager([sink]), None, MonitorOptions("jsonl"), geo)
    monitor.run([str(traffic.write(tmp_path / "t.jsonl"))])
    return sink.alerts


def workday(after: datetime, hour: int = 10) -> datetime:
    """The next Monday-Friday after `after`, at hour (inside the benign traffic's habits)."""
    day = after + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.replace(hour=hour, minute=0)


def detectors(alerts: list[Alert]) -> list[str]:
    return sorted(a.detector for a in alerts)


def test_benign_history_raises_nothing(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    t.benign(days=35)
    assert run(tmp_path, t) == []


def test_stolen_key_new_country_scanner_and_sensitive_action(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    end = t.benign()
    at = end + timedelta(hours=3)
    t.add(at, DE, "sqlmap/1.7.2#stable (https://sqlmap.org)", "s3:GetObject")
    t.add(at + timedelta(minutes=1), DE, "sqlmap/1.7.2#stable", "iam:CreateAccessKey")
    t.add(at + timedelta(minutes=2), DE, "sqlmap/1.7.2#stable", "iam:CreateAccessKey")
    alerts = run(tmp_path, t)
    assert detectors(alerts) == ["bad-agent", "new-country", "new-ip-range", "off-hours", "sensitive-action"]
    country = next(a for a in alerts if a.detector == "new-country")
    assert country.severity == "high" and "DE" in country.observed and "GB" in country.expected
    assert country.owner == "ana" and country.evidence[0].where.endswith(f"t.jsonl:{len(t.lines) - 2}")
    assert country.baseline["events"] > 500


def test_scanner_agent_is_bad_even_while_learning(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    t.add(s.T0, GB, "Mozilla/5.0 (X11; Kali Linux x86_64) Gecko/20100101 Firefox/115.0", "s3:ListBuckets")
    assert detectors(run(tmp_path, t)) == ["bad-agent"]


def test_rate_spike_and_error_burst(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    end = t.benign()
    at = workday(end)
    for i in range(300):  # 300 requests in 5 minutes from the usual place
        t.add(at + timedelta(seconds=i), GB, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    probe = at + timedelta(hours=2)
    for i, action in enumerate(["s3:ListBucket", "s3:GetObject", "s3:PutObject"] * 20):
        t.add(probe + timedelta(seconds=i), GB, "aws-cli/2.15.0 Python/3.11.6", action, 403)
    alerts = run(tmp_path, t)
    assert detectors(alerts) == ["error-burst", "rate-spike", "rate-spike"]  # the probe is a burst of requests too
    spike = next(a for a in alerts if a.detector == "rate-spike")
    assert len(spike.evidence) == 2 and "-" in spike.evidence[0].where.rsplit(":", 1)[1]


def test_spike_alert_is_throttled(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    end = t.benign()
    at = workday(end)
    for minutes in (0, 10, 20, 90):  # three spikes inside an hour, one after it
        for i in range(400):
            t.add(at + timedelta(minutes=minutes, seconds=i), GB, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    assert detectors(run(tmp_path, t)) == ["rate-spike", "rate-spike"]


def test_off_hours_use(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    end = t.benign()
    sunday_night = (end + timedelta(days=(6 - end.weekday()) % 7 or 7)).replace(hour=3)
    t.add(sunday_night, GB, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    t.add(sunday_night + timedelta(minutes=20), GB, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    alerts = run(tmp_path, t)
    assert detectors(alerts) == ["off-hours"]
    assert "Sun 03:00" in alerts[0].observed


def test_use_after_revocation_past_grace(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    end = t.benign(days=3)
    revoked = end + timedelta(hours=1)
    t.add(revoked + timedelta(minutes=30), GB, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")  # within grace
    t.add(revoked + timedelta(hours=5), GB, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    info = TokenInfo(TID, "aws", "AKIA…", status="revoked", status_changed_at=revoked.timestamp())
    alerts = run(tmp_path, t, info)
    assert detectors(alerts) == ["revoked-use"] and alerts[0].severity == "critical"


def test_honeytoken_any_use(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    t.add(s.T0, GB, "curl/8", "s3:ListBuckets")
    alerts = run(tmp_path, t, TokenInfo(TID, "aws", "AKIA…", honeytoken=True))
    assert detectors(alerts) == ["honeytoken"] and alerts[0].severity == "critical"


def test_dormant_token_reactivated(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    end = t.benign(days=14)
    back = workday(end + timedelta(days=45), 11)
    t.add(back, GB, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    alerts = run(tmp_path, t)
    assert detectors(alerts) == ["dormant-reactivated"] and "days" in alerts[0].expected


def test_dormancy_is_relative_to_the_token_rhythm(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    start = workday(s.T0, 9)
    for i in range(60):  # busy for three hours
        t.add(start + timedelta(minutes=3 * i), GB, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    back = start + timedelta(days=10, hours=1)  # idle ten days: far beyond its usual minutes-long pauses
    for i in range(25):
        t.add(back + timedelta(minutes=1.6 * i), GB, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    alerts = run(tmp_path, t)
    assert "dormant-reactivated" in detectors(alerts)
    dormant = next(a for a in alerts if a.detector == "dormant-reactivated")
    assert "10 days" in dormant.expected and "dormant after 3 days" in dormant.expected


def test_a_steady_rhythm_is_not_dormancy(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    start = workday(s.T0, 9)
    for week in range(10):  # a weekly job: every pause is a week, none is dormancy
        for i in range(12):
            t.add(start + timedelta(weeks=week, minutes=5 * i), GB, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    assert "dormant-reactivated" not in detectors(run(tmp_path, t))


def test_a_learning_token_says_what_it_held_back(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    start = workday(s.T0, 9)
    for i in range(5):
        t.add(start + timedelta(minutes=i), GB, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    t.add(start + timedelta(days=10), DE, "python-requests/2.31", "iam:CreateUser", 403)
    sink = ListSink()
    directory = MemoryDirectory([KnownToken(TokenInfo(TID, "aws", "AKIA…", owner="ana"), ())])
    monitor = Monitor(Joiner(directory), AlertManager([sink]), None, MonitorOptions("jsonl"))
    summary = monitor.run([str(t.write(tmp_path / "t.jsonl"))])
    assert sink.alerts == []
    (learning,) = summary.learning
    assert learning.token_id == TID and learning.events == 6
    assert {"dormant-reactivated", "new-country", "sensitive-action"} <= set(learning.held)


def test_concurrent_use_from_two_countries(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    end = t.benign()
    at = workday(end)
    for i, ip in enumerate([GB, US, GB, US]):
        t.add(at + timedelta(minutes=i), ip, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    assert detectors(run(tmp_path, t)) == ["concurrent-countries", "new-country", "new-ip-range"]


def test_two_countries_as_a_habit_is_not_concurrent_use(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    t.benign(days=35, ips=(GB, US))
    assert run(tmp_path, t) == []


def test_new_network_for_a_stable_token_only(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    end = t.benign()
    t.add(workday(end, 11), "81.2.70.5", "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    alerts = run(tmp_path, t)
    assert detectors(alerts) == ["new-ip-range"] and alerts[0].severity == "medium"


class CityGeo(Geo):
    """Geo with a city database stand-in (MaxMind files are licensed and not on this machine)."""

    LONDON = GeoPlace("GB", None, None, "London", 51.5, -0.12)
    SEATTLE = GeoPlace("US", None, None, "Seattle", 47.6, -122.3)
    PLACES: ClassVar[dict[str, GeoPlace]] = {GB: LONDON, GB2: LONDON, US: SEATTLE}

    def __init__(self) -> None:
        super().__init__()
        self.city = object()

    def _lookup(self, ip: str) -> GeoPlace:
        return self.PLACES[ip]


def test_impossible_travel_with_city_data(tmp_path: Path) -> None:
    t = s.Traffic(TID)
    end = t.benign()
    at = workday(end)
    t.add(at, GB, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    t.add(at + timedelta(minutes=30), US, "aws-cli/2.15.0 Python/3.11.6", "s3:GetObject")
    assert "impossible-travel" in detectors(run(tmp_path, t, geo=CityGeo()))


def test_profile_round_trips_through_json() -> None:
    p = Profile(TID)
    for i in range(50):
        ev = UsageEvent(1.7e9 + i * 60, TOKEN_ID, TID, "aws", GB, None, "s3:GetObject", 403 if i % 7 == 0 else 200, i)
        trig = p.observe(ev)
        if trig:
            p.learn(ev, trig, GeoPlace("GB"), None)
    q = Profile.from_dict(json.loads(json.dumps(p.to_dict())))
    assert q.to_dict() == p.to_dict()
    assert q.actions == p.actions and q.uas == {None: "none"} and q.denied_actions == {"s3:GetObject": 8}


def test_memory_per_token_is_bounded() -> None:
    p = Profile(TID)
    for i in range(5000):
        ev = UsageEvent(1.7e9 + i, TOKEN_ID, TID, "aws", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", f"agent/{i}",
                        f"act{i}", 200, i)
        trig = p.observe(ev)
        if trig:
            p.learn(ev, trig, GeoPlace(), None)
    assert len(p.ips) <= 256 and len(p.prefixes) <= 128 and len(p.uas) <= 64 and len(p.actions) <= 513


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_every_detector_is_documented(name: str) -> None:
    d = DETECTORS[name]
    assert d.description and d.severity in ("critical", "high", "medium", "low") and d.triggers
