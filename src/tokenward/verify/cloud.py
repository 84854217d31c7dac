"""AWS: STS GetCallerIdentity signed with SigV4 (botocore's signer, sent through our client) to verify an
access key pair; IAM UpdateAccessKey (Inactive) and DeleteAccessKey to revoke one.

Evidence (AWS Query API documentation): 200 with GetCallerIdentityResult/Arn is live (the ARN names the IAM
user or role); 403 with ErrorResponse/Error/Code InvalidClientTokenId (no such key) or ExpiredToken is
invalid. SignatureDoesNotMatch means the secret is not the one of the key id recorded next to it: that
says nothing about the secret itself, so it is unknown.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tokenward.verify.api import _evidence
from tokenward.verify.interface import Call, Credential, Example, Examples, Failure, Http, Reply, Revocation, Verdict

STS = "https://sts.amazonaws.com"
IAM = "https://iam.amazonaws.com"
SECRET_RULES = ("aws.secret-access-key", "aws.secret-access-key-near", "aws.secret-access-key-after-id")
DEAD = ("InvalidClientTokenId", "ExpiredToken")
FORM = "application/x-www-form-urlencoded; charset=utf-8"
NO_BOTOCORE = "AWS needs botocore to sign requests: pip install 'tokenward[aws]'"


def has_botocore() -> bool:
    """True when botocore (SigV4 signing, credential discovery) is installed."""
    import importlib.util

    return importlib.util.find_spec("botocore") is not None


def _strip(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xml_fields(body: bytes) -> dict[str, str] | None:
    """Leaf elements of an AWS XML answer by local name (first wins); None when not XML."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    out: dict[str, str] = {"_root": _strip(root.tag)}
    for el in root.iter():
        if len(el) == 0 and el.text is not None:
            out.setdefault(_strip(el.tag), el.text.strip())
    return out


def signed_call(base: str, service: str, params: dict[str, str], key_id: str, secret: str) -> Call:
    """A POST of a Query API action, signed with SigV4 for base's host (region us-east-1: global services)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = urlencode(params)
    request = AWSRequest(method="POST", url=base.rstrip("/") + "/", data=body, headers={"Content-Type": FORM})
    SigV4Auth(Credentials(key_id, secret), service, "us-east-1").add_auth(request)
    headers = tuple((k, str(v)) for k, v in request.headers.items() if k.lower() != "host")
    return Call("POST", "/", headers, body=body)


def _aws_error(answer: Reply) -> str | None:
    fields = xml_fields(answer.body)
    return fields.get("Code") if fields and fields["_root"] == "ErrorResponse" else None


@dataclass(frozen=True)
class AwsVerifier:
    """STS GetCallerIdentity with the key pair."""

    provider: str = "aws"
    rule_ids: tuple[str, ...] = SECRET_RULES
    base_url: str = STS
    docs: str = "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"

    def base(self, cred: Credential) -> str:
        """The documented STS endpoint."""
        return self.base_url

    def verify(self, cred: Credential, http: Http) -> Verdict:
        """Live with the caller's ARN, invalid on InvalidClientTokenId/ExpiredToken, else unknown."""
        key_id = cred.public("id")
        if not key_id:
            return Verdict("unknown", "needs the access key id found with the secret, and none was recorded")
        if not has_botocore():
            return Verdict("unknown", NO_BOTOCORE)
        call = signed_call(http.base, "sts", {"Action": "GetCallerIdentity", "Version": "2011-06-15"},
                           key_id, cred.secret)
        answer = http.send(call)
        evidence = _evidence(call.redacted(cred.secret), answer)
        return _judge_sts(answer, evidence)

    def examples(self) -> Examples:
        """GetCallerIdentityResponse and an InvalidClientTokenId ErrorResponse."""
        ok = ('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
              "<Arn>arn:aws:iam::123456789012:user/ci</Arn><UserId>AIDAEXAMPLE</UserId>"
              "<Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>")
        bad = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
               "<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid."
               "</Message></Error></ErrorResponse>")
        xml = (("Content-Type", "text/xml"),)
        return Examples((Example("POST", "/", 200, ok, xml),), (Example("POST", "/", 403, bad, xml),))


def _judge_sts(answer: Reply | Failure, evidence: str) -> Verdict:
    from tokenward.verify.evidence import unexpected

    if isinstance(answer, Failure):
        return Verdict("unknown", answer.reason, evidence=evidence)
    fields = xml_fields(answer.body) or {}
    if answer.status == 200 and fields.get("_root") == "GetCallerIdentityResponse" and "Arn" in fields:
        return Verdict("live", "documented success (HTTP 200 GetCallerIdentityResult)", fields["Arn"],
                       evidence=evidence)
    code = _aws_error(answer) if answer.status == 403 else None
    if code in DEAD:
        return Verdict("invalid", f"documented rejection (HTTP 403 {code})", evidence=evidence)
    if code == "SignatureDoesNotMatch":
        return Verdict("unknown", "the secret does not match the access key id recorded with it", evidence=evidence)
    return Verdict("unknown", f"{unexpected(answer)}{' ' + code if code else ''}", evidence=evidence)


