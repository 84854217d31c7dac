"""Generate the labelled evaluation set: realistic files with planted secrets and look-alikes.

    python benchmarks/accuracy/generate.py [--seed 2024] [--files 900] [--out benchmarks/work/accuracy]

Writes OUT/corpus/ (the files every scanner sees) and OUT/manifest.json (labels: every planted
positive with file, line range, family, kind and value; every planted negative with its category).
The manifest holds the fake secrets in plaintext, so it lives only in benchmarks/work/ (git-ignored).
"""

from __future__ import annotations

import argparse
import base64
import html
import importlib.util
import json
import os
import re
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_PY = HERE.parent.parent / ".venv" / "bin" / "python"
if __name__ == "__main__" and importlib.util.find_spec("tokenward") is None and VENV_PY.exists():
    os.execv(str(VENV_PY), [str(VENV_PY), *sys.argv])  # tests/tokens.py needs tokenward
sys.path[:0] = [str(HERE), str(HERE.parent.parent)]

import filler as F  # noqa: E402
import keys as K  # noqa: E402
from negatives import DECOYS, Decoy, Value, sha256  # noqa: E402
from positives import CLOUD, KEYS, KINDS, BenchTokens, Kind, Secret  # noqa: E402

DEFAULT_OUT = HERE.parent / "work" / "accuracy"
BLOCK_LANGS = {"python", "js", "go", "yaml", "env", "json", "tf", "ruby", "java"}


@dataclass
class Plant:
    """A planted value: a labelled positive or a labelled negative."""

    positive: bool
    label: str  # positive: kind label (e.g. github.pat-classic); negative: decoy category
    family: str  # positive family; "" for negatives
    name: str
    value: str  # text as written (may wrap the secret: URL, connection string, header)
    secret: str = ""  # positives: the secret itself
    alternatives: tuple[str, ...] = ()
    raw: bool = False
    block: bool = False
    header: bool = False  # written as an HTTP header value ("Bearer …") rather than an assignment


@dataclass
class Doc:
    """Lines of one file plus where each plant landed (1-based, inclusive)."""

    lines: list[str] = field(default_factory=list)
    spans: list[tuple[Plant, int, int]] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        """Append plain lines."""
        for line in lines:
            self.lines.extend(line.split("\n"))

    def plant(self, plant: Plant, text: str) -> None:
        """Append the rendering of a plant and record the lines holding its value."""
        new = text.split("\n")
        base = len(self.lines)
        self.lines.extend(new)
        first, last = _value_lines(plant, new)
        self.spans.append((plant, base + first + 1, base + last + 1))

    def text(self) -> str:
        """The whole file."""
        return "\n".join(self.lines) + "\n"


def _value_lines(plant: Plant, lines: list[str]) -> tuple[int, int]:
    parts = [p for p in plant.value.split("\n") if p.strip()]
    probe_first, probe_last = parts[0][-40:], parts[-1][:40]
    first = next((i for i, ln in enumerate(lines) if probe_first in ln), None)
    if first is None:  # escaped (JSON "\n") or re-quoted: fall back to the secret, then the name
        key = plant.secret[:30] if plant.secret else plant.name
        first = next((i for i, ln in enumerate(lines) if key and key in ln), len(lines) - 1)
        return first, first
    last = next((i for i in range(len(lines) - 1, first - 1, -1) if probe_last in lines[i]), first)
    return first, max(first, last)


# ---------------------------------------------------------------------------------------------------
# Names and values per language
# ---------------------------------------------------------------------------------------------------


def upper_snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").upper()


def lower_snake(name: str) -> str:
    return upper_snake(name).lower()


def camel(name: str) -> str:
    parts = lower_snake(name).split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def header_of(p: Plant) -> tuple[str, str]:
    """(header name, header value) for a header-style plant."""
    if p.label.startswith("github"):
        return "Authorization", f"token {p.value}"
    if p.label in ("figma.pat",):
        return "X-Figma-Token", p.value
    if p.label.startswith(
        (
            "jwt",
            "slack",
            "openai",
            "anthropic",
            "huggingface",
            "stripe",
            "sendgrid",
            "gitlab",
            "digitalocean",
            "cloudflare",
            "linear",
            "groq",
            "replicate",
            "xai",
            "perplexity",
        )
    ):
        return "Authorization", f"Bearer {p.value}"
    return "X-API-Key", p.value


def q(value: str, quote: str = '"') -> str:
    if quote == '"':
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_python(t: BenchTokens, p: Plant) -> str:
    if p.block:
        return f'{upper_snake(p.name)} = """{p.value}\n"""'
    if p.raw:
        return f"{lower_snake(p.name)} = {p.value}"
    if p.header:
        h, v = header_of(p)
        return f'headers = {{{q(h)}: {q(v)}, "Accept": "application/json"}}'
    style = t.rng.random()
    if "." in p.name and p.name.split(".")[0].isidentifier():
        return f"{p.name} = {q(p.value)}"
    if style < 0.45:
        quote = t.pick(['"', "'"])
        return f"{upper_snake(p.name)} = {q(p.value, quote)}"
    if style < 0.75:
        return f"{F.ident(t, 1, 'upper')}_CONFIG = {{\n    {q(lower_snake(p.name))}: {q(p.value)},\n}}"
    cls = F.ident(t, 1, "pascal") + "Client"
    return f"client = {cls}({lower_snake(p.name)}={q(p.value)}, timeout=TIMEOUT)"


