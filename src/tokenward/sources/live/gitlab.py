"""`gitlab://GROUP[/SUBGROUP]`: a group's projects (subgroups included) through the GitLab REST API v4.

Every project is mirrored with git and scanned like a local repository; its snippets, issue and
merge-request descriptions and notes, and the job logs of its recent finished pipelines are read
through the API. Query flags turn parts off: `?repos=0`, `?snippets=0`, `?issues=0`, `?mrs=0`,
`?pipelines=0`; `?recent=N` is how many recent pipelines are read per project (default 20).

Credential: GITLAB_TOKEN (a personal, group or project access token with read_api and read_repository;
sent as PRIVATE-TOKEN, and to git as oauth2:TOKEN over https only). API base: $TOKENWARD_GITLAB_BASE_URL
(default https://gitlab.com/api/v4; self-managed: https://HOST/api/v4). Pagination: the Link header.
Incremental: git refs through the mirror's blob cache; issues, MRs (with their notes) and snippets by
`updated_at`, pipelines by the newest finished pipeline's `updated_at`, per project.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.hosting import HostingSource, count_param, latest, newer, text_blob
from tokenward.sources.live.interface import LiveError, content_blob, error_item, http_client, next_link, paginate

API = "https://gitlab.com/api/v4"
TOKEN_VARS = ("GITLAB_TOKEN",)
PER_PAGE = 100
FINISHED = frozenset({"success", "failed", "canceled", "skipped", "manual"})


class GitlabSource(HostingSource):
    """A group's projects: code, snippets, issues, merge requests, CI job logs."""

    kind = "gitlab"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recent = count_param(self.target, "recent", 20)  # checked before anything is read

    @property
    def group(self) -> str:
        """The group's full path (GROUP/SUBGROUP…)."""
        return "/".join(p for p in (self.target.host, self.target.path) if p)

    def read(self) -> Iterator[Blob | SkippedItem]:
        """Every project of the group and its subgroups, part by part."""
        token = self.options.credentials.get(*TOKEN_VARS)
        hint = self.options.credentials.hint(*TOKEN_VARS)
        self.api = http_client("GitLab", self.options.base_url("gitlab", API), self.options,
                               headers={"PRIVATE-TOKEN": token} if token else {}, hint=hint)
        projects = self.pages(f"/groups/{quote(self.group, safe='')}/projects", include_subgroups="true")
        for project in list(projects):
            yield from self._project(project, token)

    def pages(self, url: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every element of a paginated list endpoint (Link: rel="next")."""
        def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
            items, (_, response) = self.json_list(cursor or url, None, None if cursor else {"per_page": PER_PAGE,
                                                                                            **params})
            return items, next_link(response)
        yield from paginate(fetch)

    def _project(self, project: dict[str, Any], token: str | None) -> Iterator[Blob | SkippedItem]:
        pid, name = str(project.get("id")), str(project.get("path_with_namespace") or project.get("id"))
        web = str(project.get("web_url") or f"https://gitlab.com/{name}")
        flag = self.target.flag
        if flag("repos", True) and not project.get("empty_repo"):
            url = str(project.get("http_url_to_repo") or f"{web}.git")
            secret = token if url.startswith("https:") else None
            yield from self.guarded(web, self.clone(url, web, name, "oauth2", secret))
        if flag("snippets", True) and project.get("snippets_enabled", True) is not False:
            yield from self.guarded(f"{web}/-/snippets", self._snippets(pid, name))
        for part, plural in (("issues", "issues"), ("mrs", "merge_requests")):
            if flag(part, True):
                yield from self.guarded(f"{web}/-/{plural}", self._discussions(pid, name, plural))
        if flag("pipelines", True) and project.get("jobs_enabled", True) is not False:
            yield from self.guarded(f"{web}/-/pipelines", self._pipelines(pid, name, web))

    def _discussions(self, pid: str, name: str, plural: str) -> Iterator[Blob | SkippedItem]:
        """Issues (or MRs) updated after the cursor: title and description, then their notes."""
        stream, kind = f"{name}#{plural}", plural.rstrip("s").replace("_", " ")
        since = self.cursor(stream)
        newest = since or ""
        query = {"scope": "all", "order_by": "updated_at", "sort": "asc", **({"updated_after": since} if since else {})}
        for item in self.pages(f"/projects/{pid}/{plural}", **query):
            updated = str(item.get("updated_at") or "")
            if not newer(updated, since):
                continue
            newest = latest(newest, updated)
            iid, url = str(item.get("iid")), str(item.get("web_url") or "")
            base = [("project", name), (kind, iid), ("author", str((item.get("author") or {}).get("username", "")))]
            text = "\n".join(str(item.get(k) or "") for k in ("title", "description"))
            yield from text_blob(self, text, f"{name}/{plural}/{iid}", [*base, ("updated", updated), ("url", url)])
            yield from self._notes(f"/projects/{pid}/{plural}/{iid}/notes", since, base[:2], url)
        self.advance(stream, newest)

    def _notes(self, endpoint: str, since: str | None, base: list[tuple[str, str]], url: str) -> Iterator[Blob]:
        """The user notes (not system notes) of one issue or MR updated after the cursor."""
        for note in self.pages(endpoint):
            if newer(str(note.get("updated_at") or ""), since) and not note.get("system"):
                nid = str(note.get("id"))
                path = "/".join(base[0][1:]) + f"/{endpoint.split('/')[3]}/{base[1][1]}/note-{nid}"
                yield from text_blob(self, str(note.get("body") or ""), path, [
                    *base, ("note_id", nid), ("author", str((note.get("author") or {}).get("username", ""))),
                    ("updated", str(note.get("updated_at") or "")), ("url", f"{url}#note_{nid}" if url else "")])

    def _snippets(self, pid: str, name: str) -> Iterator[Blob | SkippedItem]:
        """The project's snippets updated after the cursor, each downloaded raw."""
        stream = f"{name}#snippets"
        since = self.cursor(stream)
        newest = since or ""
        for snippet in self.pages(f"/projects/{pid}/snippets"):
            updated = str(snippet.get("updated_at") or "")
            if newer(updated, since):
                newest = latest(newest, updated)
                yield self._snippet(pid, name, snippet)
        self.advance(stream, newest)

    def _snippet(self, pid: str, name: str, snippet: dict[str, Any]) -> Blob | SkippedItem:
        sid, url = str(snippet.get("id")), str(snippet.get("web_url") or "")
        location = url or f"{self.root}/{name}/snippets/{sid}"
        assert self.api is not None
        try:
            data = self.api.get(f"/projects/{pid}/snippets/{sid}/raw").content
        except LiveError as exc:
            return error_item(location, exc)
        self.stats["items"] += 1
        details = (("project", name), ("snippet", sid), ("file", str(snippet.get("file_name") or "")),
                   ("updated", str(snippet.get("updated_at") or "")), ("url", url))
        return content_blob(data[: self.options.max_size + 1],
                            self.origin(f"{name}/snippets/{sid}/{snippet.get('file_name') or 'snippet'}", details),
                            location)

    def _pipelines(self, pid: str, name: str, web: str) -> Iterator[Blob | SkippedItem]:
        """Job logs of the recent finished pipelines updated after the cursor."""
        stream = f"{name}#pipelines"
        since = self.cursor(stream)
        newest = since or ""
        query = {"order_by": "updated_at", "sort": "desc", "per_page": self.recent}
        pipelines, _ = self.json_list(f"/projects/{pid}/pipelines", None,
                                      {**query, **({"updated_after": since} if since else {})})
        failed = False
        for pipeline in pipelines:
            updated = str(pipeline.get("updated_at") or "")
            if pipeline.get("status") in FINISHED and newer(updated, since):
                newest = latest(newest, updated)
                for job in self.pages(f"/projects/{pid}/pipelines/{pipeline.get('id')}/jobs"):
                    item = self._trace(pid, name, web, pipeline, job)
                    failed |= isinstance(item, SkippedItem)  # a lost log is read again next time
                    yield item
        if not failed:
            self.advance(stream, newest)

    def _trace(self, pid: str, name: str, web: str, pipeline: dict[str, Any],
               job: dict[str, Any]) -> Blob | SkippedItem:
        jid = str(job.get("id"))
        url = str(job.get("web_url") or f"{web}/-/jobs/{jid}")
        assert self.api is not None
        try:
            data = self.api.get(f"/projects/{pid}/jobs/{jid}/trace").content
        except LiveError as exc:
            return error_item(url, exc)
        self.stats["items"] += 1
        details = (("project", name), ("pipeline", str(pipeline.get("id"))), ("job", str(job.get("name") or jid)),
                   ("job_id", jid), ("url", url))
        return content_blob(data[: self.options.max_size + 1], self.origin(f"{name}/jobs/{jid}.log", details), url)
