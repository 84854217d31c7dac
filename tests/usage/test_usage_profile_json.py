"""A baseline's stored text (store.usage.profile_json): orjson's where it can, read back as json.dumps's was."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from tokenward.store.usage import profile_data, profile_json
from tokenward.usage.baseline import BUCKET, Profile
from tokenward.usage.events import AWS_KEY_ID, UsageEvent


def _profile() -> Profile:
    """A baseline fed three days of events from a few addresses, agents and actions."""
    p = Profile("t1")
    for i in range(3 * 144):
        ev = UsageEvent(1741000000.25 + i * BUCKET / 2, AWS_KEY_ID, "AKIAEXAMPLEKEY00001", "aws",
                        f"203.0.113.{i % 7}", f"agent/{i % 3}", f"s3:Get{i % 5}", 403 if i % 11 == 0 else 200, i + 1)
        trig = p.observe(ev)
        if trig:
            p.learn(ev, trig, None, None)
    return p


def test_a_baseline_reads_back_as_the_one_json_dumps_wrote() -> None:
    data = _profile().to_dict()
    text = profile_json(data)
    assert repr(profile_data(text)) == repr(json.loads(json.dumps(data))) == repr(data)  # same values and types
    assert list(json.loads(text)) == list(data)  # keys in the baseline's order
    assert profile_json(Profile.from_dict(profile_data(text)).to_dict()) == text


ODD: list[dict[str, Any]] = [
    {"token_id": "t", "dev": math.nan, "mean": 1.5},  # orjson would write null
    {"token_id": "t", "thr": -math.inf},
    {"token_id": "t", "uas": [["\ud800", "x"]]},  # orjson refuses a lone surrogate
    {"token_id": "t", "events": 1 << 70},  # and an integer beyond 64 bits
    {"token_id": "t", "countries": {1: 2}},  # and a key that is not a string
    {"token_id": "t", "uas": [["Mozilla/5.0 (Ünïcode) 日本", "Mozilla"]], "mean": 1e-05, "peak": 1e16},
]


@pytest.mark.parametrize("data", ODD)
def test_an_odd_baseline_reads_back_as_json_dumps_wrote_it(data: dict[str, Any]) -> None:
    got, want = json.loads(profile_json(data)), json.loads(json.dumps(data))
    assert repr(got) == repr(want)  # NaN and infinities as numbers, not null