def render_js(t: BenchTokens, p: Plant) -> str:
    if p.block:
        return f"const {camel(p.name)} = `{p.value}\n`;"
    if p.raw:
        return f"const {camel(p.name)} = {p.value};"
    if p.header:
        h, v = header_of(p)
        return f"const res = await fetch(url, {{ headers: {{ '{h}': {q(v, chr(39))} }} }});"
    if t.rng.random() < 0.5:
        quote = t.pick(['"', "'"])
        return f"const {t.pick([camel(p.name), upper_snake(p.name)])} = {q(p.value, quote)};"
    return f"export const {F.ident(t, 1)}Config = {{\n  {camel(p.name)}: {q(p.value, chr(39))},\n}};"


def render_go(t: BenchTokens, p: Plant) -> str:
    if p.block:
        return f"const {camel(p.name)} = `{p.value}\n`"
    if p.raw:
        return f"var {camel(p.name)} = {p.value}"
    if p.header:
        h, v = header_of(p)
        return f"func authorize(req *http.Request) {{\n\treq.Header.Set({q(h)}, {q(v)})\n}}"
    return t.pick(
        [
            f"const {camel(p.name)} = {q(p.value)}",
            f"var default{F.t_pascal(p.name)} = Config{{\n\t{F.t_pascal(p.name)}: {q(p.value)},\n}}",
            f"func init() {{\n\tos.Setenv({q(upper_snake(p.name))}, {q(p.value)})\n}}",
        ]
    )


def render_java(t: BenchTokens, p: Plant) -> str:
    if p.block:
        return f'    private static final String {upper_snake(p.name)} = """\n{p.value}\n""";'
    if p.raw:
        return f'    private final String {camel(p.name)} = System.getenv("{upper_snake(p.name)}");'
    if p.header:
        h, v = header_of(p)
        return f"        conn.setRequestProperty({q(h)}, {q(v)});"
    return f"    private static final String {upper_snake(p.name)} = {q(p.value)};"


def render_ruby(t: BenchTokens, p: Plant) -> str:
    if p.block:
        return f"{upper_snake(p.name)} = <<~KEY\n{p.value}\nKEY"
    if p.raw:
        return f"{lower_snake(p.name)} = ENV.fetch('{upper_snake(p.name)}')"
    return t.pick([f"  config.{lower_snake(p.name)} = {q(p.value, chr(39))}", f"{upper_snake(p.name)} = {q(p.value)}"])


def render_yaml(t: BenchTokens, p: Plant, indent: int = 2) -> str:
    pad = " " * indent
    key = p.name if re.fullmatch(r"[:\w.-]+", p.name) else lower_snake(p.name)
    if p.block:
        body = "\n".join(pad + "  " + ln for ln in p.value.split("\n"))
        return f"{pad}{key}: |\n{body}"
    if p.header:
        h, v = header_of(p)
        return f"{pad}headers:\n{pad}  {h}: {q(v)}"
    needs_quote = p.value[:1] in "{[*&!%@`'\"" or ": " in p.value or " #" in p.value or p.value in ("", "none")
    return f"{pad}{key}: {q(p.value) if needs_quote or t.rng.random() < 0.4 else p.value}"


def render_env(t: BenchTokens, p: Plant) -> str:
    if p.block:
        return f'{upper_snake(p.name)}="{p.value}"'
    value = p.value if re.fullmatch(r"[\w@%+=:,./~-]*", p.value) and t.rng.random() < 0.6 else q(p.value)
    return f"{t.pick(['', '', 'export '])}{upper_snake(p.name)}={value}"


def render_tf(t: BenchTokens, p: Plant) -> str:
    if p.block:
        return f"  {lower_snake(p.name)} = <<-EOT\n{p.value}\n  EOT"
    if p.raw:
        return f"  {lower_snake(p.name)} = {p.value}"
    return f"  {lower_snake(p.name)} = {q(p.value)}"


def render_docker(t: BenchTokens, p: Plant) -> str:
    if p.header:
        h, v = header_of(p)
        return f'RUN curl -fsSL -H "{h}: {v}" https://downloads.acme.io/agent.tar.gz | tar xz'
    return f"{t.pick(['ENV', 'ENV', 'ARG'])} {upper_snake(p.name)}={p.value if ' ' not in p.value else q(p.value)}"


def render_k8s(t: BenchTokens, p: Plant) -> str:
    return f"            - name: {upper_snake(p.name)}\n              value: {q(p.value)}"


def render_ci(t: BenchTokens, p: Plant) -> str:
    if p.header:
        h, v = header_of(p)
        return f'        run: curl -sf -X POST -H "{h}: {v}" https://api.acme.io/v1/deployments'
    return f"      {upper_snake(p.name)}: {q(p.value) if not p.raw else p.value}"


