"""Score normalised findings against the manifest: precision, recall and F1 per rule family.

A finding is a true positive when it names the labelled file and a line of the labelled span and,
when the tool reports the secret text, that text overlaps the planted value (containment either way,
or a common run of at least 8 characters and half the shorter string; a tool that quotes the secret
may anchor a multi-line match up to 3 lines away). Several findings of one positive count once. Every other
finding is a false positive (deduplicated per file, line and reported text), attributed to a family
by the reporting rule's name and to the planted look-alike it hit, if any.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from adapters import Finding, ToolRun
from positives import CLOUD, DEVTOOLS, FAMILIES, GENERIC, JWT, KEYS, SAAS, URL

MIN_OVERLAP = 8
LINE_SLACK = 3  # a tool that quotes the secret may anchor a multi-line match a few lines earlier

KEY_WORDS = {
    "private key",
    "privatekey",
    "private_key",
    "pem",
    "pkcs8",
    "pkcs",
    "openssh",
    "ssh",
    "pgp",
    "gpg",
    "age secret",
    "age-secret",
    "age",
    "privkey",
    "private",
    "putty",
    "ppk",
    "rsa",
    "dsa",
    "ec private",
    "pkcs12",
}
JWT_WORDS = {"jwt", "json web token", "jsonwebtoken"}
CLOUD_WORDS = {
    "aws",
    "amazon",
    "azure",
    "gcp",
    "google",
    "firebase",
    "alibaba",
    "aliyun",
    "ibm",
    "oracle",
    "oci",
    "digitalocean",
    "cloudflare",
    "heroku",
    "vault",
    "hashicorp",
    "hcp",
    "terraform",
    "tfe",
    "databricks",
    "supabase",
    "doppler",
    "pulumi",
    "planetscale",
    "tailscale",
    "linode",
    "vultr",
    "scaleway",
    "fly",
    "flyio",
    "vercel",
    "netlify",
    "render",
    "snowflake",
    "confluent",
    "tencent",
    "huawei",
    "yandex",
    "hetzner",
    "fastly",
    "akamai",
    "fcm",
    "okta",
    "auth0",
    "railway",
    "neon",
    "upstash",
    "cockroach",
    "openshift",
    "kubernetes",
    "k8s",
    "infisical",
    "nomad",
    "consul",
}
DEVTOOLS_WORDS = {
    "github",
    "gitlab",
    "bitbucket",
    "atlassian",
    "jira",
    "confluence",
    "npm",
    "pypi",
    "rubygems",
    "nuget",
    "docker",
    "dockerhub",
    "jfrog",
    "artifactory",
    "sonar",
    "sonarqube",
    "sonarcloud",
    "circleci",
    "buildkite",
    "travis",
    "jenkins",
    "sentry",
    "grafana",
    "newrelic",
    "new relic",
    "datadog",
    "dynatrace",
    "postman",
    "linear",
    "figma",
    "asana",
    "contentful",
    "prefect",
    "clojars",
    "readme",
    "mapbox",
    "codecov",
    "snyk",
    "launchdarkly",
    "honeycomb",
    "pagerduty",
    "opsgenie",
    "splunk",
    "sumologic",
    "bugsnag",
    "rollbar",
    "teamcity",
    "octopus",
    "harness",
    "gitea",
    "gitguardian",
    "crates",
    "packagist",
    "jetbrains",
    "1password",
    "onepassword",
    "bitwarden",
    "git",
    "npmjs",
}
SAAS_WORDS = {
    "slack",
    "discord",
    "telegram",
    "twilio",
    "sendgrid",
    "mailgun",
    "mailchimp",
    "mandrill",
    "postmark",
    "sendinblue",
    "brevo",
    "stripe",
    "square",
    "paypal",
    "braintree",
    "paystack",
    "shopify",
    "flutterwave",
    "razorpay",
    "adyen",
    "plaid",
    "coinbase",
    "openai",
    "anthropic",
    "claude",
    "huggingface",
    "hugging face",
    "groq",
    "replicate",
    "perplexity",
    "xai",
    "langsmith",
    "langchain",
    "cohere",
    "mistral",
    "pinecone",
    "deepseek",
    "gemini",
    "elevenlabs",
    "airtable",
    "notion",
    "teams",
    "msteams",
    "zendesk",
    "intercom",
    "hubspot",
    "salesforce",
    "twitter",
    "facebook",
    "instagram",
    "linkedin",
    "dropbox",
    "zoom",
    "mattermost",
    "pusher",
    "nexmo",
    "vonage",
    "messagebird",
    "plivo",
    "mailjet",
    "sparkpost",
    "resend",
    "lob",
    "shippo",
    "easypost",
    "algolia",
    "typeform",
    "trello",
    "miro",
    "freshdesk",
    "xero",
    "gocardless",
    "klarna",
    "mollie",
    "alchemy",
    "infura",
    "etherscan",
    "openrouter",
    "webex",
    "microsoft teams",
    "office",
    "outlook",
    "webhook",
}
URL_WORDS = {
    "uri",
    "url",
    "urls",
    "basic auth",
    "basicauth",
    "postgres",
    "postgresql",
    "mysql",
    "mongodb",
    "redis",
    "amqp",
    "jdbc",
    "odbc",
    "connection string",
    "connstring",
    "ftp",
    "smtp",
    "dsn",
    "credentials in url",
    "http basic",
    "netrc",
}
GENERIC_WORDS = {
    "generic",
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "key",
    "token",
    "api",
    "apikey",
    "entropy",
    "keyword",
    "credential",
    "credentials",
    "auth",
    "bearer",
    "hex",
    "base64",
    "salt",
    "nonce",
    "high",
    "uuid",
    "hash",
}


def _phrases(rule: str) -> set[str]:
    words = [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", rule).lower()) if w]
    return set(words) | {" ".join(words[i : i + 2]) for i in range(len(words) - 1)} | {"".join(words)}


def rule_family(rule: str) -> str:
    """The family a rule name belongs to (keys, JWT, providers, URL, generic), or 'other'."""
    ph = _phrases(rule)
    order = (
        (KEYS, KEY_WORDS),
        (JWT, JWT_WORDS),
        (SAAS, SAAS_WORDS),
        (DEVTOOLS, DEVTOOLS_WORDS),
        (CLOUD, CLOUD_WORDS),
        (URL, URL_WORDS),
        (GENERIC, GENERIC_WORDS),
    )
    for family, words in order:
        if ph & words:
            return family
    joined = re.sub(r"[^a-z0-9]", "", rule.lower())  # run-together names such as "npmjsaccesstoken"
    for family, words in order:
        if any(len(w) >= 5 and w.replace(" ", "") in joined for w in words):
            return family
    return "other"


def _norm(text: str) -> str:
    # PEM blocks come back indented (YAML), with literal "\\n" escapes (JSON) or joined lines
    return re.sub(r"\\[nr]|\s+", "", text)


def overlaps(text: str, candidates: list[str]) -> bool:
    """True when the reported text and any labelled value share the secret."""
    text = _norm(text)
    if not text:
        return False
    for c in map(_norm, candidates):
        if not c:
            continue
        if text in c or c in text:
            return True
        # a shared run must be more than a common provider prefix ("xkeysib-", "ghp_")
        need = min(max(MIN_OVERLAP, min(len(text), len(c)) // 2), 48)
        m = SequenceMatcher(None, text, c, autojunk=False).find_longest_match(0, len(text), 0, len(c))
        if m.size >= need:
            return True
    return False


@dataclass
class ToolScore:
    """Counts for one tool."""

    tool: str
    tp: Counter[str] = field(default_factory=Counter)  # by positive family
    fp: Counter[str] = field(default_factory=Counter)  # by rule family
    fp_category: Counter[str] = field(default_factory=Counter)  # by planted look-alike category (or file kind)
    found: set[int] = field(default_factory=set)  # indexes of detected positives
    false_positives: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def totals(self) -> tuple[int, int]:
        """(TP, FP) over all families."""
        return sum(self.tp.values()), sum(self.fp.values())


def _candidates(p: dict[str, Any]) -> list[str]:
    return [p["secret"], p["value"], *p["alternatives"]]


def score(manifest: dict[str, Any], run: ToolRun) -> ToolScore:
    """Match one tool's findings against the labels."""
    s = ToolScore(run.tool, seconds=run.seconds, error=run.error)
    by_file: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for i, p in enumerate(manifest["positives"]):
        by_file[p["file"]].append((i, p))
    neg_by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n in manifest["negatives"]:
        neg_by_file[n["file"]].append(n)
    seen_fp: set[tuple[str, int, str]] = set()
    for f in run.findings:
        hit = _match(f, by_file.get(f.file, []), s.found)
        if hit is not None:
            if hit not in s.found:
                s.found.add(hit)
                s.tp[manifest["positives"][hit]["family"]] += 1
            continue
        key = (f.file, f.line, f.text or "")
        if key in seen_fp:
            continue
        seen_fp.add(key)
        fam = rule_family(f.rule)
        category = next((n["label"] for n in neg_by_file.get(f.file, []) if n["line"] <= f.line <= n["end_line"]), None)
        if category is None:
            on_positive = any(p["line"] <= f.line <= p["end_line"] for _, p in by_file.get(f.file, []))
            kind = manifest["file_kinds"].get(f.file, "?")
            category = "positive line, other text" if on_positive else f"unlabelled content ({kind})"
        s.fp[fam] += 1
        s.fp_category[category] += 1
        s.false_positives.append(
            {"file": f.file, "line": f.line, "rule": f.rule, "rule_family": fam, "category": category}
        )
    return s


def _match(f: Finding, candidates: list[tuple[int, dict[str, Any]]], found: set[int]) -> int | None:
    """The positive this finding reports: exact line before nearby line, not-yet-found before found."""
    hits = []
    for i, p in candidates:
        inside = p["line"] <= f.line <= p["end_line"]
        if f.text is None:
            if inside:
                hits.append((0, i in found, i))
            continue
        near = p["line"] - LINE_SLACK <= f.line <= p["end_line"] + LINE_SLACK
        if near and overlaps(f.text, _candidates(p)):
            hits.append((0 if inside else 1, i in found, i))
    return min(hits)[2] if hits else None


def prf(tp: int, fp: int, n: int) -> tuple[float, float, float]:
    """Precision, recall, F1 (precision is 1.0 when nothing was reported)."""
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / n if n else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def family_sizes(manifest: dict[str, Any]) -> Counter[str]:
    """Number of planted positives per family."""
    return Counter(p["family"] for p in manifest["positives"])


__all__ = ["FAMILIES", "ToolScore", "family_sizes", "overlaps", "prf", "rule_family", "score"]
