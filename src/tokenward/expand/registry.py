"""The expander of each format name that `detect.sniff` can return.

Each expander module is imported the first time its format is met: most scans meet few formats, and
importing them all (zip, tar, PDF, YAML, e-mail parsers…) cost every command ≈ 50 ms of start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from tokenward.expand.base import Expander

# format → (module in tokenward.expand, function)
_WHERE: dict[str, tuple[str, str]] = {
    "zip": ("archives", "expand_zip"),
    "tar": ("archives", "expand_tar"),
    "gzip": ("archives", "expand_gzip"),
    "bzip2": ("archives", "expand_bzip2"),
    "xz": ("archives", "expand_xz"),
    "zstd": ("archives", "expand_zstd"),
    "7z": ("archives", "expand_7z"),
    "pdf": ("documents", "expand_pdf"),
    "sqlite": ("documents", "expand_sqlite"),
    "slack": ("slack", "expand_day_file"),
    "teams": ("teams", "expand_teams"),
    "jira-json": ("jira", "expand_jira_json"),
    "jira-xml": ("jira", "expand_jira_xml"),
    "jira-csv": ("jira", "expand_jira_csv"),
    "confluence-html": ("confluence", "expand_html"),
    "confluence-xml": ("confluence", "expand_xml"),
    "confluence-storage": ("confluence", "expand_storage"),
    "markdown": ("notes", "expand_markdown"),
    "email": ("notes", "expand_email"),
    "mbox": ("notes", "expand_mbox"),
    "ci-log": ("cilogs", "expand_log"),
    "notebook": ("notebooks", "expand_notebook"),
    "dotenv": ("configs", "expand_dotenv"),
    "line-config": ("configs", "expand_line_config"),
    "ini-config": ("configs", "expand_ini"),
    "kubeconfig": ("configs", "expand_kubeconfig"),
    "docker-config": ("configs", "expand_docker_config"),
    "tfstate": ("configs", "expand_tfstate"),
    "k8s-manifest": ("configs", "expand_k8s_manifest"),
    "ecs-task": ("configs", "expand_ecs_task"),
}


class _Registry(Mapping[str, Expander]):
    """The format → expander table, each module imported on first use."""

    def __init__(self, where: dict[str, tuple[str, str]]) -> None:
        self._where = where
        self._loaded: dict[str, Expander] = {}

    def __getitem__(self, fmt: str) -> Expander:
        found = self._loaded.get(fmt)
        if found is None:
            module, name = self._where[fmt]
            found = self._loaded[fmt] = getattr(importlib.import_module(f"tokenward.expand.{module}"), name)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


EXPANDERS: Mapping[str, Expander] = _Registry(_WHERE)