def operator_credentials() -> tuple[str, str] | None:
    """The operator's own AWS credentials (environment, profile…) as botocore finds them."""
    import botocore.session

    found = botocore.session.get_session().get_credentials()
    if found is None:
        return None
    frozen = found.get_frozen_credentials()
    return (frozen.access_key, frozen.secret_key) if frozen.access_key and frozen.secret_key else None


@dataclass(frozen=True)
class AwsKeyRevoker:
    """IAM: find the key's user (GetAccessKeyLastUsed), set the key Inactive, and with delete=True delete it.

    Signed with the operator's credentials when botocore finds some (an admin deactivating a leaked key),
    else with the leaked pair itself (works when the key may manage itself)."""

    provider: str = "aws"
    rule_ids: tuple[str, ...] = (*SECRET_RULES, "aws.access-key-id")
    base_url: str = IAM
    docs: str = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccessKey.html"
    delete: bool = False

    def base(self, cred: Credential) -> str:
        """The documented IAM endpoint."""
        return self.base_url

    def _key_id(self, cred: Credential) -> str:
        return cred.secret if cred.rule_id == "aws.access-key-id" else cred.public("id") or ""

    def _actions(self, key_id: str, user: str) -> list[dict[str, str]]:
        version = {"Version": "2010-05-08"}
        steps = [{"Action": "GetAccessKeyLastUsed", "AccessKeyId": key_id, **version},
                 {"Action": "UpdateAccessKey", "AccessKeyId": key_id, "UserName": user, "Status": "Inactive",
                  **version}]
        if self.delete:
            steps.append({"Action": "DeleteAccessKey", "AccessKeyId": key_id, "UserName": user, **version})
        return steps

    def calls(self, cred: Credential) -> tuple[Call, ...]:
        """The Query API actions (signatures omitted)."""
        return tuple(Call("POST", "/", (("Content-Type", FORM),), body=urlencode(a))
                     for a in self._actions(self._key_id(cred), "<user from GetAccessKeyLastUsed>"))

    def revoke(self, cred: Credential, http: Http) -> Revocation:
        """Run the actions; done when IAM confirms UpdateAccessKey (and DeleteAccessKey)."""
        key_id = self._key_id(cred)
        if not has_botocore():
            return Revocation(False, NO_BOTOCORE)
        signer = operator_credentials() or ((key_id, cred.secret) if cred.rule_id != "aws.access-key-id" else None)
        if not key_id or signer is None:
            return Revocation(False, "needs the access key id and AWS credentials allowed to manage it "
                                     "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)")
        trail: list[str] = []
        first, *rest = self._actions(key_id, "")
        fields = _iam(http, signer, first, trail)
        if isinstance(fields, Revocation):
            return fields
        user = fields.get("UserName", "")
        for action in rest:
            outcome = _iam(http, signer, {**action, "UserName": user}, trail)
            if isinstance(outcome, Revocation):
                return outcome
        return Revocation(True, "IAM confirmed: key Inactive" + (" and deleted" if self.delete else ""),
                          "; ".join(trail))

    def examples(self) -> Examples:
        """IAM answers for the three actions and an AccessDenied."""
        ns = 'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"'
        used = (f"<GetAccessKeyLastUsedResponse {ns}><GetAccessKeyLastUsedResult><UserName>ci</UserName>"
                "</GetAccessKeyLastUsedResult></GetAccessKeyLastUsedResponse>")
        xml = (("Content-Type", "text/xml"),)
        denied = (f"<ErrorResponse {ns}><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>")
        return Examples((Example("POST", "/", 200, used, xml),), (Example("POST", "/", 403, denied, xml),))


def _iam(http: Http, signer: tuple[str, str], params: dict[str, str], trail: list[str]
         ) -> dict[str, str] | Revocation:
    """One IAM action: its answer's fields, or the failed Revocation (the trail records each step)."""
    answer = http.send(signed_call(http.base, "iam", params, *signer))
    got = answer.reason if isinstance(answer, Failure) else f"HTTP {answer.status}"
    trail.append(f"{params['Action']} -> {got}")
    fields = xml_fields(answer.body) if isinstance(answer, Reply) else None
    root = (fields or {}).get("_root", "")
    if isinstance(answer, Reply) and answer.status == 200 and fields and root.endswith("Response") \
            and root != "ErrorResponse":
        return fields
    return Revocation(False, _iam_refusal(answer, fields), "; ".join(trail))


def _iam_refusal(answer: Reply | Failure, fields: dict[str, Any] | None) -> str:
    if isinstance(answer, Failure):
        return answer.reason
    code = (fields or {}).get("Code")
    return f"IAM refused (HTTP {answer.status}{' ' + code if code else ''})"
