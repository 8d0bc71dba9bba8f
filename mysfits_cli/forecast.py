"""What AWS would refuse, read before anything is created: quotas and permissions.

The forecast is the plan read once more: each planned node that starts instances (`Node.starts`,
counted from what it `bills` for) needs room in the account's quota for their type, and each
node needs the IAM actions it declares (`Node.permissions`). `plan` shows the forecast; `up`
(and `train`, `deploy-endpoint` for their parts) stops before anything is created when it finds
something AWS would refuse, one line per finding with what to do. A forecast that cannot be made
(Service Quotas or the policy simulator unreadable) is said, and blocks nothing.

At create time AWS can still refuse (a quota changed since, or no forecast could be made):
`explain` turns ResourceLimitExceeded and access-denied answers into the same guidance.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import permissions, quotas
from .errors import MysfitsError
from .permissions import PermissionCheck
from .quotas import QuotaCheck, QuotaLine
from .service_quotas import SERVICE_CODE, Quota

if TYPE_CHECKING:
    from .engine import Context
    from .runner import PlannedNode

# The plan actions whose calls are simulated: a node that changes nothing calls only what `plan` has just
# called (found it, read what drifted), and a read AWS refused is a finding of its own (`refused_reads`).
ACTING = ("create", "update", "replace", "run")


def instance_type_flags() -> dict[str, str]:
    """The option that chooses each use's instance type (on the part's own command, and on `up`)."""
    from .steps import endpoint, notebook, train

    return {"notebook": notebook.INSTANCE_TYPE_FLAG, "training": train.INSTANCE_TYPE_FLAG,
            "hosting": endpoint.INSTANCE_TYPE_FLAG}


@dataclass
class Forecast:
    quotas: QuotaCheck = field(default_factory=QuotaCheck)
    permissions: PermissionCheck = field(default_factory=PermissionCheck)
    refused_reads: list[str] = field(default_factory=list)  # what the plan itself was refused, node by node

    @property
    def blocking(self) -> bool:
        return bool(self.quotas.short or self.permissions.denied or self.refused_reads)

    def findings(self, ctx: "Context") -> list[str]:
        """One line per thing AWS would refuse, each with what to do about it."""
        return [quota_finding(ctx, line) for line in self.quotas.short] + [
            permission_finding(self.permissions.principal, denials) for denials in self.denied_actions()] + [
            f"{read} (allow it in the IAM policy of those credentials)" for read in self.refused_reads]

    def denied_actions(self) -> list[list[permissions.Denial]]:
        """The denials, an action's on its several resources together."""
        by_action: dict[str, list[permissions.Denial]] = {}
        for denial in self.permissions.denied:
            by_action.setdefault(denial.action, []).append(denial)
        return list(by_action.values())

    def unchecked(self) -> list[str]:
        """One line per part of the forecast that could not be made."""
        lines = []
        if self.quotas.unchecked:
            lines.append(f"could not check the SageMaker quotas: {self.quotas.unchecked}")
        lines += [f"could not check {line.name}: {line.unchecked}" for line in self.quotas.lines if line.unchecked]
        if self.permissions.unchecked:
            lines.append(f"could not check the permissions with IAM's policy simulator: {self.permissions.unchecked}")
        return lines

    def as_json(self, ctx: "Context") -> dict[str, Any]:
        return {
            "quotas": [dict(line.as_json(), request=quotas.request_command(ctx, line) if line.short else None)
                       for line in self.quotas.lines],
            "permissions": self.permissions.as_json(),
            "refused_reads": self.refused_reads,
            "findings": self.findings(ctx),
            "unchecked": self.unchecked(),
            "blocking": self.blocking,
        }


def forecast(ctx: "Context", planned: list["PlannedNode"]) -> Forecast:
    """The quotas and permissions what is planned needs, checked side by side."""
    needs = [(item.usage.use, item.usage.instance_type, item.usage.count, item.node.title)
             for item in planned if item.starts]
    wanted: dict[permissions.Permission, list[str]] = {}
    for item in planned:
        if item.change.action in ACTING:
            for permission in item.permissions:
                wanted.setdefault(permission, []).append(item.node.title)
    refused_reads = [f"The {item.node.noun} could not be read: {item.change.note}" for item in planned
                     if item.error is not None and access_denied(item.error)]
    with ThreadPoolExecutor(2) as pool:
        quota_check = pool.submit(quotas.check, ctx, needs)
        permission_check = pool.submit(permissions.check, ctx, wanted)
        return Forecast(quota_check.result(), permission_check.result(), refused_reads)


