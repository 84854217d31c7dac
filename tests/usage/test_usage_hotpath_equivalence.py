"""The monitor's faster paths give what the plain ones give: JSON-lines times, stored baselines read back."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from tokenward.store import Inventory
from tokenward.store.usage import Checkpoint, UsageState, profile_data, profile_json
from tokenward.usage.baseline import BUCKET, Profile
from tokenward.usage.events import AWS_KEY_ID, ParseContext, UsageEvent, fast_iso_seconds
from tokenward.usage.parsers import ParserOptions
from tokenward.usage.parsers.jsonl import JsonLinesParser

Z_ODDITIES = ["2025-03-03T00:00:60.5Z", "2025-03-03T00:00:61.0Z", "2025-03-03T00:00:-1.0Z", "2025-03-03T00:00:nanZ",
              "2025-03-03T00:00:infZ", "2025-03-03T00:00:1e1Z", "2025-03-03T00:00:5_0Z", "2025-03-03T00:00: 7.5Z",
              "2025-13-03T00:00:07.25Z", "2025-03-03T00:00:07.25z", "2025-03-03T00:00:07.Z", "2025-03-03T00:00:00.000Z",
              "1970-01-01T00:00:00.001Z", "2025-03-03T23:59:59.999999Z", "2025-03-03T00:0:07.25Z"]


def _reference(text: str) -> tuple[Any, ...]:
    try:
        return ("ok", fast_iso_seconds(text))
    except (ValueError, OverflowError):
        return ("malformed",)


def test_json_lines_z_times_are_what_the_reference_reader_gives() -> None:
    rng = random.Random(13)
    stamps = [time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(rng.randrange(0, 4102444800)))
              + f".{rng.randrange(1000):03d}Z" for _ in range(2000)] + Z_ODDITIES
    lines = [json.dumps({"ts": ts, "aws_key_id": "AKIAEXAMPLEKEY00001"}).encode() for ts in stamps]
    ctx = ParseContext("t.jsonl")
    events = {ev.line: ev.at for ev in JsonLinesParser(ParserOptions()).parse(lines, 1, ctx)}
    for line, ts in enumerate(stamps, 1):
        got = ("ok", events[line]) if line in events else ("malformed",)
        assert got == _reference(ts), ts
    assert ctx.malformed == sum(_reference(ts) == ("malformed",) for ts in stamps) > 5


TRICKY = ['{"events":9223372036854775807,"dev":NaN}', '{"n":-9223372036854775808,"mean":Infinity}',
          '{"last_ip":"\\ud800","peak":6,"dev":0.00012345678901234567}', '{"how":[1,2,3],"mean":1e-05,"thr":-Infinity}']


@pytest.mark.parametrize("text", TRICKY)
def test_a_stored_baseline_reads_as_json_reads_it(text: str) -> None:
    got, want = profile_data(text), json.loads(text)
    assert repr(got) == repr(want)  # same values and types (NaN, infinities and a lone surrogate through json)
    assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


def test_baselines_stored_and_read_back_by_the_inventory(tmp_path: Path) -> None:
    with Inventory.open(f"sqlite:///{tmp_path / 'i.db'}") as inv:
        state = UsageState(inv.engine)
        odd = {"token_id": "t1", "events": (1 << 63) - 1, "dev": float("nan"), "peak": 6}
        plain = _grown_profile().to_dict()
        state.checkpoint(Checkpoint({"t1": odd, "t2": plain}, (), (), {}, {}, (), ()))
        read = state.profiles()
    assert read["t1"]["events"] == (1 << 63) - 1 and isinstance(read["t1"]["events"], int)
    assert read["t1"]["dev"] != read["t1"]["dev"]  # NaN
    assert profile_json(read["t2"]) == profile_json(plain)


def _grown_profile() -> Profile:
    """A baseline fed 43 buckets of 1-6 events each, from two addresses."""
    p = Profile("t2")
    at, line = 1741000000.0, 0
    for b in range(43):  # the last bucket closed (the 42nd) has the most events: it sets the peak
        for i in range(1 + b % 6):
            line += 1
            ev = UsageEvent(at + b * BUCKET + i, AWS_KEY_ID, "AKIAEXAMPLEKEY00001", "aws", f"203.0.113.{i % 2 + 1}",
                            "curl/8", "s3:GetObject", 200, line)
            trig = p.observe(ev)
            if trig:
                p.learn(ev, trig, None, None)
    return p


def test_a_peak_set_by_a_bucket_count_is_stored_as_that_count() -> None:
    p = _grown_profile()
    text = profile_json(p.to_dict())
    assert json.loads(text)["peak"] == 6 and '"peak":6,' in text  # an int, as counted ("6", not "6.0")
    again = Profile.from_dict(profile_data(text))
    assert profile_json(again.to_dict()) == text

