"""The detection-code digest changes with the code that decides findings, and only with it."""

from __future__ import annotations

import shutil
from pathlib import Path

from tokenward import codehash


def _tree(root: Path) -> Path:
    for rel in ("checks/entropy.py", "checks/words/vocabulary.txt", "engine.py", "cli/scan.py", "rules/spec.py",
                "rules/providers/scopes.yml", "rules/builtin/acme.yml"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"# {rel}\n")
    return root


def test_digest_follows_the_detection_code_only(tmp_path: Path) -> None:
    base = codehash.detection_digest(_tree(tmp_path / "a"))
    # Rule files are in the rule-set digest; provider facts (public ids in findings) are not.
    for rel, changes in (("checks/entropy.py", True), ("checks/words/vocabulary.txt", True), ("engine.py", True),
                         ("rules/providers/scopes.yml", True), ("rules/builtin/acme.yml", False),
                         ("cli/scan.py", False)):
        copy = tmp_path / f"copy-{rel.replace('/', '-')}"
        shutil.copytree(tmp_path / "a", copy)
        (copy / rel).write_text("# changed\n")
        assert (codehash.detection_digest(copy) != base) is changes, rel


def test_the_installed_package_has_a_digest() -> None:
    assert len(codehash.detection_digest()) == 16
    assert any(p.name == "placeholder.py" for p in codehash._files(codehash.PACKAGE))
