"""The expander of each format name that `detect.sniff` can return."""

from __future__ import annotations

from tokenward.expand import (
    archives,
    cilogs,
    configs,
    confluence,
    documents,
    jira,
    notebooks,
    notes,
    slack,
    teams,
)
from tokenward.expand.base import Expander

EXPANDERS: dict[str, Expander] = {
    "zip": archives.expand_zip,
    "tar": archives.expand_tar,
    "gzip": archives.expand_gzip,
    "bzip2": archives.expand_bzip2,
    "xz": archives.expand_xz,
    "zstd": archives.expand_zstd,
    "7z": archives.expand_7z,
    "pdf": documents.expand_pdf,
    "sqlite": documents.expand_sqlite,
    "slack": slack.expand_day_file,
    "teams": teams.expand_teams,
    "jira-json": jira.expand_jira_json,
    "jira-xml": jira.expand_jira_xml,
    "jira-csv": jira.expand_jira_csv,
    "confluence-html": confluence.expand_html,
    "confluence-xml": confluence.expand_xml,
    "confluence-storage": confluence.expand_storage,
    "markdown": notes.expand_markdown,
    "email": notes.expand_email,
    "mbox": notes.expand_mbox,
    "ci-log": cilogs.expand_log,
    "notebook": notebooks.expand_notebook,
    "dotenv": configs.expand_dotenv,
    "line-config": configs.expand_line_config,
    "ini-config": configs.expand_ini,
    "kubeconfig": configs.expand_kubeconfig,
    "docker-config": configs.expand_docker_config,
    "tfstate": configs.expand_tfstate,
    "k8s-manifest": configs.expand_k8s_manifest,
}
