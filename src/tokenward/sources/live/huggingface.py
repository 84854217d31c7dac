"""`huggingface://ORG`: an organisation's (or user's) models, datasets and spaces, each a git repository.

The Hub API lists the repositories (`/api/models|datasets|spaces?author=ORG`, Link-header pages);
each is mirrored with git and scanned like a local repository (full history, commit provenance).
Large files kept in Git LFS are read as their pointers, not their content. `?models=0`,
`?datasets=0`, `?spaces=0` turn kinds off.

Credential: HF_TOKEN (or HUGGING_FACE_HUB_TOKEN; optional for public repositories, needed for private
ones; sent to git over https only). API base: $TOKENWARD_HUGGINGFACE_BASE_URL (default
https://huggingface.co); clones from $TOKENWARD_HUGGINGFACE_GIT_BASE_URL (default: the API base).
Incremental: git refs through the mirror's blob cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.hosting import HostingSource
from tokenward.sources.live.interface import http_client, next_link, paginate

API = "https://huggingface.co"
TOKEN_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
KINDS = (("models", ""), ("datasets", "datasets/"), ("spaces", "spaces/"))  # kind, its URL prefix on the Hub


class HuggingfaceSource(HostingSource):
    """Models, datasets and spaces of one author."""

    kind = "huggingface"

    def read(self) -> Iterator[Blob | SkippedItem]:
        """List each kind, then mirror every repository."""
        token = self.options.credentials.get(*TOKEN_VARS)
        base = self.options.base_url("huggingface", API)
        self.api = http_client("Hugging Face", base, self.options,
                               headers={"Authorization": f"Bearer {token}"} if token else {},
                               hint=self.options.credentials.hint(*TOKEN_VARS))
        git_base = self.options.base_url("huggingface-git", base)
        for kind, prefix in KINDS:
            if self.target.flag(kind, True):
                location = f"{API}/{kind}?author={self.target.host}"
                yield from self.guarded(location, self._kind(kind, prefix, git_base, token))

    def _kind(self, kind: str, prefix: str, git_base: str, token: str | None) -> Iterator[Blob | SkippedItem]:
        """Mirror every repository of one kind (models, datasets or spaces)."""
        for repo in list(self._listing(kind)):
            rid = str(repo.get("id") or repo.get("modelId") or "")
            if rid:
                web, url = f"{API}/{prefix}{rid}", f"{git_base}/{prefix}{rid}"
                secret = token if url.startswith("https:") else None
                yield from self.guarded(web, self.clone(url, web, f"{kind}/{rid}", "user", secret))

    def _listing(self, kind: str) -> Iterator[dict[str, Any]]:
        def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
            params = None if cursor else {"author": self.target.host, "limit": 100, "full": "false"}
            items, (_, response) = self.json_list(cursor or f"/api/{kind}", None, params)
            return items, next_link(response)
        yield from paginate(fetch)
