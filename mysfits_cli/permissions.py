"""What the stack must be allowed to do, and whether the caller may: IAM's policy simulator.

Each node of the graph declares the IAM actions it calls and the resources they act on
(`Node.permissions`; a node that is one resource takes its class's `permissions`), from the
same names and ARNs the node builds its resources with. `check` asks IAM's policy simulator
(SimulatePrincipalPolicy) about the caller's own identity — for an assumed role, the role —
each action on each resource, in one call per service and set of condition keys, and reports
what it would deny. A simulation that cannot be made (access denied, an emulator without the simulator) is
said, never an error.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping


if TYPE_CHECKING:
    from .engine import Context

# Actions AWS offers no resource-level permission for are simulated on "*".
ANY = "*"
SIMULATORS = 8  # simulations in flight at once: each waits on IAM, not on Python
ALLOWED, IMPLICIT_DENY = "allowed", "implicitDeny"


@dataclass(frozen=True)
class Permission:
    action: str  # "sagemaker:CreateEndpoint"
    resource: str = ANY
    # the condition keys AWS sets on the call, e.g. (("iam:PassedToService", "sagemaker.amazonaws.com"),)
    context: tuple[tuple[str, str], ...] = ()


def allow(actions: Iterable[str], resource: str = ANY) -> list[Permission]:
    return [Permission(action, resource) for action in actions]


def sagemaker_arn(ctx: "Context", resource_type: str, name: str) -> str:
    """SageMaker's ARNs carry names in lower case (`arn:aws:sagemaker:…:endpoint/knn-ml-m4-…`)."""
    return ctx.aws.arn("sagemaker", f"{resource_type}/{name.lower()}")


def pass_role(role_arn: str, service: str) -> Permission:
    """iam:PassRole on a role the stack hands to `service`, with the condition key AWS sets on that call."""
    return Permission("iam:PassRole", role_arn, (("iam:PassedToService", service),))


# ---- asking IAM's policy simulator ---------------------------------------------------------------


@dataclass(frozen=True)
class Denial:
    action: str
    resource: str
    decision: str  # implicitDeny | explicitDeny
    needed_by: tuple[str, ...]  # titles of the nodes that call it

    def as_json(self) -> dict[str, Any]:
        return {"action": self.action, "resource": self.resource, "decision": self.decision,
                "needed_by": list(self.needed_by)}


@dataclass
class PermissionCheck:
    principal: str | None = None  # whose policies were simulated
    checked: int = 0
    denied: list[Denial] = field(default_factory=list)
    unchecked: str | None = None  # why the simulation could not be made
    note: str | None = None  # why none was needed (the root user)

    def as_json(self) -> dict[str, Any]:
        return {"principal": self.principal, "checked": self.checked, "denied": [d.as_json() for d in self.denied],
                "unchecked": self.unchecked, "note": self.note}


def check(ctx: "Context", needed: Mapping[Permission, Iterable[str]]) -> PermissionCheck:
    """Simulate the caller's policies for every permission `needed` (each with the nodes that need it).

    One simulation per service the resources belong to (and set of condition keys): each of its
    actions on each of its resources, a few dozen pairs; across services the pairs would be
    mostly meaningless, and many.
    """
    if not needed:
        return PermissionCheck()
    try:
        principal, note = policy_source(ctx)
    except Exception as exc:  # noqa: BLE001 - a forecast that cannot be made never blocks
        return PermissionCheck(unchecked=_why(exc))
    if principal is None:
        return PermissionCheck(note=note)
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[Permission]] = {}
    for permission in needed:
        service = permission.resource.split(":")[2] if permission.resource.startswith("arn:") else permission.resource
        groups.setdefault((service, permission.context), []).append(permission)
    client = ctx.aws.client("iam")
    try:
        with ThreadPoolExecutor(SIMULATORS) as pool:
            answers = list(pool.map(lambda group: _simulate(client, principal, group), groups.values()))
    except Exception as exc:  # noqa: BLE001 - said, and blocks nothing
        return PermissionCheck(principal=principal, unchecked=_why(exc))
    denied = []
    for group, decisions in zip(groups.values(), answers):
        for permission in group:
            decision = decisions.get((permission.action.lower(), permission.resource), IMPLICIT_DENY)
            if decision != ALLOWED:
                titles = tuple(dict.fromkeys(needed[permission]))
                denied.append(Denial(permission.action, permission.resource, decision, titles))
    return PermissionCheck(principal=principal, checked=len(needed), denied=denied)


def policy_source(ctx: "Context") -> tuple[str | None, str | None]:
    """The ARN whose policies the simulator evaluates for the caller, or (None, why none is needed)."""
    arn = ctx.aws.identity["Arn"]
    partition, service, account, resource = _arn_parts(arn)
    if service == "iam" and resource == "root":
        return None, "the account's root user: IAM policies do not limit it"
    if service == "sts" and resource.startswith("assumed-role/"):
        name = resource.split("/")[1]
        try:  # the role's own ARN carries its path, which the session's does not
            return ctx.aws.client("iam").get_role(RoleName=name)["Role"]["Arn"], None
        except Exception:  # noqa: BLE001 - not allowed to read it: most roles have no path
            return f"arn:{partition}:iam::{account}:role/{name}", None
    return arn, None


def _arn_parts(arn: str) -> tuple[str, str, str, str]:
    parts = arn.split(":", 5)
    return (parts[1], parts[2], parts[4], parts[5]) if len(parts) == 6 else ("aws", "", "", arn)


def _simulate(client: Any, principal: str, permissions: list[Permission]) -> dict[tuple[str, str], str]:
    """(action in lower case, resource) -> allowed | explicitDeny | implicitDeny, for every action on every resource."""
    resources = sorted({p.resource for p in permissions})
    request: dict[str, Any] = {"PolicySourceArn": principal, "ActionNames": sorted({p.action for p in permissions}),
                               "ResourceArns": resources}
    if permissions[0].context:
        request["ContextEntries"] = [{"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": "string"}
                                     for key, value in permissions[0].context]
    decisions: dict[tuple[str, str], str] = {}
    for page in client.get_paginator("simulate_principal_policy").paginate(**request):
        for result in page["EvaluationResults"]:
            action = result["EvalActionName"].lower()  # action names are case-insensitive
            for each in result.get("ResourceSpecificResults") or []:
                decisions[(action, each["EvalResourceName"])] = each["EvalResourceDecision"]
            if not result.get("ResourceSpecificResults"):
                named = result.get("EvalResourceName")
                for resource in ([named] if named in resources else resources):
                    decisions[(action, resource)] = result["EvalDecision"]
    return decisions


def _why(exc: BaseException) -> str:
    from .failures import describe

    return describe(exc)
