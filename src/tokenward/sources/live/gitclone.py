"""Repositories of a hosting provider: a bare mirror kept in the cache, scanned by the git source.

The mirror is cloned once and fetched on later runs, and the git source's own blob cache (keyed by
the mirror's directory) makes a rerun read only blobs it has not scanned: the refs are the cursor.
A credential reaches git through GIT_CONFIG_* environment variables (an http.extraHeader for the
provider's host only), never through the command line or the remote URL, so `ps` and the mirror's
config never show it.
"""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from tokenward.codehash import incremental_key
from tokenward.identity import load_key
from tokenward.sources.blobcache import SqliteBlobCache, cache_dir, cache_file
from tokenward.sources.git import GitOptions, GitSource
from tokenward.sources.gitobjects import first_line, open_repo
from tokenward.sources.gitprov import WalkIndex
from tokenward.sources.live.interface import LiveError, LiveOptions
from tokenward.sources.select import SourceOptions, git_scope

TIMEOUT = 3600


def mirror_dir(options: LiveOptions, provider: str, host: str, name: str) -> Path:
    """Where the mirror of one repository lives (the cache dir unless options say otherwise)."""
    base = options.cache_dir or cache_dir() / "live"
    safe = "/".join(part for part in name.split("/") if part not in ("", ".", ".."))
    return base / provider / host.replace(":", "_") / f"{safe}.git"


def _env(url: str, user: str, secret: str | None) -> dict[str, str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
    parts = urlsplit(url)
    if secret and parts.scheme == "https":
        basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
        env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"http.{parts.scheme}://{parts.netloc}/.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"})
    return env


def mirror(url: str, dest: Path, *, user: str = "x-access-token", secret: str | None = None) -> None:
    """Clone url as a bare mirror into dest, or fetch every ref into the existing mirror (LiveError on failure)."""
    if (dest / "HEAD").exists():
        cmd = ["git", "-C", str(dest), "fetch", "--prune", "--quiet", url, "+refs/*:refs/*"]
    else:
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        cmd = ["git", "clone", "--mirror", "--quiet", "--", url, str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, env=_env(url, user, secret), timeout=TIMEOUT)
    except (OSError, subprocess.SubprocessError) as exc:
        raise LiveError(f"cannot run git for {url}: {type(exc).__name__}") from None
    if proc.returncode != 0:
        raise LiveError(f"git could not clone {url}: {first_line(proc.stderr)}")


def git_source(dest: Path, root: str, options: LiveOptions) -> GitSource:
    """The git source over a mirror, reported under root (the repository's web URL)."""
    repo = open_repo(dest)
    if repo is None:
        raise LiveError(f"{root}: the mirror at {dest} is not a git repository")
    scope_options: SourceOptions = options.scope or SourceOptions()
    scope = git_scope(repo, scope_options)
    if scope is None:
        raise LiveError(f"{root}: the mirror has no commit to scan")
    key = incremental_key(scope_options.ruleset, scope_options.detection, load_key())
    settings = options.settings
    git_options = GitOptions(scope=scope, max_size=options.max_size, cache_key=key, use_cache=not options.full,
                             exclude=tuple(settings.exclude) if settings is not None else (),
                             reread_found=scope_options.reread_found)
    return GitSource(repo, root, git_options, SqliteBlobCache(cache_file(repo.git_dir)),
                     WalkIndex(cache_file(repo.git_dir, "walk")))