def render_shell(t: BenchTokens, p: Plant) -> str:
    if p.header:
        h, v = header_of(p)
        return f'curl -sS -H "{h}: {v}" "https://api.acme.io/v2/{F.t_word(t)}"'
    return f"export {upper_snake(p.name)}={q(p.value) if not p.raw else p.value}"


def render_md(t: BenchTokens, p: Plant) -> str:
    if p.header:
        h, v = header_of(p)
        return f'```bash\ncurl https://api.acme.io/v1/me \\\n  -H "{h}: {v}"\n```'
    if t.rng.random() < 0.5:
        return f"```bash\nexport {upper_snake(p.name)}={p.value}\n```"
    return f"Set `{upper_snake(p.name)}` to `{p.value}` before running the job."


def render_ini(t: BenchTokens, p: Plant) -> str:
    return f"{lower_snake(p.name) if ':' in p.name else p.name} = {p.value}"


def render_properties(t: BenchTokens, p: Plant) -> str:
    key = p.name if "." in p.name else "app." + camel(p.name)
    return f"{key}={p.value}"


def render_xml(t: BenchTokens, p: Plant) -> str:
    v = p.value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    if t.rng.random() < 0.5:
        return f'    <add key="{F.t_pascal(p.name)}" value="{v}" />'
    return f"    <{camel(p.name)}>{v}</{camel(p.name)}>"


def render_log(t: BenchTokens, p: Plant) -> str:
    ts = f"2025-03-{t.rng.randint(10, 28)}T{t.rng.randint(10, 23)}:{t.rng.randint(10, 59)}:{t.rng.randint(10, 59)}Z"
    if p.header:
        h, v = header_of(p)
        return f"{ts} DEBUG http.client send: headers={{'{h}': '{v}', 'User-Agent': 'acme-sync/2.1'}}"
    return f"{ts} INFO  config loaded: {upper_snake(p.name)}={p.value} profile=production"


# ---------------------------------------------------------------------------------------------------
# File types: frame (header/footer + filler) around plants
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileType:
    """One kind of file: language key, path maker, renderer, filler, weight."""

    lang: str
    path: Callable[[BenchTokens], str]
    render: Callable[[BenchTokens, Plant], str]
    head: Callable[[BenchTokens], list[str]]
    fill: Callable[[BenchTokens], list[str]]
    tail: Callable[[BenchTokens], list[str]] = lambda t: []
    weight: int = 1
    max_pos: int = 3


def _svc(t: BenchTokens) -> str:
    return t.pick(
        [
            "billing",
            "orders",
            "auth",
            "search",
            "notifier",
            "ingest",
            "reports",
            "gateway",
            "catalog",
            "payments",
            "scheduler",
            "webhooks",
            "analytics",
            "users",
            "inventory",
            "mailer",
        ]
    )


def _go_head(t: BenchTokens) -> list[str]:
    return [
        f"package {F.t_word(t)}",
        "",
        "import (",
        '\t"context"',
        '\t"errors"',
        '\t"net/http"',
        '\t"os"',
        ")",
        "",
        f'const baseURL = "https://api.{F.t_word(t)}.acme.io"',
        "",
    ]


def _java_head(t: BenchTokens) -> list[str]:
    return [
        f"package io.acme.{_svc(t)};",
        "",
        "import java.util.List;",
        "",
        f"public class {F.ident(t, 2, 'pascal')} {{",
        "    private static final Logger log = LoggerFactory.getLogger(Object.class);",
        "",
    ]


def _k8s_head(t: BenchTokens) -> list[str]:
    svc = _svc(t)
    return [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        f"  name: {svc}",
        "  annotations:",
        f"    checksum/config: {sha256(t)}",
        "spec:",
        f"  replicas: {t.rng.randint(1, 6)}",
        "  template:",
        "    spec:",
        "      containers:",
        f"        - name: {svc}",
        f"          image: registry.acme.io/{svc}@sha256:{sha256(t)}",
        "          env:",
        "            - name: LOG_LEVEL",
        "              value: info",
    ]


def _k8s_fill(t: BenchTokens) -> list[str]:
    return t.pick(
        [
            [f"            - name: {F.ident(t, 2, 'upper')}", f'              value: "{t.rng.randint(1, 9000)}"'],
            [
                f"            - name: {F.ident(t, 1, 'upper')}_PASSWORD",
                "              valueFrom:",
                "                secretKeyRef:",
                f"                  name: {_svc(t)}-secrets",
                "                  key: password",
            ],
        ]
    )


def _ci_head(t: BenchTokens) -> list[str]:
    return [
        f"name: {t.pick(['CI', 'Deploy', 'Release', 'Nightly'])}",
        "on:",
        "  push:",
        "    branches: [main]",
        "jobs:",
        "  build:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        f"      - uses: actions/checkout@{F.sha1(t)} # v4",
        f"      - uses: actions/setup-node@{F.sha1(t)} # v4",
        "        with:",
        "          node-version: 20",
        "      - name: Cache",
        f"        uses: actions/cache@{F.sha1(t)}",
        "        with:",
        "          key: deps-${{ hashFiles('**/package-lock.json') }}",
        "    env:",
        "      NODE_ENV: production",
        "      GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
    ]


