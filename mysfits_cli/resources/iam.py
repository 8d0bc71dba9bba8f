"""IAM roles that an AWS service assumes, each with one inline policy, and the wait for IAM to settle."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, TypeVar

from .. import ui
from ..aws import describe_or_none, error_code
from ..engine import Context, Fix, Record, Resource, fix

T = TypeVar("T")

# How long a new role (or a changed policy) may take to reach every AWS service.
ROLE_SETTLING_SECONDS = 60.0


def trust_policy(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def _same_document(live: Any, wanted: dict[str, Any]) -> bool:
    # boto3 hands back IAM documents already decoded; both sides are compared as canonical JSON.
    if isinstance(live, str):
        live = json.loads(live)
    return json.dumps(live, sort_keys=True) == json.dumps(wanted, sort_keys=True)


class Role(Resource):
    """A role `service` assumes, tagged with the stack, with the inline policy `<name>-policy`."""

    kind = "iam-role"
    reads = ("iam:GetRole", "iam:GetRolePolicy")
    creates = ("iam:CreateRole", "iam:TagRole", "iam:PutRolePolicy")
    fixes = {"trust policy": ("iam:UpdateAssumeRolePolicy",), "policy": ("iam:PutRolePolicy",), "tags": ("iam:TagRole",)}

    def __init__(self, key: str, name: str, service: str, policy: dict[str, Any], description: str):
        super().__init__(key, name)
        self.service = service
        self.policy = policy
        self.description = description
        self.policy_name = f"{name}-policy"

    def arn(self, ctx: Context) -> str:
        """A role made with no path: `arn:aws:iam::<account>:role/<name>`, known before it exists."""
        return ctx.aws.arn("iam", f"role/{self.name}", region=False)

    def planned(self, ctx: Context) -> Record:
        return {"arn": self.arn(ctx)}

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        role = _get_role(ctx, self.name)
        return None if role is None else _role_record(role)

    def create(self, ctx: Context) -> Record:
        role = ctx.aws.client("iam").create_role(
            RoleName=self.name,
            AssumeRolePolicyDocument=json.dumps(trust_policy(self.service)),
            Description=self.description,
            Tags=ctx.settings.tag_list(),
        )["Role"]
        return _role_record(role)

    def drift(self, ctx: Context, record: Record) -> dict[str, Fix]:
        client = ctx.aws.client("iam")
        fixes: dict[str, Fix] = {}
        role = client.get_role(RoleName=self.name)["Role"]  # lookup's copy is not kept: records hold no documents
        if not _same_document(role["AssumeRolePolicyDocument"], trust_policy(self.service)):
            fixes["trust policy"] = fix(client.update_assume_role_policy, RoleName=self.name,
                                        PolicyDocument=json.dumps(trust_policy(self.service)))
        live = describe_or_none(client.get_role_policy, RoleName=self.name, PolicyName=self.policy_name)
        if live is None or not _same_document(live["PolicyDocument"], self.policy):
            fixes["policy"] = fix(client.put_role_policy, RoleName=self.name, PolicyName=self.policy_name,
                                  PolicyDocument=json.dumps(self.policy))
        if not ctx.settings.is_ours(role.get("Tags") or client.list_role_tags(RoleName=self.name)["Tags"]):
            fixes["tags"] = fix(client.tag_role, RoleName=self.name, Tags=ctx.settings.tag_list())
        return fixes

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        client = ctx.aws.client("iam")
        name = record["id"]
        for page in client.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy in page["PolicyNames"]:
                client.delete_role_policy(RoleName=name, PolicyName=policy)
        for page in client.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            for policy in page["AttachedPolicies"]:
                client.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
        client.delete_role(RoleName=name)
        return None

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        return None if _get_role(ctx, record["id"]) is None else "EXISTS"

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        client = ctx.aws.client("iam")
        prefix = ctx.settings.name("")
        found = []
        for page in client.get_paginator("list_roles").paginate():
            for role in page["Roles"]:
                if role["RoleName"].startswith(prefix) and _has_stack_tag(ctx, client, role["RoleName"]):
                    found.append({**_role_record(role), "kind": cls.kind})
        return found


def _get_role(ctx: Context, name: str) -> dict[str, Any] | None:
    found = describe_or_none(ctx.aws.client("iam").get_role, RoleName=name)
    return None if found is None else found["Role"]


def _role_record(role: dict[str, Any]) -> Record:
    return {"id": role["RoleName"], "name": role["RoleName"], "arn": role["Arn"]}


def _has_stack_tag(ctx: Context, client, role_name: str) -> bool:
    return ctx.settings.is_ours(client.list_role_tags(RoleName=role_name)["Tags"])


# How AWS services refuse a role IAM has not spread to them yet (SageMaker's CreateNotebookInstance
# and CreateModel, CreateTrainingJob, a training job's FailureReason, Lambda's CreateFunction).
_SETTLING_CODES = {"ValidationException", "InvalidParameterValueException"}
_SETTLING_FRAGMENTS = (
    "could not assume role",
    "unable to assume",
    "ensure that the role exists",
    "cannot be assumed",
)


def is_role_settling_message(message: str) -> bool:
    lowered = message.lower()
    return any(fragment in lowered for fragment in _SETTLING_FRAGMENTS)


def is_role_settling(exc: Exception) -> bool:
    """AWS refused a role because IAM has not spread it yet (rather than because it is wrong)."""
    return error_code(exc) in _SETTLING_CODES and is_role_settling_message(str(exc))


def retry_until_role_usable(
    call: Callable[[], T],
    *,
    timeout: float = ROLE_SETTLING_SECONDS,
    first_delay: float = 1.0,
) -> T:
    """Run `call`, retrying with backoff while AWS refuses a role that IAM has not spread yet.

    A role is refused for seconds after it is created or its policy changes; any other error is
    raised at once, and so is the settling error once `timeout` has passed.
    """
    deadline = time.monotonic() + timeout
    delay = first_delay
    told = False
    while True:
        try:
            return call()
        except Exception as exc:
            if not is_role_settling(exc) or time.monotonic() + delay > deadline:
                raise
            if not told:
                ui.step("Waiting for IAM to make the new role usable")
                ui.report("waiting for IAM", "a new role takes a few seconds to reach every service")
                told = True
            ui.board.sleep(delay)
            delay = min(delay * 2, 10.0)
