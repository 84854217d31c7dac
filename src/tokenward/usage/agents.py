"""User-agent families (ua-parser) and the agents an API token should never meet."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

CACHE = 1 << 14
SCANNERS = ("sqlmap", "nikto", "nmap", "masscan", "zgrab", "nuclei", "gobuster", "dirbuster", "dirb/", "wfuzz",
            "ffuf", "hydra", "burp", "metasploit", "zap/", "owasp", "acunetix", "nessus", "openvas", "w3af",
            "whatweb", "wpscan", "feroxbuster", "trufflehog", "pacu", "scoutsuite", "cloudfox", "prowler",
            "weirdaal", "cloudmapper", "enumerate-iam", "gitleaks")
PENTEST_OS = ("kali", "parrot", "pentoo", "blackarch")
LIBRARIES = ("python-requests", "python-urllib", "aiohttp", "httpx", "go-http-client", "curl", "wget", "okhttp",
             "java/", "libwww-perl", "node-fetch", "axios", "ruby", "powershell", "boto3", "botocore")
_PRODUCT = re.compile(r"^\s*([A-Za-z][A-Za-z0-9._-]{1,40})")


@dataclass(frozen=True)
class Agent:
    """A user agent reduced to its family, and whether it marks an attacker's tool."""

    family: str
    kind: str  # browser | cli | library | sdk | scanner | pentest-os | unknown
    bad: bool


def _kind(lower: str, family: str) -> tuple[str, bool]:
    if any(s in lower for s in SCANNERS):
        return "scanner", True
    if any(s in lower for s in PENTEST_OS):
        return "pentest-os", True
    if any(lower.startswith(s) or f" {s}" in lower for s in LIBRARIES):
        return "library", False
    if lower.startswith("mozilla/"):
        return "browser", False
    if "sdk" in lower or "cli/" in lower:
        return "sdk", False
    return ("unknown" if family == "Other" else "cli"), False


@cache
def _parser() -> Any:
    """ua-parser over its lazily compiled expressions: only the user-agent ones a string meets are compiled
    (the default parser compiles every OS and device expression too, ~0.1 s more; same results)."""
    import ua_parser

    return ua_parser.Parser.from_matchers(ua_parser.load_lazy_builtins())


def _family(text: str) -> str:
    family = _parser().parse_user_agent(text)
    if family is not None and family.family != "Other":
        return str(family.family)
    m = _PRODUCT.match(text)
    return m.group(1).split("/")[0] if m else "Other"


def warm() -> None:
    """Load ua-parser and the expressions a common agent meets now: forked workers share them, not redo it."""
    _parser().parse_user_agent("aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0 exe/x86_64")


class Agents:
    """Classifies user agents, caching by the exact string."""

    def __init__(self) -> None:
        self._cache: dict[str, Agent] = {}

    def classify(self, text: str | None) -> Agent:
        """The Agent of a raw User-Agent string ('none' when absent)."""
        if not text:
            return Agent("none", "unknown", False)
        hit = self._cache.get(text)
        if hit is None:
            if len(self._cache) >= CACHE:
                self._cache.clear()
            lower = text.lower()
            family = _family(text)
            kind, bad = _kind(lower, family)
            hit = self._cache[text] = Agent(family, kind, bad)
        return hit
