"""Realistic non-secret content: code, config, prose, lockfiles, minified bundles, images.

Everything here is generated from word lists and the seeded generator, so the evaluation set is
reproducible and contains no third-party text.
"""

from __future__ import annotations

import base64
import hashlib
import string

from negatives import data_uri, md5, sha1, sha256, sha512_b64, tiny_png
from positives import ALNUM, HEX, URLSAFE, BenchTokens

WORDS = [
    "account",
    "order",
    "invoice",
    "user",
    "session",
    "cache",
    "queue",
    "worker",
    "report",
    "export",
    "import",
    "customer",
    "product",
    "price",
    "cart",
    "payment",
    "refund",
    "shipment",
    "address",
    "region",
    "cluster",
    "node",
    "pod",
    "service",
    "deploy",
    "release",
    "build",
    "artifact",
    "bucket",
    "object",
    "record",
    "event",
    "message",
    "channel",
    "topic",
    "stream",
    "batch",
    "job",
    "task",
    "schedule",
    "retry",
    "backoff",
    "timeout",
    "limit",
    "page",
    "cursor",
    "filter",
    "sort",
    "index",
    "search",
    "query",
    "result",
    "response",
    "request",
    "header",
    "body",
    "status",
    "error",
    "metric",
    "trace",
    "span",
    "log",
    "audit",
    "policy",
    "role",
    "group",
    "member",
    "team",
    "project",
    "tenant",
    "plan",
    "feature",
    "flag",
    "config",
    "setting",
    "profile",
    "avatar",
    "image",
    "thumbnail",
    "upload",
    "download",
    "file",
    "folder",
    "path",
    "route",
    "handler",
    "client",
    "server",
    "proxy",
    "gateway",
    "database",
    "table",
    "column",
    "row",
    "migration",
    "schema",
    "model",
    "view",
    "template",
    "render",
    "form",
    "field",
    "value",
    "item",
    "list",
    "map",
]
VERBS = [
    "get",
    "set",
    "load",
    "save",
    "fetch",
    "build",
    "parse",
    "render",
    "sync",
    "update",
    "create",
    "delete",
    "validate",
    "check",
    "send",
    "handle",
    "resolve",
]
PACKAGES = [
    "lodash",
    "react",
    "react-dom",
    "express",
    "axios",
    "chalk",
    "debug",
    "commander",
    "yargs",
    "uuid",
    "dotenv",
    "moment",
    "dayjs",
    "zod",
    "typescript",
    "eslint",
    "prettier",
    "webpack",
    "vite",
    "rollup",
    "esbuild",
    "jest",
    "vitest",
    "mocha",
    "chai",
    "sinon",
    "ws",
    "socket.io",
    "cors",
    "helmet",
    "morgan",
    "body-parser",
    "cookie-parser",
    "jsonwebtoken",
    "bcryptjs",
    "pg",
    "mysql2",
    "redis",
    "ioredis",
    "mongoose",
    "sequelize",
    "knex",
    "prisma",
    "graphql",
    "apollo-server",
    "next",
    "nuxt",
    "vue",
    "svelte",
    "tailwindcss",
    "postcss",
    "autoprefixer",
    "sass",
    "classnames",
    "clsx",
    "immer",
    "redux",
    "rxjs",
    "date-fns",
    "luxon",
    "nanoid",
    "semver",
    "glob",
    "minimatch",
    "rimraf",
    "mkdirp",
    "fs-extra",
    "cross-env",
    "concurrently",
]
PYPKGS = [
    "requests",
    "urllib3",
    "certifi",
    "idna",
    "charset-normalizer",
    "flask",
    "django",
    "fastapi",
    "uvicorn",
    "starlette",
    "pydantic",
    "sqlalchemy",
    "alembic",
    "psycopg2-binary",
    "redis",
    "celery",
    "kombu",
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "numpy",
    "pandas",
    "pytz",
    "python-dateutil",
    "six",
    "attrs",
    "click",
    "jinja2",
    "markupsafe",
    "itsdangerous",
    "werkzeug",
    "gunicorn",
    "pyyaml",
    "toml",
    "pytest",
    "coverage",
    "black",
    "isort",
    "mypy",
    "ruff",
    "httpx",
    "anyio",
    "sniffio",
    "h11",
    "cryptography",
    "cffi",
    "pycparser",
]
GOMODS = [
    "github.com/spf13/cobra",
    "github.com/spf13/viper",
    "github.com/stretchr/testify",
    "go.uber.org/zap",
    "golang.org/x/sync",
    "golang.org/x/net",
    "golang.org/x/sys",
    "google.golang.org/grpc",
    "google.golang.org/protobuf",
    "github.com/gin-gonic/gin",
    "github.com/go-chi/chi/v5",
    "github.com/jackc/pgx/v5",
    "github.com/redis/go-redis/v9",
    "github.com/prometheus/client_golang",
    "github.com/rs/zerolog",
    "gopkg.in/yaml.v3",
    "github.com/google/uuid",
]
CRATES = [
    "serde",
    "serde_json",
    "tokio",
    "anyhow",
    "thiserror",
    "clap",
    "regex",
    "rand",
    "log",
    "env_logger",
    "reqwest",
    "hyper",
    "bytes",
    "futures",
]