def _ci_fill(t: BenchTokens) -> list[str]:
    return [f"      {F.ident(t, 2, 'upper')}: {t.pick(['true', 'false', str(t.rng.randint(1, 99)), F.t_word(t)])}"]


def _tf_head(t: BenchTokens) -> list[str]:
    return [
        "terraform {",
        "  required_providers {",
        '    aws = { source = "hashicorp/aws", version = "~> 5.0" }',
        "  }",
        "}",
        "",
        f'resource "aws_instance" "{F.t_word(t)}" {{',
        f'  ami           = "ami-0{t.hexs(16)}"',
        f'  instance_type = "{t.pick(["t3.micro", "m6i.large"])}"',
        f'  subnet_id     = "subnet-0{t.hexs(16)}"',
        "}",
        "",
        f'module "{_svc(t)}" {{',
        f'  source = "git::https://git.acme.io/infra/modules.git//service?ref={F.sha1(t)}"',
    ]


def _tf_fill(t: BenchTokens) -> list[str]:
    return [f"  {F.ident(t, 2)} = {t.pick([str(t.rng.randint(1, 100)), 'true', chr(34) + F.t_word(t) + chr(34)])}"]


def _docker_head(t: BenchTokens) -> list[str]:
    return [
        f"FROM python:3.{t.rng.randint(9, 12)}-slim@sha256:{sha256(t)}",
        "WORKDIR /app",
        "COPY requirements.txt .",
        "RUN pip install --no-cache-dir -r requirements.txt",
    ]


def _docker_fill(t: BenchTokens) -> list[str]:
    return [
        t.pick(
            [
                "COPY . .",
                f"EXPOSE {t.rng.randint(3000, 9000)}",
                "RUN apt-get update && apt-get install -y curl",
                f"ENV {F.ident(t, 2, 'upper')}={F.t_word(t)}",
                f'RUN echo "{sha256(t)}  /tmp/agent.tgz" | sha256sum -c -',
                f"LABEL org.opencontainers.image.revision={F.sha1(t)}",
            ]
        )
    ]


def _xml_head(t: BenchTokens) -> list[str]:
    return ['<?xml version="1.0" encoding="utf-8"?>', "<configuration>", "  <appSettings>"]


def _ini_head(t: BenchTokens) -> list[str]:
    return [
        f"[{t.pick(['app', 'database', 'server', 'default', 'worker'])}]",
        f"host = {_svc(t)}.internal",
        f"port = {t.rng.randint(1000, 9999)}",
    ]


