"""The repositories an organisation scan covers: a file of URLs/paths, a directory of repositories, or the
listing of a GitHub organisation or GitLab group through their REST APIs.

Targets are URLs (kept as given) or absolute paths; they name the repository in the inventory, so the
same repository is the same source whichever worker scans it. Credentials never go into a target:
a URL with a password is refused (it would be stored), and cloning uses the workers' git credentials.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx

from tokenward.errors import ConfigError
from tokenward.sources.gitobjects import open_repo

GITHUB_API = "https://api.github.com"
GITLAB_API = "https://gitlab.com"
PER_PAGE = 100
MAX_PAGES = 1000  # 100k repositories: a runaway pagination loop stops here
_SCP = re.compile(r"^[\w.-]+@[\w.-]+:(?!//)")  # git@host:owner/repo.git


def is_url(target: str) -> bool:
    """True for a URL or an scp-style git address (not a local path)."""
    return "://" in target or bool(_SCP.match(target))


def normalise(target: str, base: Path | None = None) -> str:
    """A target as stored: a URL as given (refused with a password), a path made absolute."""
    target = target.strip()
    if is_url(target):
        if "://" in target and urlsplit(target).password:
            raise ConfigError(f"{urlsplit(target).hostname}: a password in a target URL would be stored in the "
                              "inventory; give git a credential helper on the workers instead")
        return target
    path = Path(target).expanduser()
    return os.path.abspath(base / path if base and not path.is_absolute() else path)


def from_file(path: Path) -> list[str]:
    """Targets listed one per line ('#' comments and blank lines ignored; paths relative to the file)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the target list: {exc}") from None
    return [normalise(line, path.parent) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def from_directory(path: Path) -> list[str]:
    """Every repository (bare or with a work tree) directly inside path, sorted by name."""
    found = [str(p.resolve()) for p in sorted(path.iterdir()) if p.is_dir() and open_repo(p) is not None]
    if not found:
        raise ConfigError(f"{path}: no git repositories in this directory")
    return found


def from_argument(target: str) -> list[str]:
    """TARGETS on the command line: a directory of repositories, a repository, a list file, or a URL."""
    path = Path(target)
    if is_url(target):
        return [normalise(target)]
    if path.is_dir():
        return [normalise(target)] if open_repo(path) is not None else from_directory(path)
    if path.is_file():
        return from_file(path)
    raise ConfigError(f"{target}: no such file or directory")


def _pages(client: httpx.Client, url: str, params: dict[str, str | int]) -> Iterator[list[dict[str, object]]]:
    for page in range(1, MAX_PAGES + 1):
        response = client.get(url, params={**params, "per_page": PER_PAGE, "page": page})
        if response.status_code != 200:
            raise ConfigError(f"listing {url}: HTTP {response.status_code}")
        items = response.json()
        if not isinstance(items, list):
            raise ConfigError(f"listing {url}: expected a JSON list")
        yield items
        if len(items) < PER_PAGE:
            return


def github_org(org: str, api: str | None = None, token: str | None = None) -> list[str]:
    """Clone URLs of every repository of a GitHub organisation ($GITHUB_TOKEN for private ones)."""
    base = (api or os.environ.get("TOKENWARD_GITHUB_API") or GITHUB_API).rstrip("/")
    token = token or os.environ.get("GITHUB_TOKEN")
    headers = {"Accept": "application/vnd.github+json", **({"Authorization": f"Bearer {token}"} if token else {})}
    with httpx.Client(headers=headers, timeout=30) as client:
        items = [i for page in _pages(client, f"{base}/orgs/{org}/repos", {"type": "all"}) for i in page]
    return [normalise(str(i["clone_url"])) for i in items]


def gitlab_group(group: str, api: str | None = None, token: str | None = None) -> list[str]:
    """Clone URLs of every project of a GitLab group and its subgroups ($GITLAB_TOKEN for private ones)."""
    base = (api or os.environ.get("TOKENWARD_GITLAB_API") or GITLAB_API).rstrip("/")
    token = token or os.environ.get("GITLAB_TOKEN")
    headers = {"PRIVATE-TOKEN": token} if token else {}
    url = f"{base}/api/v4/groups/{quote(group, safe='')}/projects"
    with httpx.Client(headers=headers, timeout=30) as client:
        items = [i for page in _pages(client, url, {"include_subgroups": "true"}) for i in page]
    return [normalise(str(i["http_url_to_repo"])) for i in items]
