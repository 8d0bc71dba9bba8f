"""IAM's policy simulator (SimulatePrincipalPolicy), answered from the policies the local IAM holds.

moto 5.2.5: has no SimulatePrincipalPolicy (its server answers 501 here, patches.py).
AWS: SimulatePrincipalPolicy evaluates the identity-based policies of a user (with those of its
groups) or a role for each action and resource, and answers `allowed`, `explicitDeny` (a Deny
statement matches) or `implicitDeny` (no Allow statement matches) (IAM API Reference,
SimulatePrincipalPolicy and EvaluationResult; IAM User Guide, "Policy evaluation logic"). The
caller needs iam:SimulatePrincipalPolicy on that user or role, else AccessDenied "User: <arn> is not
authorized to perform: iam:SimulatePrincipalPolicy on resource: <arn>" (the form of IAM's own
access-denied messages); an ARN that names no user or role is NoSuchEntity.
We: the same for moto's IAM users and roles, their inline and attached policies and a user's
groups' (permissions boundaries, organizations' policies and resource policies are not played).
The local cloud's default identity — what moto's GetCallerIdentity answers for credentials no IAM
user holds, `arn:aws:sts::<account>:user/moto` — may do everything, as an administrator would, so
the demo and `--local` are never refused; a test gives an IAM user of the local cloud a narrower
policy and signs with its keys.

The evaluation is our own and small: Action/NotAction match case-insensitively, Resource/NotResource
case-sensitively, both with IAM's wildcards * and ?; Condition supports StringEquals, StringLike,
StringNotEquals, StringNotLike, ArnEquals, ArnLike and Bool, and a statement with an operator it does
not know does not apply. moto's own evaluator (moto.iam.access_control) is not used: it takes an
Allow whose condition does not match for a Deny, and matches action names case-sensitively.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import unquote

from moto.core.responses import ActionResult
from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.iam.responses import IamResponse
from moto.sts.models import sts_backends

from .errors import query_protocol_error
from .patching import Patches

_PATCHES = Patches("policy-simulator")
ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY = "allowed", "explicitDeny", "implicitDeny"
PAGE_SIZE = 100
IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"


def install() -> None:
    _PATCHES.install(_simulate_principal_policy)


def uninstall() -> None:
    _PATCHES.restore()


@dataclass(frozen=True)
class Principal:
    arn: str
    documents: tuple[dict[str, Any], ...] | None  # None: the default identity, which may do everything

    def decide(self, action: str, resource: str = "*", context: dict[str, list[str]] | None = None) -> str:
        if self.documents is None:
            return ALLOWED
        effects = {statement.get("Effect") for document in self.documents for statement in _statements(document)
                   if _applies(statement, action, resource, context or {})}
        return EXPLICIT_DENY if "Deny" in effects else ALLOWED if "Allow" in effects else IMPLICIT_DENY


def default_identity(account_id: str, partition: str = "aws") -> str:
    return f"arn:{partition}:sts::{account_id}:user/moto"


def principal_by_arn(account_id: str, partition: str, arn: str) -> Principal:
    """The user or role `arn` names, with its policies; NoSuchEntity when there is none."""
    if arn == default_identity(account_id, partition):
        return Principal(arn, None)
    backend = iam_backends[account_id][partition]
    user = next((u for u in list(backend.users.values()) if u.arn == arn), None)
    if user is not None:
        return Principal(arn, tuple(_user_documents(backend, user)))
    try:
        role = backend.get_role_by_arn(arn)
    except Exception:  # moto's IAM raises its own not-found error
        raise NotFoundException(f"The user or role {arn} cannot be found.") from None
    return Principal(arn, tuple(_documents(role)))


def principal_by_access_key(account_id: str, partition: str, access_key: str) -> Principal:
    """Who signed with `access_key`: an IAM user, an assumed role, else the default identity."""
    assumed = sts_backends[account_id][partition].get_assumed_role_from_access_key(access_key)
    if assumed is not None:
        try:
            role = iam_backends[account_id][partition].get_role_by_arn(assumed.role_arn)
        except Exception:  # the role was deleted since: its sessions may do nothing
            return Principal(assumed.arn, ())
        return Principal(assumed.arn, tuple(_documents(role)))
    backend = iam_backends[account_id][partition]
    user = backend.get_user_from_access_key_id(access_key)
    if user is not None:
        return Principal(user.arn, tuple(_user_documents(backend, user)))
    return Principal(default_identity(account_id, partition), None)


def _user_documents(backend: Any, user: Any) -> list[dict[str, Any]]:
    documents = _documents(user)
    for group in backend.get_groups_for_user(user.name):
        documents += _documents(group)
    return documents


def _documents(entity: Any) -> list[dict[str, Any]]:
    """An IAM user's, group's or role's inline policies and the default versions of its attached ones."""
    texts = list(entity.policies.values())
    for policy in entity.managed_policies.values():
        texts += [version.document for version in policy.versions if version.is_default]
    return [_parsed(text) for text in texts]