def access_denied(exc: BaseException) -> bool:
    """AWS refused the call to these credentials (an IAM policy, a boundary or an organization's policy)."""
    from .aws import error_code, error_message

    code = error_code(exc)
    return code in _DENIED_CODES or bool(code) and "not authorized to perform" in error_message(exc)


def refusal(ctx: "Context", found: Forecast) -> MysfitsError:
    """What `up` raises when the forecast finds something AWS would refuse; the findings are printed before."""
    count = len(found.findings(ctx))
    return MysfitsError(f"AWS would refuse {'this' if count == 1 else f'these {count} things'} (above): nothing was "
                        "created. `mysfits plan` with the same options shows the whole forecast")


# ---- the lines ------------------------------------------------------------------------------------


def quota_finding(ctx: "Context", line: QuotaLine) -> str:
    quota = line.quota
    head = (f"{line.name} ({quota.code}): needs {line.needed}, {line.in_use} in use, {quota.describe()}" if quota
            else f"{line.name}: needs {line.needed}, {line.in_use} in use")
    return f"{head}: {_what_to_do(ctx, line)}"


def _what_to_do(ctx: "Context", line: QuotaLine) -> str:
    return f"run `{quotas.request_command(ctx, line)}`, or {_another_type(line)}"


def _another_type(line: QuotaLine) -> str:
    flag = instance_type_flags()[line.use]
    return f"pass {flag} with one that has room, such as {line.instead}" if line.instead else f"pass another {flag}"


def permission_finding(principal: str | None, denials: list[permissions.Denial]) -> str:
    """One action the caller may not perform, on the resources the stack needs it on."""
    action = denials[0].action
    resources = [d.resource for d in denials if d.resource != permissions.ANY]
    needed_by = " and ".join(dict.fromkeys(title for d in denials for title in d.needed_by)) or "the stack"
    decision = " or ".join(dict.fromkeys(d.decision for d in denials))
    on = f" on {', '.join(resources)}" if resources else ""
    return (f"{action}{on} is not allowed for {principal or 'the caller'} ({decision}), and the {needed_by} needs it: "
            "allow it in the IAM policy of those credentials")


# ---- refusals at create time --------------------------------------------------------------------

_LIMIT = re.compile(r"The account-level service limit '(?P<name>[^']+)' is (?P<applied>[\d.]+) \w+, with current "
                    r"utilization of (?P<used>[\d.]+) \w+ and a request delta of (?P<delta>[\d.]+) \w+")
_TYPE_AND_USE = re.compile(r"^(?P<type>ml\.\S+) for (?P<usage>.+)$")
_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


def explain(ctx: "Context", exc: BaseException) -> str | None:
    """A quota or permission refusal from AWS, in one line with what to do; None for any other error."""
    from .aws import error_code, error_message

    code, message = error_code(exc), error_message(exc)
    operation = getattr(exc, "operation_name", "the call")
    if code == "ResourceLimitExceeded" and (limit := _LIMIT.search(message)):
        line = _line_from_limit(limit)
        if line is None:
            return None
        applied = float(limit["applied"])
        try:
            found = quotas.ServiceQuotas(ctx)
            named = found.find(line.name)
            line.quota = Quota(line.name, named.code, applied, named.default) if named else None
            line.instead = quotas.nearest_with_room(ctx, found, quotas.in_use(ctx, {line.use}), line)
        except Exception:  # noqa: BLE001 - the guidance does without what cannot be read
            pass
        if line.quota is None:
            lookup = (f"aws service-quotas list-service-quotas --service-code {SERVICE_CODE} --region {ctx.aws.region} "
                      f"--query \"Quotas[?QuotaName=='{line.name}'].QuotaCode\"")
            return (f"AWS refused {operation}: {line.name} is {applied:g}, {line.in_use} in use, and this needs "
                    f"{line.needed} more: raise it to {line.desired} in Service Quotas (`{lookup}` finds its code), "
                    f"or {_another_type(line)}")
        return f"AWS refused {operation}: {quota_finding(ctx, line)}"
    if access_denied(exc):
        return (f"AWS refused {operation}: {code}: {message} (allow it in the IAM policy of those credentials; "
                "`mysfits plan` lists every action the stack needs that they may not do)")
    return None


def _line_from_limit(limit: re.Match) -> QuotaLine | None:
    named = _TYPE_AND_USE.match(limit["name"])
    uses = {usage: use for use, usage in quotas.USAGE.items()}
    if named is None or named["usage"] not in uses:
        return None
    line = QuotaLine(uses[named["usage"]], named["type"], int(float(limit["delta"])), [])
    line.in_use = int(float(limit["used"]))
    return line
