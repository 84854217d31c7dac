"""Issue 10, items 2 and 4: the shapes peers accept for providers we cover are found at default
confidence by the expected rule, their near misses are not, and structured-config expansion never
demotes a rule's result below what the same file scanned as plain text gives."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.samples_base import Outcome, probed, scan_path
from tests.shape_samples import LookAlike, Shape, accepts, config_shapes, lookalikes, provider_shapes
from tokenward.engine import Matcher
from tokenward.rules.spec import confidence_rank

DEFAULT = confidence_rank("medium")


def _scan(matcher: Matcher, root: Path, path: str, text: str, source_type: str | None = None) -> Outcome:
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    options = probed(matcher)
    if source_type is not None:
        options = replace(options, source_type=source_type)
    return scan_path(matcher, root, options)


def _reported(outcome: Outcome, shape: Shape) -> list[tuple[str, str]]:
    return [(f.rule_id, f.confidence) for f in outcome.of(shape.secret)]


def _found(outcome: Outcome, shape: Shape) -> bool:
    hits = _reported(outcome, shape)
    return any(accepts(shape.rule, rule) and confidence_rank(conf) >= DEFAULT for rule, conf in hits)


@pytest.mark.parametrize("shape", provider_shapes(), ids=lambda s: s.name)
def test_provider_shape_is_found(tmp_path: Path, matcher: Matcher, shape: Shape) -> None:
    outcome = _scan(matcher, tmp_path, shape.path, shape.text)
    assert _found(outcome, shape), f"{shape.name}: expected {shape.rule}, got {_reported(outcome, shape)}"


@pytest.mark.parametrize("shape", config_shapes(), ids=lambda s: s.name)
def test_structured_config_keeps_the_rule_result(tmp_path: Path, matcher: Matcher, shape: Shape) -> None:
    outcome = _scan(matcher, tmp_path / "auto", shape.path, shape.text)
    assert _found(outcome, shape), f"{shape.name}: expected {shape.rule}, got {_reported(outcome, shape)}"
    plain = _scan(matcher, tmp_path / "plain", shape.path, shape.text, source_type="plain")
    best = max((confidence_rank(f.confidence) for f in outcome.of(shape.secret)), default=-1)
    assert all(confidence_rank(f.confidence) <= best for f in plain.of(shape.secret)), "expansion demoted a finding"


@pytest.mark.parametrize("near", lookalikes(), ids=lambda n: n.name)
def test_lookalike_is_not_reported(tmp_path: Path, matcher: Matcher, near: LookAlike) -> None:
    outcome = _scan(matcher, tmp_path, near.path, near.text)
    wrong = [(f.rule_id, f.confidence) for f in outcome.findings
             if accepts(near.rule, f.rule_id) and confidence_rank(f.confidence) >= DEFAULT]
    assert not wrong, f"{near.name}: {wrong}"


def test_docker_config_keeps_json_syntax_and_key_path(tmp_path: Path, matcher: Matcher) -> None:
    shape = next(s for s in config_shapes() if s.name == "docker-config-auth")
    outcome = _scan(matcher, tmp_path, shape.path, shape.text)
    finding = next(f for f in outcome.of(shape.secret) if f.rule_id == "generic.registry-auth")
    details = dict(finding.origin.details)
    assert details["format"] == "docker-config" and details["key_path"] == "auths.registry.corp.invalid"
    assert finding.location.line == shape.text.splitlines().index(
        next(line for line in shape.text.splitlines() if shape.secret in line)) + 1
