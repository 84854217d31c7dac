"""The explicit registry of importers (declared and provider inventories), by `tokenward import` name."""

from __future__ import annotations

from tokenward.importers.aws_report import import_aws_report
from tokenward.importers.github_tokens import import_github_tokens
from tokenward.importers.gitlab_tokens import import_gitlab_tokens
from tokenward.importers.interface import Importer
from tokenward.importers.k8s_secrets import import_k8s_secrets
from tokenward.importers.manifest import import_manifest
from tokenward.importers.openbao import import_openbao

IMPORTERS: dict[str, Importer] = {
    "manifest": import_manifest,
    "aws-credential-report": import_aws_report,
    "github-tokens": import_github_tokens,
    "gitlab-tokens": import_gitlab_tokens,
    "k8s-secrets": import_k8s_secrets,
    "openbao": import_openbao,
}