FILETYPES: tuple[FileType, ...] = (
    FileType(
        "python",
        lambda t: f"services/{_svc(t)}/{_svc(t)}/{t.pick(['settings', 'config', 'client', 'tasks', 'utils'])}.py",
        render_python,
        F.python_header,
        lambda t: t.pick([F.python_function, F.python_function, F.python_class])(t),
        weight=12,
    ),
    FileType(
        "js",
        lambda t: f"web/{_svc(t)}/src/{t.pick(['api', 'config', 'client', 'index'])}.{t.pick(['js', 'ts', 'mjs'])}",
        render_js,
        lambda t: ["import axios from 'axios';", f"const BASE_URL = 'https://api.acme.io/{_svc(t)}';", ""],
        F.js_function,
        weight=9,
    ),
    FileType(
        "go",
        lambda t: f"cmd/{_svc(t)}/{t.pick(['main', 'config', 'client'])}.go",
        render_go,
        _go_head,
        F.go_function,
        weight=5,
    ),
    FileType(
        "java",
        lambda t: f"src/main/java/io/acme/{_svc(t)}/{F.ident(t, 2, 'pascal')}.java",
        render_java,
        _java_head,
        F.java_method,
        lambda t: ["}"],
        weight=3,
    ),
    FileType(
        "ruby",
        lambda t: f"config/initializers/{_svc(t)}.rb",
        render_ruby,
        lambda t: ["Rails.application.configure do"],
        F.ruby_method,
        lambda t: ["end"],
        weight=2,
    ),
    FileType(
        "yaml",
        lambda t: (
            f"{_svc(t)}/"
            + t.pick(["config.yaml", "application.yml", "values.yaml", "docker-compose.yml", "settings.yml"])
        ),
        render_yaml,
        lambda t: [f"# {F.sentence(t)}", f"{_svc(t)}:"],
        lambda t: F.yaml_block(t, 2),
        weight=8,
    ),
    FileType(
        "env",
        lambda t: f"{_svc(t)}/{t.pick(['.env', '.env.production', '.env.local', '.env.staging'])}",
        render_env,
        lambda t: [f"# {_svc(t)} settings", "NODE_ENV=production"],
        lambda t: [f"{F.ident(t, 2, 'upper')}={t.pick([str(t.rng.randint(1, 9999)), 'true', F.t_word(t)])}"],
        weight=7,
    ),
    FileType(
        "tf",
        lambda t: f"infra/{_svc(t)}/{t.pick(['main.tf', 'providers.tf', 'secrets.tf'])}",
        render_tf,
        _tf_head,
        _tf_fill,
        lambda t: ["}"],
        weight=5,
    ),
    FileType(
        "docker",
        lambda t: f"{_svc(t)}/{t.pick(['Dockerfile', 'Dockerfile.prod'])}",
        render_docker,
        _docker_head,
        _docker_fill,
        lambda t: ['CMD ["python", "-m", "app"]'],
        weight=4,
        max_pos=2,
    ),
    FileType(
        "k8s",
        lambda t: f"deploy/k8s/{_svc(t)}-{t.pick(['deployment', 'worker', 'cron'])}.yaml",
        render_k8s,
        _k8s_head,
        _k8s_fill,
        weight=5,
    ),
    FileType(
        "ci",
        lambda t: f".github/workflows/{t.pick(['ci', 'deploy', 'release', 'nightly'])}-{_svc(t)}.yml",
        render_ci,
        _ci_head,
        _ci_fill,
        lambda t: ["      - run: npm ci && npm test"],
        weight=5,
    ),
    FileType(
        "shell",
        lambda t: f"scripts/{t.pick(['deploy', 'bootstrap', 'backup', 'release', 'sync'])}-{_svc(t)}.sh",
        render_shell,
        lambda t: ["#!/usr/bin/env bash", "set -euo pipefail"],
        F.shell_lines,
        weight=4,
    ),
    FileType(
        "md",
        lambda t: f"docs/{t.pick(['setup', 'runbook', 'onboarding', 'api', 'troubleshooting'])}-{_svc(t)}.md",
        render_md,
        lambda t: [f"# {_svc(t).title()} service", "", F.sentence(t, 15), ""],
        F.markdown_prose,
        weight=6,
        max_pos=2,
    ),
    FileType(
        "ini",
        lambda t: f"{_svc(t)}/{t.pick(['setup.cfg', 'config.ini', 'app.conf'])}",
        render_ini,
        _ini_head,
        lambda t: [f"{F.ident(t, 2)} = {t.pick(['true', str(t.rng.randint(1, 99)), F.t_word(t)])}"],
        weight=2,
    ),
    FileType(
        "properties",
        lambda t: f"src/main/resources/application-{t.pick(['prod', 'dev', 'staging'])}.properties",
        render_properties,
        lambda t: ["# Spring Boot", f"server.port={t.rng.randint(8000, 9000)}"],
        lambda t: [f"app.{F.ident(t, 2, 'camel')}={t.pick(['true', str(t.rng.randint(1, 99)), F.t_word(t)])}"],
        weight=2,
    ),
    FileType(
        "xml",
        lambda t: f"{_svc(t)}/{t.pick(['Web.config', 'app.config', 'settings.xml'])}",
        render_xml,
        _xml_head,
        lambda t: [f'    <add key="{F.ident(t, 2, "pascal")}" value="{F.t_word(t)}" />'],
        lambda t: ["  </appSettings>", "</configuration>"],
        weight=2,
    ),
    FileType(
        "log",
        lambda t: f"logs/{_svc(t)}-{t.rng.randint(1, 28):02d}.log",
        render_log,
        lambda t: [],
        lambda t: F.log_lines(t, t.rng.randint(2, 8)),
        weight=2,
        max_pos=2,
    ),
)
BY_LANG = {ft.lang: ft for ft in FILETYPES}


# ---------------------------------------------------------------------------------------------------
# Plants
# ---------------------------------------------------------------------------------------------------


def positive(t: BenchTokens, kind: Kind, name: str | None = None) -> Plant:
    s: Secret = kind.make(t)
    return Plant(True, kind.label, kind.family, name or t.pick(kind.names), s.value, s.secret, s.alternatives)


def private_key_plant(t: BenchTokens) -> Plant:
    label, text = K.private_key(t)
    body = "\n".join(text.split("\n")[1:-1])
    return Plant(
        True,
        f"private-key.{label}",
        KEYS,
        t.pick(["private_key", "SSH_PRIVATE_KEY", "tls_key", "signing_key", "DEPLOY_KEY"]),
        text,
        text,
        (body,),
        block=True,
    )


def negative(t: BenchTokens, decoy: Decoy, lang: str) -> Plant:
    v: Value = decoy.make(t, lang)
    return Plant(False, decoy.category, "", v.name or t.pick(decoy.names), v.text, raw=v.raw, block=decoy.block)


KIND_WEIGHTS = [k.weight for k in KINDS]
DECOY_WEIGHTS = [d.weight for d in DECOYS]
SPECIAL_ONLY = {"google.service-account-key"}


def draw_positive(t: BenchTokens, lang: str) -> Plant:
    if lang in BLOCK_LANGS and t.rng.random() < 0.05:
        return private_key_plant(t)
    while True:
        kind = t.rng.choices(KINDS, KIND_WEIGHTS)[0]
        if kind.label not in SPECIAL_ONLY:
            break
    p = positive(t, kind)
    if (
        lang in ("python", "js", "go", "java", "docker", "ci", "shell", "md", "log", "yaml")
        and t.rng.random() < 0.15
        and kind.family != "URL credentials"
        and "webhook" not in kind.label
        and "://" not in p.value
        and ";" not in p.value
        and kind.label != "generic.password"
    ):
        p.header = True
    return p


