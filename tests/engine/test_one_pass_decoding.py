"""The decoding pass folded into the rule database finds exactly what the expanders' own decoding finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import samples_archives as A
from tests import samples_exports as E
from tests.samples_base import Planter
from tokenward.engine import Matcher
from tokenward.expand import ExpandOptions
from tokenward.findings import Finding
from tokenward.identity import Fingerprinter
from tokenward.rules.compile import compile_rules
from tokenward.rules.spec import load_rules
from tokenward.scanner import Scanner, scan_ruleset
from tokenward.sources.filesystem import FilesystemSource


@pytest.fixture(scope="module")
def folded() -> Matcher:
    return Matcher(scan_ruleset(load_rules(), cache=False))


def _corpus(root: Path) -> Planter:
    planter = Planter()
    E.encoded(root / "encoded", planter)
    E.configs(root / "configs", planter)
    E.slack_zip(root / "slack", planter)
    E.jira_json(root / "jira", planter)
    A.archives(root / "archives", planter)
    return planter


def _scan(matcher: Matcher, root: Path) -> tuple[set[tuple[object, ...]], int]:
    options = ExpandOptions(probe=matcher.ruleset)
    scanner = Scanner(matcher, Fingerprinter(b"k" * 32), show_secrets=True, jobs=1, expand_options=options)
    result = scanner.scan_items(FilesystemSource(root))
    assert not [s for s in result.skipped if s.severity == "error"]
    return {_key(f) for f in result.findings}, result.blobs


def _key(f: Finding) -> tuple[object, ...]:
    return (f.rule_id, f.secret, f.origin.path, f.origin.details, f.location.line)


def test_folded_decoding_finds_what_the_expanders_find(tmp_path: Path, matcher: Matcher, folded: Matcher) -> None:
    planter = _corpus(tmp_path)
    assert folded.ruleset.extra and not matcher.ruleset.extra
    one_pass, blobs = _scan(folded, tmp_path)
    two_passes, blobs_before = _scan(matcher, tmp_path)
    assert one_pass == two_passes
    assert blobs == blobs_before  # decoded texts are still counted as blobs
    encoded = planter.planted["encoded"]
    chains = {dict(k[3]).get("encoding") for k in one_pass if any(t in str(k[1]) for t in encoded)}
    assert {"base64", "hex", "url", "unicode-escape", "base64>hex"} <= chains


def test_a_rule_set_without_finders_decodes_in_the_expanders(tmp_path: Path, matcher: Matcher) -> None:
    scanner = Scanner(matcher, Fingerprinter(b"k" * 32), jobs=1)
    assert scanner.decode_depth == 0 and scanner.expand_options.decode
    folded = Scanner(Matcher(compile_rules(load_rules()[:3], cache=False, extra=[(b"zz", 0)])),
                     Fingerprinter(b"k" * 32), jobs=1, expand_options=ExpandOptions(keywords=("custom",)))
    assert folded.decode_depth == 0  # custom decoding keywords: the built-in finders do not apply