def ident(t: BenchTokens, parts: int = 2, style: str = "snake") -> str:
    """A realistic identifier made of words."""
    words = [t.pick(WORDS) for _ in range(parts)]
    if style == "camel":
        return words[0] + "".join(w.title() for w in words[1:])
    if style == "pascal":
        return "".join(w.title() for w in words)
    if style == "upper":
        return "_".join(words).upper()
    return "_".join(words)


def sentence(t: BenchTokens, n: int = 0) -> str:
    """A plain sentence of words."""
    n = n or t.rng.randint(6, 14)
    words = [t.pick(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def t_word(t: BenchTokens) -> str:
    """One random word."""
    return t.pick(WORDS)


def t_pascal(name: str) -> str:
    """PascalCase of a snake, kebab or dotted name."""
    return "".join(w[:1].upper() + w[1:] for w in name.replace("-", "_").replace(".", "_").split("_") if w)


def version(t: BenchTokens) -> str:
    return f"{t.rng.randint(0, 12)}.{t.rng.randint(0, 30)}.{t.rng.randint(0, 20)}"


# --- code ----------------------------------------------------------------------------------------


def python_function(t: BenchTokens) -> list[str]:
    name = f"{t.pick(VERBS)}_{ident(t, 1)}"
    arg, other = ident(t, 1), ident(t, 1)
    body = t.pick(
        [
            [f"    if not {arg}:", f'        raise ValueError("{arg} is required")', f"    return {arg}.{other}"],
            [
                "    result = []",
                f"    for item in {arg}:",
                f"        if item.{other} is not None:",
                "            result.append(item)",
                "    return result",
            ],
            [
                f'    logger.debug("{name} %s", {arg})',
                f'    response = session.get(f"{{BASE_URL}}/{other}s/{{{arg}}}", timeout=TIMEOUT)',
                "    response.raise_for_status()",
                "    return response.json()",
            ],
            [
                f'    with open({arg}, encoding="utf-8") as fh:',
                "        data = json.load(fh)",
                f'    return data.get("{other}", {{}})',
            ],
        ]
    )
    return [
        f"def {name}({arg}{t.pick(['', ', timeout=30', ', *, retries=3'])}):",
        f'    """{sentence(t)}"""',
        *body,
        "",
    ]


def python_class(t: BenchTokens) -> list[str]:
    name = ident(t, 2, "pascal")
    fields = [ident(t, 1) for _ in range(t.rng.randint(2, 4))]
    out = ["@dataclass", f"class {name}:", f'    """{sentence(t)}"""', ""]
    out += [f"    {f}: {t.pick(['str', 'int', 'float', 'bool', 'list[str]'])}" for f in dict.fromkeys(fields)]
    return [*out, ""]


def python_header(t: BenchTokens) -> list[str]:
    imports = t.rng.sample(
        [
            "import os",
            "import json",
            "import logging",
            "import time",
            "import hashlib",
            "from dataclasses import dataclass",
            "import requests",
            "from pathlib import Path",
            "from typing import Any",
        ],
        4,
    )
    return [
        f'"""{sentence(t)}"""',
        "",
        *sorted(imports),
        "",
        "logger = logging.getLogger(__name__)",
        f'BASE_URL = "https://api.{t.pick(WORDS)}.acme.io/v{t.rng.randint(1, 3)}"',
        "TIMEOUT = 30",
        "",
    ]


def js_function(t: BenchTokens) -> list[str]:
    name = t.pick(VERBS) + ident(t, 1, "pascal")
    arg = ident(t, 1)
    return t.pick(
        [
            [
                f"export async function {name}({arg}) {{",
                f"  const res = await fetch(`${{BASE_URL}}/{t.pick(WORDS)}s/${{{arg}}}`);",
                "  if (!res.ok) throw new Error(`request failed: ${res.status}`);",
                "  return res.json();",
                "}",
                "",
            ],
            [
                f"function {name}({arg}, options = {{}}) {{",
                "  const { limit = 20, offset = 0 } = options;",
                f"  return {arg}.slice(offset, offset + limit).map((x) => x.{t.pick(WORDS)});",
                "}",
                "",
            ],
            [
                f"export const {name} = ({arg}) => ({{",
                f"  type: '{ident(t, 2, 'upper')}',",
                f"  payload: {arg},",
                "});",
                "",
            ],
        ]
    )


def go_function(t: BenchTokens) -> list[str]:
    name = t.pick(VERBS).title() + ident(t, 1, "pascal")
    return [
        f"// {name} {sentence(t).lower()}",
        f"func {name}(ctx context.Context, id string) (*{ident(t, 1, 'pascal')}, error) {{",
        '\tif id == "" {',
        '\t\treturn nil, errors.New("empty id")',
        "\t}",
        f'\treq, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/{t.pick(WORDS)}s/"+id, nil)',
        "\tif err != nil {",
        "\t\treturn nil, err",
        "\t}",
        "\t_ = req",
        "\treturn nil, nil",
        "}",
        "",
    ]


def java_method(t: BenchTokens) -> list[str]:
    name = t.pick(VERBS) + ident(t, 1, "pascal")
    return [
        f"    public {t.pick(['String', 'int', 'boolean', 'List<String>'])} {name}(String {ident(t, 1)}) {{",
        f'        log.debug("{name} called");',
        f"        return {t.pick(['null', '0', 'false', 'List.of()'])};",
        "    }",
        "",
    ]


def ruby_method(t: BenchTokens) -> list[str]:
    return [
        f"  def {t.pick(VERBS)}_{ident(t, 1)}({ident(t, 1)})",
        f"    @{ident(t, 1)} ||= {t.pick(['[]', '{}', 'nil'])}",
        "  end",
        "",
    ]


def yaml_block(t: BenchTokens, indent: int = 0) -> list[str]:
    pad = " " * indent
    key = ident(t, 1)
    return [
        f"{pad}{key}:",
        *[
            f"{pad}  {ident(t, 1)}: {t.pick([str(t.rng.randint(1, 500)), 'true', 'false', ident(t, 2)])}"
            for _ in range(t.rng.randint(2, 5))
        ],
    ]


def shell_lines(t: BenchTokens) -> list[str]:
    return t.rng.sample(
        [
            "set -euo pipefail",
            f'echo "deploying {ident(t, 1)} to $ENVIRONMENT"',
            f"docker build -t registry.acme.io/{ident(t, 1)}:$GIT_SHA .",
            "kubectl rollout status deploy/api -n prod",
            f"aws s3 sync ./dist s3://acme-{t.pick(WORDS)}-assets --delete",
            "terraform init -input=false",
            f'if [ -z "${{{ident(t, 2, "upper")}:-}}" ]; then echo "missing"; exit 1; fi',
            "npm ci && npm run build",
            "python -m pip install -r requirements.txt",
            f"psql \"$DATABASE_URL\" -c 'select count(*) from {t.pick(WORDS)}s'",
        ],
        4,
    )


def markdown_prose(t: BenchTokens) -> list[str]:
    return [
        f"## {ident(t, 2).replace('_', ' ').title()}",
        "",
        sentence(t, 18),
        sentence(t, 12),
        "",
        f"- {sentence(t, 6)}",
        f"- {sentence(t, 8)}",
        "",
    ]


def log_lines(t: BenchTokens, n: int) -> list[str]:
    out = []
    for _ in range(n):
        ts = (
            f"2025-0{t.rng.randint(1, 9)}-{t.rng.randint(10, 28)}T{t.rng.randint(10, 23)}:{t.rng.randint(10, 59)}:"
            f"{t.rng.randint(10, 59)}.{t.rng.randint(100, 999)}Z"
        )
        out.append(
            t.pick(
                [
                    f"{ts} INFO  request_id={t.uuid4()} method=GET "
                    f"path=/api/v1/{t.pick(WORDS)}s/{t.rng.randint(1, 99999)} "
                    f"status=200 duration_ms={t.rng.randint(2, 900)}",
                    f"{ts} DEBUG cache miss key={t.pick(WORDS)}:{sha1(t)[:12]} "
                    f"trace_id={t.hexs(32)} span_id={t.hexs(16)}",
                    f'{ts} WARN  retrying job={t.uuid4()} attempt={t.rng.randint(1, 5)} etag="{md5(t)}"',
                    f"{ts} INFO  deployed revision {sha1(t)} image sha256:{sha256(t)}",
                ]
            )
        )
    return out


# --- whole files that are all negatives --------------------------------------------------------


def package_lock(t: BenchTokens) -> str:
    pkgs = t.rng.sample(PACKAGES, min(len(PACKAGES), t.rng.randint(20, 60)))
    lines = [
        "{",
        f'  "name": "{ident(t, 1)}-web",',
        f'  "version": "{version(t)}",',
        '  "lockfileVersion": 3,',
        '  "requires": true,',
        '  "packages": {',
    ]
    entries = []
    for p in pkgs:
        v = version(t)
        entries.append(
            "\n".join(
                [
                    f'    "node_modules/{p}": {{',
                    f'      "version": "{v}",',
                    f'      "resolved": "https://registry.npmjs.org/{p}/-/{p.split("/")[-1]}-{v}.tgz",',
                    f'      "integrity": "sha512-{sha512_b64(t)}",',
                    '      "dev": true' if t.rng.random() < 0.4 else '      "license": "MIT"',
                    "    }",
                ]
            )
        )
    return "\n".join(lines) + "\n" + ",\n".join(entries) + "\n  }\n}\n"


def yarn_lock(t: BenchTokens) -> str:
    out = ["# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.", "# yarn lockfile v1", ""]
    for p in t.rng.sample(PACKAGES, 30):
        v = version(t)
        out += [
            f'"{p}@^{v}":',
            f'  version "{v}"',
            f'  resolved "https://registry.yarnpkg.com/{p}/-/{p}-{v}.tgz#{sha1(t)}"',
            f"  integrity sha512-{sha512_b64(t)}",
            "",
        ]
    return "\n".join(out)


def pnpm_lock(t: BenchTokens) -> str:
    out = ["lockfileVersion: '9.0'", "", "packages:", ""]
    for p in t.rng.sample(PACKAGES, 25):
        out += [
            f"  {p}@{version(t)}:",
            f"    resolution: {{integrity: sha512-{sha512_b64(t)}}}",
            "    engines: {node: '>=14'}",
            "",
        ]
    return "\n".join(out)


def poetry_lock(t: BenchTokens) -> str:
    out = []
    for p in t.rng.sample(PYPKGS, 20):
        v = version(t)
        out += [
            "[[package]]",
            f'name = "{p}"',
            f'version = "{v}"',
            f'description = "{sentence(t, 5)}"',
            "optional = false",
            'python-versions = ">=3.8"',
            "files = [",
            f'    {{file = "{p.replace("-", "_")}-{v}-py3-none-any.whl", hash = "sha256:{sha256(t)}"}},',
            f'    {{file = "{p.replace("-", "_")}-{v}.tar.gz", hash = "sha256:{sha256(t)}"}},',
            "]",
            "",
        ]
    out += ["[metadata]", 'lock-version = "2.0"', 'python-versions = "^3.11"', f'content-hash = "{sha256(t)}"', ""]
    return "\n".join(out)


def pipfile_lock(t: BenchTokens) -> str:
    default = {
        p: {"hashes": [f"sha256:{sha256(t)}", f"sha256:{sha256(t)}"], "version": f"=={version(t)}"}
        for p in t.rng.sample(PYPKGS, 15)
    }
    import json

    return (
        json.dumps({"_meta": {"hash": {"sha256": sha256(t)}, "pipfile-spec": 6}, "default": default}, indent=4) + "\n"
    )


def go_sum(t: BenchTokens) -> str:
    out = []
    for m in GOMODS:
        v = f"v{version(t)}"
        h1 = base64.b64encode(hashlib.sha256(t.randbytes(8)).digest()).decode()
        h2 = base64.b64encode(hashlib.sha256(t.randbytes(8)).digest()).decode()
        out += [f"{m} {v} h1:{h1}", f"{m} {v}/go.mod h1:{h2}"]
    return "\n".join(out) + "\n"


def cargo_lock(t: BenchTokens) -> str:
    out = [
        "# This file is automatically @generated by Cargo.",
        "# It is not intended for manual editing.",
        "version = 3",
        "",
    ]
    for c in CRATES:
        out += [
            "[[package]]",
            f'name = "{c}"',
            f'version = "{version(t)}"',
            'source = "registry+https://github.com/rust-lang/crates.io-index"',
            f'checksum = "{sha256(t)}"',
            "",
        ]
    return "\n".join(out)


def composer_lock(t: BenchTokens) -> str:
    import json

    pkgs = [
        {
            "name": f"{t.pick(['symfony', 'laravel', 'guzzlehttp', 'monolog'])}/{ident(t, 1)}",
            "version": f"v{version(t)}",
            "source": {"type": "git", "url": f"https://github.com/acme/{ident(t, 1)}.git", "reference": sha1(t)},
            "dist": {
                "type": "zip",
                "url": f"https://api.github.com/repos/acme/{ident(t, 1)}/zipball/{sha1(t)}",
                "reference": sha1(t),
                "shasum": "",
            },
        }
        for _ in range(12)
    ]
    return json.dumps({"content-hash": md5(t), "packages": pkgs}, indent=4) + "\n"


LOCKFILES = {
    "package-lock.json": package_lock,
    "yarn.lock": yarn_lock,
    "pnpm-lock.yaml": pnpm_lock,
    "poetry.lock": poetry_lock,
    "Pipfile.lock": pipfile_lock,
    "go.sum": go_sum,
    "Cargo.lock": cargo_lock,
    "composer.lock": composer_lock,
}


def minified_js(t: BenchTokens, inserts: list[str]) -> str:
    """A minified bundle: one very long line, with `inserts` (object members) spliced in."""
    chunks = []
    short = [a + b for a in "etnroiasl" for b in "" + string.ascii_letters[:10]] + list("etnroiasl")
    for _ in range(t.rng.randint(150, 400)):
        a, b, c = t.pick(short), t.pick(short), t.pick(short)
        chunks.append(
            t.pick(
                [
                    f"function {a}({b},{c}){{return {b}&&{b}.{t.pick(WORDS)}?{c}({b}):null}}",
                    f'var {a}={b}({t.rng.randint(1, 999)}),{c}={a}.{t.pick(WORDS)}||"{t.pick(WORDS)}"',
                    f'{a}.exports={{{t.pick(WORDS)}:"{t.hexs(20)}",{t.pick(WORDS)}:{t.rng.randint(0, 9999)}}}',
                    f'{a}["{ident(t, 2, "camel")}"]=function({b}){{this.{t.pick(WORDS)}={b}}}',
                    f'const {a}="{t.pick(WORDS)}-{t.chars(URLSAFE.replace("-", ""), 8)}"',
                    f'{a}.p="/static/js/"+{{{t.rng.randint(10, 999)}:"{t.hexs(8)}",'
                    f'{t.rng.randint(10, 999)}:"{t.hexs(8)}"}}[{b}]',
                    f'{a}.default={{id:"{t.chars(ALNUM, 24)}",key:"{t.pick(WORDS)}"}}',
                    f'{a}({b},"{base64.b64encode(t.randbytes(t.rng.randint(12, 40))).decode()}")',
                ]
            )
        )
        if inserts and t.rng.random() < 0.02:
            chunks.append(f"var {a}={{{inserts.pop()}}}")
    chunks.extend(f"var z={{{x}}}" for x in inserts)
    body = ";".join(chunks)
    smap = base64.b64encode(
        (
            '{"version":3,"sources":["webpack://app/./src/index.js"],"names":[],"mappings":"'
            + t.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh;,", 300)
            + '"}'
        ).encode()
    ).decode()
    return (
        f"/*! {ident(t, 1)} v{version(t)} | MIT */\n!function(){{{body}}}();\n"
        f"//# sourceMappingURL=data:application/json;charset=utf-8;base64,{smap}\n"
    )


def svg(t: BenchTokens) -> str:
    w = t.rng.randint(16, 512)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{w}" height="{w}" viewBox="0 0 {w} {w}">\n'
        f'  <defs><linearGradient id="g{t.hexs(6)}">'
        f'<stop offset="0" stop-color="#{t.hexs(6)}"/></linearGradient></defs>\n'
        f'  <path d="M{t.rng.randint(0, 50)} {t.rng.randint(0, 50)}h{w}v{w}H0z" fill="#{t.hexs(6)}"/>\n'
        f'  <image width="{w}" height="{w}" xlink:href="{data_uri(t)}"/>\n</svg>\n'
    )


def html_page(t: BenchTokens) -> str:
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '  <meta charset="utf-8">',
            f"  <title>{ident(t, 2).replace('_', ' ').title()}</title>",
            f'  <link rel="stylesheet" '
            f'href="https://cdn.jsdelivr.net/npm/bootstrap@{version(t)}/dist/css/bootstrap.min.css" '
            f'integrity="sha384-{base64.b64encode(t.randbytes(48)).decode()}" crossorigin="anonymous">',
            f'  <script src="/static/js/main.{t.hexs(8)}.js" '
            f'integrity="sha256-{base64.b64encode(t.randbytes(32)).decode()}"></script>',
            f"  <style>.logo{{background-image:url({data_uri(t)})}}</style>",
            "</head>",
            "<body>",
            f'  <img alt="avatar" src="{data_uri(t)}">',
            f'  <div id="app" data-build="{sha1(t)}" data-request-id="{t.uuid4()}"></div>',
            "</body>",
            "</html>",
            "",
        ]
    )


def css_file(t: BenchTokens) -> str:
    out = []
    for _ in range(t.rng.randint(5, 15)):
        cls = f"{ident(t, 1)}_{ident(t, 1)}__{t.chars(ALNUM, 5)}"
        out += [f".{cls} {{", f"  color: #{t.hexs(6)};", f"  margin: {t.rng.randint(0, 32)}px;", "}"]
    out += [
        "@font-face {",
        "  font-family: 'Inter';",
        f"  src: url(data:font/woff2;base64,{base64.b64encode(b'wOF2' + t.randbytes(300)).decode()}) format('woff2');",
        "}",
        f".hero {{ background: url({data_uri(t)}) no-repeat; }}",
        "",
    ]
    return "\n".join(out)


def png_bytes(t: BenchTokens) -> bytes:
    return tiny_png(t, t.rng.randint(16, 64))


__all__ = ["HEX", "md5", "sha1", "sha256"]