def draw_negative(t: BenchTokens, lang: str) -> Plant:
    while True:
        decoy = t.rng.choices(DECOYS, DECOY_WEIGHTS)[0]
        if not decoy.block or lang in BLOCK_LANGS - {"json"}:
            return negative(t, decoy, lang)


def build_regular(t: BenchTokens, ft: FileType, n_pos: int, n_neg: int) -> Doc:
    plants = [draw_positive(t, ft.lang) for _ in range(n_pos)] + [draw_negative(t, ft.lang) for _ in range(n_neg)]
    t.rng.shuffle(plants)
    doc = Doc()
    doc.add(*ft.head(t))
    for plant in plants:
        if plant.block and ft.lang not in BLOCK_LANGS:
            continue
        if t.rng.random() < 0.6:
            doc.add(*ft.fill(t))
        doc.plant(plant, ft.render(t, plant))
    doc.add(*ft.fill(t))
    doc.add(*ft.tail(t))
    return doc


def build_json(t: BenchTokens, n_pos: int, n_neg: int) -> Doc:
    """A JSON settings file; values are dumped by json so escaping is exact."""
    plants = [draw_positive(t, "json") for _ in range(n_pos)] + [draw_negative(t, "json") for _ in range(n_neg)]
    plants = [p for p in plants if not p.raw]
    t.rng.shuffle(plants)
    obj: dict[str, object] = {"name": F.t_word(t), "version": F.version(t), "features": {F.t_word(t): True}}
    section: dict[str, object] = {}
    for p in plants:
        key = p.name if t.rng.random() < 0.5 else camel(p.name)
        while key in section:
            key += "_2"
        section[key] = p.value
        if t.rng.random() < 0.5:
            section[F.ident(t, 2, "camel")] = t.pick([t.rng.randint(1, 999), True, F.t_word(t)])
    obj[t.pick(["settings", "credentials", "integrations", "services"])] = section
    text = json.dumps(obj, indent=2)
    doc = Doc(lines=text.split("\n"))
    for p in plants:
        enc = json.dumps(p.value)[1:-1]
        idx = next(i for i, ln in enumerate(doc.lines) if enc in ln)
        doc.spans.append((p, idx + 1, idx + 1))
    return doc


# ---------------------------------------------------------------------------------------------------
# Special files: credential files in their native formats
# ---------------------------------------------------------------------------------------------------


def kind_of(label: str) -> Kind:
    return next(k for k in KINDS if k.label == label)


def special_npmrc(t: BenchTokens) -> tuple[str, Doc]:
    doc = Doc()
    doc.add("registry=https://registry.npmjs.org/", "save-exact=true")
    p = positive(t, kind_of("npm.token"), "_authToken")
    doc.plant(p, f"//registry.npmjs.org/:_authToken={p.value}")
    return f"web/{_svc(t)}/.npmrc", doc


def special_pypirc(t: BenchTokens) -> tuple[str, Doc]:
    doc = Doc()
    doc.add("[distutils]", "index-servers =", "    pypi", "", "[pypi]", "username = __token__")
    p = positive(t, kind_of("pypi.token"), "password")
    doc.plant(p, f"password = {p.value}")
    return f"home/{t.pick(['ci', 'deploy', 'jdoe'])}/.pypirc", doc


def special_aws(t: BenchTokens) -> tuple[str, Doc]:
    doc = Doc()
    for profile in t.rng.sample(["default", "prod", "staging", "ci"], t.rng.randint(1, 2)):
        doc.add(f"[{profile}]")
        kid = positive(t, kind_of("aws.access-key-id"), "aws_access_key_id")
        doc.plant(kid, f"aws_access_key_id = {kid.value}")
        sec = positive(t, kind_of("aws.secret-access-key"), "aws_secret_access_key")
        doc.plant(sec, f"aws_secret_access_key = {sec.value}")
        doc.add(f"region = {t.pick(['us-east-1', 'eu-west-1', 'ap-southeast-2'])}", "")
    return f"home/{t.pick(['ci', 'deploy', 'jdoe', 'ops'])}/.aws/credentials", doc


def special_git_credentials(t: BenchTokens) -> tuple[str, Doc]:
    doc = Doc()
    p = positive(t, kind_of("github.pat-classic"), "credential")
    doc.plant(p, f"https://{t.pick(['jdoe', 'ci-bot', 'x-access-token'])}:{p.value}@github.com")
    return f"home/{t.pick(['ci', 'jdoe', 'build'])}/.git-credentials", doc


def special_gem(t: BenchTokens) -> tuple[str, Doc]:
    doc = Doc()
    doc.add("---")
    p = positive(t, kind_of("rubygems.api-key"), ":rubygems_api_key")
    doc.plant(p, f":rubygems_api_key: {p.value}")
    return f"home/{t.pick(['ci', 'jdoe'])}/.gem/credentials", doc


def special_keyfile(t: BenchTokens) -> tuple[str, Doc]:
    p = private_key_plant(t)
    doc = Doc()
    doc.plant(p, p.value)
    name = {
        "openssh": "id_ed25519",
        "rsa-pkcs1": "id_rsa",
        "ec": "server.key",
        "pkcs8": "tls.key",
        "pgp": "signing-key.asc",
    }[p.label.split(".", 1)[1]]
    return f"deploy/keys/{_svc(t)}/{name}", doc