def _parsed(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    text = str(text)
    return json.loads(unquote(text) if text.lstrip().startswith("%") else text)


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _listed(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _applies(statement: dict[str, Any], action: str, resource: str, context: dict[str, list[str]]) -> bool:
    if "NotAction" in statement:
        matched = not any(_glob(p, action, False) for p in _listed(statement["NotAction"]))
    else:
        matched = any(_glob(p, action, False) for p in _listed(statement.get("Action")))
    if not matched:
        return False
    if "NotResource" in statement:
        matched = not any(_glob(p, resource) for p in _listed(statement["NotResource"]))
    else:
        matched = any(_glob(p, resource) for p in _listed(statement.get("Resource", "*")))
    return matched and _conditions_hold(statement.get("Condition") or {}, context)


def _conditions_hold(conditions: dict[str, Any], context: dict[str, list[str]]) -> bool:
    lowered = {key.lower(): values for key, values in context.items()}
    for operator, tests in conditions.items():
        compare = _OPERATORS.get(operator)
        if compare is None:
            return False
        for key, expected in tests.items():
            values = lowered.get(key.lower(), [])
            if not compare([str(e) for e in _listed(expected)], values):
                return False
    return True


def _some(match) -> Any:
    return lambda expected, values: any(match(e, v) for e in expected for v in values)


def _none(match) -> Any:
    return lambda expected, values: not any(match(e, v) for e in expected for v in values)


_OPERATORS = {
    "StringEquals": _some(lambda e, v: e == v),
    "StringNotEquals": _none(lambda e, v: e == v),
    "StringLike": _some(_glob),
    "StringNotLike": _none(_glob),
    "ArnEquals": _some(lambda e, v: e == v),
    "ArnLike": _some(_glob),
    "Bool": _some(lambda e, v: e.lower() == v.lower()),
}


# -- the API ----------------------------------------------------------------------------------


def _simulate_principal_policy() -> None:
    def simulate(self: IamResponse) -> ActionResult:
        account, partition = self.current_account, self.partition
        source = self._get_param("PolicySourceArn")
        caller = principal_by_access_key(account, partition, self.get_access_key())
        if caller.decide("iam:SimulatePrincipalPolicy", source) != ALLOWED:
            raise query_protocol_error(403, "AccessDenied", f"User: {caller.arn} is not authorized to perform: "
                                       f"iam:SimulatePrincipalPolicy on resource: {source}", IAM_NAMESPACE)
        principal = principal_by_arn(account, partition, source)
        resources = self._get_param("ResourceArns") or ["*"]
        context = {entry["ContextKeyName"]: [str(v) for v in entry.get("ContextKeyValues") or []]
                   for entry in self._get_param("ContextEntries") or []}
        results = [_result(principal, action, resources, context) for action in self._get_param("ActionNames") or []]
        start = int(self._get_param("Marker") or 0)
        size = int(self._get_param("MaxItems") or PAGE_SIZE)
        page = results[start:start + size]
        answer: dict[str, Any] = {"EvaluationResults": page, "IsTruncated": start + size < len(results)}
        if answer["IsTruncated"]:
            answer["Marker"] = str(start + size)
        return ActionResult(answer)

    _PATCHES.replace(IamResponse, "simulate_principal_policy", lambda _: simulate)


def _result(principal: Principal, action: str, resources: Iterable[str], context: dict[str, list[str]]) -> dict:
    decisions = {resource: principal.decide(action, resource, context) for resource in resources}
    overall = (EXPLICIT_DENY if EXPLICIT_DENY in decisions.values()
               else ALLOWED if set(decisions.values()) == {ALLOWED} else IMPLICIT_DENY)
    result: dict[str, Any] = {"EvalActionName": action, "EvalDecision": overall, "MatchedStatements": [],
                              "MissingContextValues": []}
    if len(decisions) == 1:
        result["EvalResourceName"] = next(iter(decisions))
    else:
        result["EvalResourceName"] = "*"
        result["ResourceSpecificResults"] = [
            {"EvalResourceName": resource, "EvalResourceDecision": decision, "MatchedStatements": [],
             "MissingContextValues": []} for resource, decision in decisions.items()]
    return result
