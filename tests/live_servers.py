"""Servers the live-source tests talk to: a scriptable fake HTTP API, moto's S3, a registry, a git daemon.

The fake API replays the documented response shapes of each provider; every request is logged (with
its arrival time, to check that Retry-After was honoured) and credentials are checked per request.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from typer.testing import CliRunner

from tokenward.cli.main import app


@dataclass
class Request:
    """One request the fake server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Reply:
    """What a route answers: status, JSON (or raw bytes) body, headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


Route = Callable[[Request], Reply]


class FakeApi:
    """A threaded HTTP server on 127.0.0.1 (random port) dispatching to `handle(request) -> Reply`."""

    def __init__(self, handle: Route) -> None:
        self.handle = handle
        self.log: list[Request] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                req = Request(self.command, parts.path, query, headers, self.rfile.read(length), time.monotonic())
                outer.log.append(req)
                reply = outer.handle(req)
                body = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for k, v in {"Content-Type": "application/json", **reply.headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_HEAD = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def requests(self, path: str) -> list[Request]:
        """The logged requests to one path."""
        return [r for r in self.log if r.path == path]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    """Block until something listens on port (or fail with the process's output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {proc.stdout.read().decode() if proc.stdout else ''}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start on port {port}")


@contextlib.contextmanager
def process(cmd: list[str], port: int, what: str, cwd: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process until the block ends (terminated by its own pid)."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc, what)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def moto_binary() -> str | None:
    """moto_server next to the test interpreter (the dev extras install it)."""
    import sys

    candidate = Path(sys.executable).with_name("moto_server")
    return str(candidate) if candidate.exists() else shutil.which("moto_server")


def run_scan(args: list[str], out: Path) -> tuple[int, dict[str, Any], str]:
    """`tokenward scan ARGS --format json --output OUT -q` in process: (exit code, report, terminal output)."""
    result = CliRunner().invoke(app, ["scan", *args, "--format", "json", "--output", str(out), "-q"])
    report = json.loads(out.read_text()) if out.exists() else {}
    return result.exit_code, report, result.output


def details(report: dict[str, Any]) -> list[dict[str, str]]:
    """source.details of every finding of a JSON report."""
    return [f["source"].get("details", {}) for f in report.get("findings", [])]


def assert_no_plaintext(secrets: list[str], *places: Path | str) -> None:
    """None of secrets appears in any of the given files (reports, databases) or strings."""
    for place in places:
        data = place.read_bytes() if isinstance(place, Path) else place.encode()
        for secret in secrets:
            assert secret.encode() not in data, f"plaintext secret in {place if isinstance(place, Path) else 'output'}"


def git(cwd: Path, *args: str) -> None:
    """Run git in cwd with a fixed identity and no user configuration."""
    env = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.test", "GIT_COMMITTER_NAME": "Dev",
           "GIT_COMMITTER_EMAIL": "dev@example.test", "HOME": str(cwd), "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def bare_repo(served: Path, name: str, files: list[dict[str, str]]) -> None:
    """A repository whose successive commits set these file contents ('' deletes), published bare at served/name.git."""
    work = served / ".work" / name
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", "main")
    for number, tree in enumerate(files):
        for path, text in tree.items():
            (work / path).write_text(text) if text else (work / path).unlink()
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", f"change {number}")
    (served / name).parent.mkdir(parents=True, exist_ok=True)
    git(work, "clone", "-q", "--bare", str(work), str(served / f"{name}.git"))


@contextlib.contextmanager
def git_daemon(served: Path) -> Iterator[str]:
    """A real `git daemon` exporting every repository under served; yields its git:// base URL."""
    port = free_port()
    cmd = ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={served}", "--listen=127.0.0.1",
           f"--port={port}", str(served)]
    with process(cmd, port, "git daemon"):
        yield f"git://127.0.0.1:{port}"


def paged(items: list[Any], req: Request, size: int = 2) -> tuple[list[Any], int | None]:
    """One page of items by the request's `page` (1-based) query; (slice, next page number or None)."""
    page = int(req.query.get("page") or 1)
    start = (page - 1) * size
    return items[start:start + size], page + 1 if start + size < len(items) else None


class Once:
    """Answers a failure the first time a condition holds, then lets requests through."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.used = False

    def __call__(self, hit: bool) -> Reply | None:
        """The failure reply when hit for the first time, else None."""
        if hit and not self.used:
            self.used = True
            return self.reply
        return None