def special_age(t: BenchTokens) -> tuple[str, Doc]:
    doc = Doc()
    doc.add("# created: 2025-02-11T09:14:03Z", f"# public key: {t.bech32('age', t.randbytes(32))}")
    key = K.age_secret_key(t)
    doc.plant(Plant(True, "age.secret-key", KEYS, "identity", key, key), key)
    return f"secrets/{_svc(t)}/keys.txt", doc


def special_service_account(t: BenchTokens) -> tuple[str, Doc]:
    project = f"{_svc(t)}-{t.digits(6)}"
    key_id = t.hexs(40)
    pem_text = K.pem("PRIVATE KEY", K.pkcs8(K.rsa_pkcs1(t, 2048))) + "\n"
    obj = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": key_id,
        "private_key": pem_text,
        "client_email": f"deployer@{project}.iam.gserviceaccount.com",
        "client_id": t.digits(21),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    doc = Doc(lines=json.dumps(obj, indent=2).split("\n"))
    first = next(i for i, ln in enumerate(doc.lines) if key_id in ln) + 1
    last = next(i for i, ln in enumerate(doc.lines) if '"private_key":' in ln) + 1
    body = pem_text.split("\n")[1]
    plant = Plant(True, "google.service-account-key", CLOUD, "service_account", pem_text, pem_text, (key_id, body))
    doc.spans.append((plant, first, last))
    return f"infra/{_svc(t)}/{project}-{key_id[:12]}.json", doc


def special_kubeconfig(t: BenchTokens) -> tuple[str, Doc]:
    cluster = f"{_svc(t)}-prod"
    ca = base64.b64encode(K.certificate_pem(t).encode()).decode()
    doc = Doc()
    doc.add(
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- cluster:",
        f"    certificate-authority-data: {ca}",
        f"    server: https://{t.hexs(32).upper()}.gr7.eu-west-1.eks.amazonaws.com",
        f"  name: {cluster}",
        "users:",
        f"- name: {cluster}-admin",
        "  user:",
    )
    if t.rng.random() < 0.5:
        jwt = positive(t, kind_of("jwt.token"), "token")
        doc.plant(jwt, f"    token: {jwt.value}")
    else:
        _, key_pem = K.private_key(t)
        enc = base64.b64encode((key_pem + "\n").encode()).decode()
        decoded_body = key_pem.split("\n")[1]
        plant = Plant(True, "private-key.kubeconfig-base64", KEYS, "client-key-data", enc, enc, (decoded_body,))
        doc.add(f"    client-certificate-data: {base64.b64encode(K.certificate_pem(t).encode()).decode()}")
        doc.plant(plant, f"    client-key-data: {enc}")
    doc.add(
        "contexts:",
        f"- context: {{cluster: {cluster}, user: {cluster}-admin}}",
        f"  name: {cluster}",
        f"current-context: {cluster}",
    )
    return f"home/{t.pick(['ops', 'jdoe', 'ci'])}/.kube/config-{cluster}", doc


SPECIALS: tuple[tuple[Callable[[BenchTokens], tuple[str, Doc]], int], ...] = (
    (special_npmrc, 3),
    (special_pypirc, 3),
    (special_aws, 4),
    (special_git_credentials, 3),
    (special_gem, 1),
    (special_keyfile, 8),
    (special_age, 2),
    (special_service_account, 4),
    (special_kubeconfig, 4),
)


def env_example(t: BenchTokens) -> tuple[str, Doc]:
    """A .env.example: only placeholders and references (all negatives)."""
    doc = Doc()
    doc.add("# Copy to .env and fill in real values")
    for _ in range(t.rng.randint(4, 10)):
        decoy = t.pick(
            [
                d
                for d in DECOYS
                if d.category in ("placeholder", "placeholder.provider-shaped", "env-reference", "docs-example")
            ]
        )
        p = negative(t, decoy, "env")
        doc.plant(p, render_env(t, p))
    return f"{_svc(t)}/.env.example", doc


# ---------------------------------------------------------------------------------------------------
# The whole set
# ---------------------------------------------------------------------------------------------------


def _whole(text: str) -> Doc:
    return Doc(lines=text.rstrip("\n").split("\n"))


def minified(t: BenchTokens) -> tuple[str, Doc]:
    plants = [draw_positive(t, "js") for _ in range(t.rng.choice([0, 0, 1, 1, 2]))]
    plants = [p for p in plants if not p.block]
    for p in plants:
        p.header = False
    inserts = [f'{camel(p.name)}:"{p.value}"' for p in plants]
    doc = _whole(F.minified_js(t, list(reversed(inserts))))
    for p in plants:
        idx = next(i for i, ln in enumerate(doc.lines) if p.value in ln)
        doc.spans.append((p, idx + 1, idx + 1))
    return f"web/{_svc(t)}/dist/{t.pick(['app', 'vendor', 'main', 'chunk'])}.{t.hexs(8)}.min.js", doc


