"""`azure-devops://ORG/PROJECT`: a project's git repositories and pipeline (build) logs (Azure DevOps REST 7.1).

Every repository is mirrored with git and scanned like a local one; the logs of the project's recent
completed builds are downloaded. `?repos=0`, `?pipelines=0` turn parts off; `?recent=N` builds (default 20).

Credential: AZURE_DEVOPS_PAT (or AZURE_DEVOPS_EXT_PAT, the az CLI's name): a personal access token
with Code (read) and Build (read), sent as Basic with an empty user, and to git over https only.
API base: $TOKENWARD_AZURE_DEVOPS_BASE_URL (default https://dev.azure.com; Server: https://HOST/tfs).
Pagination: the x-ms-continuationtoken header. Incremental: git refs through the mirror's blob cache;
builds by the newest `finishTime` read (sent back as `minTime`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from tokenward.errors import ConfigError
from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.hosting import HostingSource, count_param, latest, newer
from tokenward.sources.live.interface import LiveError, content_blob, error_item, http_client, paginate

API = "https://dev.azure.com"
TOKEN_VARS = ("AZURE_DEVOPS_PAT", "AZURE_DEVOPS_EXT_PAT")
VERSION = {"api-version": "7.1"}


class AzureDevopsSource(HostingSource):
    """A project's repositories (code) and build logs."""

    kind = "azure-devops"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.target.path or "/" in self.target.path:
            raise ConfigError(f"{self.target.url}: name one project (azure-devops://ORG/PROJECT)")
        self.prefix = f"/{quote(self.target.host)}/{quote(self.target.path)}/_apis"
        self.recent = count_param(self.target, "recent", 20)  # checked before anything is read

    def read(self) -> Iterator[Blob | SkippedItem]:
        """Repositories, then build logs."""
        pat = self.options.credentials.get(*TOKEN_VARS)
        hint = self.options.credentials.hint(*TOKEN_VARS)
        # Without this header a rejected PAT gets a 203 sign-in page instead of a 401.
        self.api = http_client("Azure DevOps", self.options.base_url("azure-devops", API), self.options,
                               headers={"X-TFS-FedAuthRedirect": "Suppress"},
                               auth=httpx.BasicAuth("", pat) if pat else None, hint=hint)
        if self.target.flag("repos", True):
            repos, _ = self.json_list(f"{self.prefix}/git/repositories", "value", VERSION)
            for repo in repos:
                if not repo.get("isDisabled") and int(repo.get("size", 1) or 0) > 0:
                    web = str(repo.get("webUrl") or "")
                    url = str(repo.get("remoteUrl") or web)
                    name = f"{self.target.host}/{self.target.path}/{repo.get('name')}"
                    yield from self.guarded(web or url, self.clone(url, web or url, name, "pat",
                                                                   pat if url.startswith("https:") else None))
        if self.target.flag("pipelines", True):
            yield from self.guarded(f"{self.root}/_build", self._builds())

    def _builds(self) -> Iterator[Blob | SkippedItem]:
        """Logs of the recent completed builds that finished after the cursor."""
        since = self.cursor("builds")
        newest, failed = since or "", False
        recent = self.recent
        query = {**VERSION, "statusFilter": "completed", "queryOrder": "finishTimeDescending", "$top": recent,
                 **({"minTime": since} if since else {})}
        builds = [b for b in self._continued(f"{self.prefix}/build/builds", query)][:recent]
        for build in builds:
            finished = str(build.get("finishTime") or "")
            if newer(finished, since):
                newest = latest(newest, finished)
                for item in self._logs(build):
                    failed |= isinstance(item, SkippedItem)
                    yield item
        if not failed:
            self.advance("builds", newest)

    def _continued(self, url: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every element of a list whose next page is named by the x-ms-continuationtoken header."""
        def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
            items, (_, response) = self.json_list(url, "value", {**params, **({"continuationToken": cursor}
                                                                               if cursor else {})})
            return items, response.headers.get("x-ms-continuationtoken")
        yield from paginate(fetch)

    def _logs(self, build: dict[str, Any]) -> Iterator[Blob | SkippedItem]:
        bid = str(build.get("id"))
        web = str(((build.get("_links") or {}).get("web") or {}).get("href")
                  or f"{self.root}/_build/results?buildId={bid}")
        logs, _ = self.json_list(f"{self.prefix}/build/builds/{bid}/logs", "value", VERSION)
        assert self.api is not None
        for log in logs:
            lid = str(log.get("id"))
            try:
                data = self.api.get(f"{self.prefix}/build/builds/{bid}/logs/{lid}", params=VERSION).content
            except LiveError as exc:
                yield error_item(f"{web} log {lid}", exc)
                continue
            self.stats["items"] += 1
            pipeline = str((build.get("definition") or {}).get("name", ""))
            details = (("project", self.target.path), ("pipeline", pipeline),
                       ("build", str(build.get("buildNumber") or bid)), ("build_id", bid), ("log_id", lid),
                       ("finished", str(build.get("finishTime") or "")), ("url", web))
            yield content_blob(data[: self.options.max_size + 1], self.origin(f"_build/{bid}/logs/{lid}.log", details),
                               f"{web} log {lid}")
