"""Environment lists that name a variable in one field and set it in another (`- name: X` / `value: v`):
a Kubernetes container's env, an ECS task's environment. Provider rules read such a value as `X: v`,
on the value's own line, as they read a `.env` file."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.samples_base import scan_path
from tests.tokens import ALNUM, TokenFactory
from tokenward.engine import Matcher
from tokenward.expand.detect import by_head

DEPLOYMENT = """apiVersion: batch/v1
kind: CronJob
metadata:
  name: reports
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: reports
              image: registry.corp.invalid/reports:1.4
              env:
                - name: REPORT_RETRIES
                  value: "3"
                - name: POSTMARK_SERVER_TOKEN
                  value: "{postmark}"
                - name: COHERE_API_KEY
                  value: {cohere}
"""


def _tokens(seed: int) -> tuple[str, str]:
    factory = TokenFactory(seed)
    return str(uuid.UUID(int=factory.rng.getrandbits(128), version=4)), factory.chars(ALNUM, 40)


def test_k8s_env_values_are_found_by_their_provider_rules_on_their_lines(tmp_path: Path, matcher: Matcher) -> None:
    postmark, cohere = _tokens(21)
    (tmp_path / "cron.yaml").write_text(DEPLOYMENT.format(postmark=postmark, cohere=cohere))
    out = scan_path(matcher, tmp_path)
    found = {f.rule_id: f for f in out.findings}
    assert found["postmark.server-token"].secret == postmark and found["postmark.server-token"].location.line == 18
    assert found["cohere.api-key"].secret == cohere and found["cohere.api-key"].location.line == 20
    assert dict(found["cohere.api-key"].origin.details) == {"format": "k8s-env", "key_path": "env"}


def test_ecs_task_environment_is_read_as_pairs(tmp_path: Path, matcher: Matcher) -> None:
    postmark, _ = _tokens(22)
    task = {"family": "mailer", "containerDefinitions": [{"name": "mailer", "image": "mailer:2", "environment": [
        {"name": "MAIL_FROM", "value": "ops@corp.invalid"}, {"name": "POSTMARK_API_TOKEN", "value": postmark}]}]}
    text = json.dumps(task, indent=2)
    (tmp_path / "task-definition.json").write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if postmark in row)
    out = scan_path(matcher, tmp_path)
    assert [(f.rule_id, f.location.line) for f in out.of(postmark)] == [("postmark.server-token", line)]


def test_only_manifests_with_secrets_or_env_pairs_are_parsed() -> None:
    assert by_head(DEPLOYMENT.encode(), "cron.yaml") == "k8s-manifest"
    service = (b"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
               b"spec:\n  ports:\n    - name: http\n      port: 80\n")
    assert by_head(service, "svc.yaml") is None
    assert by_head(b'{"family": "x", "containerDefinitions": [{"environment": []}]}', "t.json") == "ecs-task"


def test_env_values_that_are_placeholders_or_references_stay_quiet(tmp_path: Path, matcher: Matcher) -> None:
    text = DEPLOYMENT.format(postmark="${POSTMARK_SERVER_TOKEN}", cohere="your_cohere_api_key_here")
    (tmp_path / "cron.yaml").write_text(text)
    assert scan_path(matcher, tmp_path).findings == []