def generate(out: Path, seed: int, n_files: int) -> dict[str, object]:
    """Write the corpus and return the manifest."""
    t = BenchTokens(seed)
    corpus = out / "corpus"
    if corpus.exists():
        shutil.rmtree(corpus)
    corpus.mkdir(parents=True)
    files: dict[str, Doc] = {}
    binary: dict[str, bytes] = {}
    ft_weights = [ft.weight for ft in FILETYPES]
    file_kinds: dict[str, str] = {}

    variants = ["staging", "prod", "eu", "us", "legacy", "v2", "internal", "edge", "batch", "canary"]

    def put(path: str, doc: Doc, kind: str) -> None:
        base, n = path, 0
        while path in files or path in binary:
            parent, _, name = base.rpartition("/")
            sub = variants[n % len(variants)] + (str(n // len(variants) + 1) if n >= len(variants) else "")
            path = f"{parent}/{sub}/{name}" if parent else f"{sub}/{name}"
            n += 1
        files[path] = doc
        file_kinds[path] = kind

    for i in range(n_files):
        r = t.rng.random()
        if r < 0.06:
            fn = t.rng.choices([s for s, _ in SPECIALS], [w for _, w in SPECIALS])[0]
            path, doc = fn(t)
            put(path, doc, "credential-file:" + fn.__name__.removeprefix("special_"))
        elif r < 0.08:
            path, doc = env_example(t)
            put(path, doc, "env-example")
        elif r < 0.13:
            name, fn = t.pick(list(F.LOCKFILES.items()))
            put(f"{t.pick(['web', 'services', 'tools', 'api'])}/{_svc(t)}/{name}", _whole(fn(t)), "lockfile")
        elif r < 0.16:
            path, doc = minified(t)
            put(path, doc, "minified-js")
        elif r < 0.19:
            kind, text = t.pick([("svg", F.svg), ("html", F.html_page), ("css", F.css_file)])
            ext = {"svg": "svg", "html": "html", "css": "css"}[kind]
            put(f"web/{_svc(t)}/public/{F.ident(t, 2)}.{ext}", _whole(text(t)), kind)
        elif r < 0.20:
            binary[f"web/{_svc(t)}/public/img/{F.ident(t, 1)}-{i}.png"] = F.png_bytes(t)
        elif r < 0.26:
            n_pos = t.pick([0, 1, 1, 2, 3])
            put(
                f"config/{_svc(t)}/{t.pick(['appsettings', 'config', 'settings', 'secrets'])}.json",
                build_json(t, n_pos, t.rng.randint(1, 6)),
                "json",
            )
        else:
            ft = t.rng.choices(FILETYPES, ft_weights)[0]
            n_pos = t.pick([0, 0, 1, 1, 1, 2, 2, 3])
            n_pos = min(n_pos, ft.max_pos)
            put(ft.path(t), build_regular(t, ft, n_pos, t.rng.randint(1, 6)), ft.lang)

    positives, negatives = [], []
    for path, doc in sorted(files.items()):
        target = corpus / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(doc.text(), encoding="utf-8")
        for plant, first, last in doc.spans:
            rec = {"file": path, "line": first, "end_line": last, "label": plant.label}
            if plant.positive:
                rec |= {
                    "family": plant.family,
                    "secret": plant.secret,
                    "value": plant.value,
                    "alternatives": list(plant.alternatives),
                }
                positives.append(rec)
            else:
                negatives.append(rec)
    for path, data in binary.items():
        (corpus / path).parent.mkdir(parents=True, exist_ok=True)
        (corpus / path).write_bytes(data)
        file_kinds[path] = "png"
    _check_labels(corpus, positives)
    return {
        "seed": seed,
        "files": len(files) + len(binary),
        "file_kinds": file_kinds,
        "positives": positives,
        "negatives": negatives,
    }


def _check_labels(corpus: Path, positives: list[dict[str, object]]) -> None:
    """Every positive's secret (or an alternative) must really be on its labelled lines."""
    cache: dict[str, list[str]] = {}
    for p in positives:
        lines = cache.setdefault(str(p["file"]), (corpus / str(p["file"])).read_text().split("\n"))
        window = "\n".join(lines[int(p["line"]) - 1 : int(p["end_line"])])
        probes = [str(p["secret"]).split("\n")[0][:60], *[str(a)[:40] for a in p["alternatives"]]]  # type: ignore[union-attr]
        forms = [f for pr in probes if pr for f in (pr, json.dumps(pr)[1:-1], html.escape(pr))]
        if not any(f in window for f in forms):
            raise AssertionError(f"label mismatch in {p['file']}:{p['line']} ({p['label']})")


def summary(manifest: dict[str, object]) -> str:
    """One-paragraph description of the generated set."""
    pos = manifest["positives"]
    fam = Counter(p["family"] for p in pos)  # type: ignore[index,union-attr]
    kinds = Counter(manifest["file_kinds"].values())  # type: ignore[union-attr]
    return (
        f"{manifest['files']} files, {len(pos)} positives, {len(manifest['negatives'])} planted negatives; "  # type: ignore[arg-type]
        f"positives by family: {dict(fam)}; files by kind: {dict(kinds.most_common())}"
    )


def main() -> None:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--files", type=int, default=900)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    manifest = generate(args.out, args.seed, args.files)
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(summary(manifest))


if __name__ == "__main__":
    main()
