"""Everything the local cloud changes in moto, installed and uninstalled as one.

    emulation.install(CloudSettings())      # strict, default time scale, no latency model
    ...                                      # moto (server or mock_aws) now plays by them
    emulation.uninstall()

Installing activates the settings and a clock (see context.py), then the moto fixes
(patches.py, permanent), responses shaped as AWS's (aws_shapes.py), the site's Cognito and
hosting (site_emulation.py), Lambda's Invoke API on the local runner (lambda_api.py), AWS
managed policies (managed_policies.py), the SageMaker emulation (sagemaker.py), IAM's policy
simulator (policy_simulator.py) and Service Quotas for SageMaker (quotas.py), the strict rules
(strict.py, and SageMaker's quota enforcement) in strict mode, the CodeCommit switch when it is
closed, and the latency model (latency.py) with `latency="aws"`. Uninstalling ends the functions'
execution environments, removes the rest in the reverse order and forgets every window and
pending transition.
"""

from __future__ import annotations

from . import (
    aws_shapes, context, lambda_api, lambdas, latency, managed_policies, patches, policy_simulator, quotas, sagemaker,
    site_emulation, strict,
)
from .clock import Clock
from .settings import CloudSettings


def install(settings: CloudSettings, clock: Clock | None = None) -> context.Context:
    """Play `settings`; a second install without uninstall keeps the first one's."""
    active = context.installed()
    if active is not None:
        return active
    active = context.Context(settings, clock or Clock(settings.time_scale))
    context.activate(active)
    patches.apply()
    aws_shapes.install()
    site_emulation.install()
    lambda_api.install()
    managed_policies.install()
    sagemaker.install()
    policy_simulator.install()
    quotas.install()
    if settings.strict:
        quotas.enforce()
        strict.install()
    if settings.codecommit == "closed":
        strict.install_codecommit_closed()
    if settings.models_latency:
        latency.install()
    return active


def uninstall() -> None:
    lambdas.close()  # the functions' execution environments end with the emulation that ran them
    latency.uninstall()
    strict.uninstall()
    quotas.uninstall()
    policy_simulator.uninstall()
    sagemaker.uninstall()
    managed_policies.uninstall()
    lambda_api.uninstall()
    site_emulation.uninstall()
    aws_shapes.uninstall()
    context.deactivate()
