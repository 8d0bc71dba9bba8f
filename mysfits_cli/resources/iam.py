"""IAM roles that an AWS service assumes, each with one inline policy, and the wait for IAM to settle.

IAM is global: the same stack in two regions of one account would share a role named after the
stack alone. So a role's name carries the region too (`<stack>-<region>-<use>-role`) and the role
carries the tag `mysfits:region`: it belongs to that region's stack. A role of another region is
never changed, and never deleted, by this one.

Older mysfits named the roles `<stack>-<use>-role`, without the region and without the tag. Such a
role belongs to the region its policy grants (the last region that wrote it, and the only one it
serves). A stack recorded with one keeps it while it belongs to its region, claiming it with the
tag; once it belongs to another region, the stack moves to a role of its own and leaves it there.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from .. import ui
from ..aws import describe_or_none, error_code
from ..config import REGION_TAG_KEY, TAG_KEY
from ..engine import Context, Fix, Record, Resource, fix, is_pending
from ..errors import MysfitsError

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


@dataclass(frozen=True)
class Owner:
    """The stack and region a role belongs to, from its tags (an older role: its policy's region)."""

    stack: str | None
    region: str | None  # None: an older role whose policy names no one region

    def is_other_region(self, ctx: Context) -> bool:
        return self.region is not None and self.region != ctx.aws.region

    def describe(self) -> str:
        return f"the role of stack {self.stack or '(untagged)'} in {self.region}"


def role_owner(ctx: Context, name: str) -> Owner | None:
    """Who the role belongs to; None when there is no such role."""
    client = ctx.aws.client("iam")
    tags = describe_or_none(client.list_role_tags, RoleName=name)
    if tags is None:
        return None
    tags = {t["Key"]: t["Value"] for t in tags["Tags"]}
    region = tags.get(REGION_TAG_KEY)
    if region is None:
        regions = _granted_regions(client, name)
        region = regions.pop() if len(regions) == 1 else None
    return Owner(tags.get(TAG_KEY), region)


def _granted_regions(client, name: str) -> set[str]:
    """The regions named by the ARNs of the role's inline policies."""
    regions: set[str] = set()
    for page in client.get_paginator("list_role_policies").paginate(RoleName=name):
        for policy in page["PolicyNames"]:
            document = client.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            if isinstance(document, str):
                document = json.loads(document)
            for statement in document.get("Statement", []):
                resources = statement.get("Resource", [])
                for arn in [resources] if isinstance(resources, str) else resources:
                    parts = arn.split(":")
                    if len(parts) > 3 and parts[0] == "arn" and parts[3]:
                        regions.add(parts[3])
    return regions


def stack_role_name(ctx: Context, key: str, use: str) -> str:
    """The name of the stack's role for `use`: `<stack>-<region>-<use>-role`, or the older
    `<stack>-<use>-role` the state records, while that role belongs to this region."""
    older = ctx.settings.name(f"{use}-role")
    recorded = ctx.state.get(key)
    if recorded and recorded.get("name") == older and not is_pending(recorded):
        owner = role_owner(ctx, older)
        if owner is not None and not owner.is_other_region(ctx):
            return older
    return ctx.settings.name(f"{ctx.aws.region}-{use}-role")


def role_tags(ctx: Context) -> list[dict[str, str]]:
    """The stack's tags, and the region whose stack owns the role."""
    return [*ctx.settings.tag_list(), {"Key": REGION_TAG_KEY, "Value": ctx.aws.region}]


class Role(Resource):
    """A role `service` assumes, tagged with the stack and its region, with the inline policy `<name>-policy`."""

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
        if role is None:
            return None
        owner = role_owner(ctx, self.name)
        if owner is not None and owner.is_other_region(ctx):
            raise MysfitsError(f"IAM role {self.name} is {owner.describe()} (IAM is global), and mysfits leaves it "
                               f"alone: run this stack in {ctx.aws.region} under another --stack")
        return _role_record(role)

    def create(self, ctx: Context) -> Record:
        role = ctx.aws.client("iam").create_role(
            RoleName=self.name,
            AssumeRolePolicyDocument=json.dumps(trust_policy(self.service)),
            Description=self.description,
            Tags=role_tags(ctx),
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
        tags = role.get("Tags") or client.list_role_tags(RoleName=self.name)["Tags"]
        if not all(tag in tags for tag in role_tags(ctx)):
            fixes["tags"] = fix(client.tag_role, RoleName=self.name, Tags=role_tags(ctx))
        return fixes

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        """Delete the role with its policies, unless it belongs to another region's stack: then it is only forgotten."""
        client = ctx.aws.client("iam")
        name = record["id"]
        owner = role_owner(ctx, name)
        if owner is not None and owner.is_other_region(ctx):
            return f"Left {{label}} in place: it is {owner.describe()}"
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
                if role["RoleName"].startswith(prefix):
                    owner = role_owner(ctx, role["RoleName"])
                    if owner is not None and (owner.stack, owner.region) == (ctx.stack, ctx.aws.region):
                        found.append({**_role_record(role), "kind": cls.kind})
        return found


def _get_role(ctx: Context, name: str) -> dict[str, Any] | None:
    found = describe_or_none(ctx.aws.client("iam").get_role, RoleName=name)
    return None if found is None else found["Role"]


def _role_record(role: dict[str, Any]) -> Record:
    return {"id": role["RoleName"], "name": role["RoleName"], "arn": role["Arn"]}


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
