"""AWS managed policies in the local cloud, each loaded the first time it is named (emulator-only).

moto: knows no AWS managed policy unless MOTO_IAM_LOAD_MANAGED_POLICIES is set, and then builds
all of them (about 1,600) for every account's IAM when it is first used. Without it, attaching
`arn:aws:iam::aws:policy/AmazonSageMakerFullAccess` (what the workshop's notebook role and most
SageMaker tutorials attach) fails with NoSuchEntity "Policy ... does not exist or is not attachable."
AWS: every AWS managed policy exists in every account, under `arn:aws:iam::aws:policy<path><name>`.
We: the policy named by an ARN is read from moto's own copy of the policies when an operation
first names it (attach to a role, user or group; get the policy or its versions); listing the
AWS-scoped policies loads them all. Measured on the development machine: loading them all for
one account takes about 0.3 s (0.13 s to parse moto's 4.7 MB document, 0.19 s to build the
policies), against about 1 ms to find and build one policy, so the local cloud's start-up pays
nothing for them.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from moto.iam.models import AWSManagedPolicy, IAMBackend

from .patching import Patches

_PATCHES = Patches("managed-policies")
_ARN = re.compile(r"^arn:[^:]+:iam::aws:policy(?P<path>/(?:[^/]+/)*)(?P<name>[^/]+)$")
_LOCK = threading.Lock()


def install() -> None:
    _PATCHES.install(_load_when_named)


def uninstall() -> None:
    _PATCHES.restore()


def document(name: str) -> dict[str, Any] | None:
    """moto's record of the AWS managed policy `name` (Path, Document, versions, dates), found without
    parsing the whole file."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data as data

    start = data.find(f'\n "{name}":{{')
    if start < 0:
        return None
    record, _ = json.JSONDecoder().raw_decode(data, data.index("{", start + 1))
    return record


def ensure(backend: IAMBackend, arn: str) -> None:
    """Add the AWS managed policy `arn` names to the account, if it is one and is not there yet."""
    match = _ARN.match(arn or "")
    if match is None or arn in backend.managed_policies:
        return
    record = document(match["name"])
    if record is None or record.get("Path", "/") != match["path"]:
        return
    policy = AWSManagedPolicy.from_data(match["name"], backend.account_id, backend.region_name, record)
    with _LOCK:
        backend.managed_policies.setdefault(policy.arn, policy)


def ensure_all(backend: IAMBackend) -> None:
    from moto.iam.aws_managed_policies import aws_managed_policies_data as data

    for name, record in json.loads(data).items():
        policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, record)
        with _LOCK:
            backend.managed_policies.setdefault(policy.arn, policy)


def _load_when_named() -> None:
    def by_arn(original, backend: IAMBackend, policy_arn: str, *args: Any, **kwargs: Any) -> Any:
        ensure(backend, policy_arn)
        return original(backend, policy_arn, *args, **kwargs)

    def listing(original, backend: IAMBackend, *args: Any, **kwargs: Any) -> Any:
        scope = kwargs.get("scope", args[4] if len(args) > 4 else "All")
        if scope in ("All", "AWS", None):
            ensure_all(backend)
        return original(backend, *args, **kwargs)

    for operation in ("attach_role_policy", "attach_user_policy", "attach_group_policy", "get_policy",
                      "get_policy_version", "list_policy_versions"):
        _PATCHES.wrap(IAMBackend, operation, by_arn)
    _PATCHES.wrap(IAMBackend, "list_policies", listing)
