"""SageMaker's instance quotas: Service Quotas answers them, and in strict mode SageMaker enforces them.

moto 5.2.5: Service Quotas knows a few VPC defaults (ListAWSDefaultServiceQuotas and
GetServiceQuota for `vpc` only), lacks ListServiceQuotas, GetAWSDefaultServiceQuota and
RequestServiceQuotaIncrease, and its SageMaker enforces no quota.
AWS: SageMaker limits, per account and region, the instances of each type that may run for each
use; Service Quotas (service code `sagemaker`) names them `<type> for notebook instance usage`,
`<type> for training job usage` and `<type> for endpoint usage`, in the unit `None`, adjustable
(Service Quotas console; AWS General Reference, "Amazon SageMaker AI endpoints and quotas",
https://docs.aws.amazon.com/general/latest/gr/sagemaker.html, which lists AWS's default value of
each). ListServiceQuotas answers the values applied to the account ("If the applied quota value
is not available for a quota, the quota is not retrieved": Service Quotas API Reference), pages of
at most 100; ListAWSDefaultServiceQuotas AWS's defaults. A new account's applied values are far
below the defaults: 0 for most types, the workshop's own endpoint (ml.m4.xlarge) and training
(ml.m5.2xlarge) types among them ("The account-level service limit 'ml.m4.xlarge for endpoint
usage' is 0 Instances", awsdocs/amazon-sagemaker-developer-guide#70, aws/amazon-sagemaker-examples#307;
"my newly created account has every instance type (other than t2 medium) in SageMaker limited to 0",
aws/amazon-sagemaker-examples#593); a few cheap types get small values. Creating a notebook
instance, a training job or an endpoint, and updating an endpoint (its new fleet is provisioned
while the old one serves: SageMaker Developer Guide, "Blue/Green Deployments"), over the quota is
ResourceLimitExceeded (400) "The account-level service limit '<name>' is <applied> Instances, with
current utilization of <used> Instances and a request delta of <asked> Instances. Please use AWS
Service Quotas to request an increase for this quota." (aws-samples/aws-genai-llm-chatbot#244;
older accounts were told to contact AWS support instead). "For some services, smaller increases
are automatically approved" (AWS Solutions, DeepRacer on AWS, "Service quotas"). Service Quotas
refuses a caller its IAM policies do not allow: AccessDeniedException "You do not have sufficient
permission to perform this action." (botocore's service model).
We: ListServiceQuotas, ListAWSDefaultServiceQuotas, GetServiceQuota, GetAWSDefaultServiceQuota and
RequestServiceQuotaIncrease for `sagemaker`, over every instance type botocore's SageMaker model
accepts for each use, with codes in AWS's form (`L-` and 8 hexadecimal digits, from the quota's
name: AWS's own codes are opaque, and mysfits finds quotas by name). The settings' account decides
the applied values: `established` (the default) has the families of data/sagemaker-instance-types.json
applied at the default, other types falling back to it; `new` has every type applied, at 0 but for
NEW_ACCOUNT. An increase is approved at once. Callers are checked against their IAM policies
(policy_simulator.py). In strict mode, SageMaker's four creates refuse what would go over, counting
notebook instances not stopped, training jobs in progress and the instances of endpoints that are up
or on their way (both fleets of an endpoint being updated).
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

import botocore.session
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.servicequotas.responses import ServiceQuotasResponse

from .. import instance_types
from ..billing import ENDPOINT_NOT_BILLING, NOTEBOOK_BILLING
from ..quotas import quota_name
from . import context
from .errors import json_protocol_error
from .patching import Patches
from .policy_simulator import ALLOWED, principal_by_access_key

SERVICE_CODE = "sagemaker"
SERVICE_NAME = "Amazon SageMaker"
# AWS's default value of every instance quota here: the General Reference lists one per type; a stand-in.
DEFAULT_INSTANCES = 20
# A new account's applied values for the few cheap types it may run at all; every other type is at 0.
NEW_ACCOUNT = {
    ("notebook", "ml.t2.medium"): 1, ("notebook", "ml.t3.medium"): 1,
    ("training", "ml.m5.large"): 2, ("training", "ml.m5.xlarge"): 1,
    ("hosting", "ml.t2.medium"): 1, ("hosting", "ml.t3.medium"): 1,
}
# The shapes of botocore's SageMaker model listing each use's types.
MODEL_SHAPES = {"notebook": "InstanceType", "training": "TrainingInstanceType", "hosting": "ProductionVariantInstanceType"}
PAGE_SIZE = 100
UPDATING = "Updating"

_SERVICE = Patches("service-quotas")
_ENFORCED = Patches("quota-enforcement")
_LOCK = threading.Lock()
_applied: dict[tuple[str, str], dict[str, float]] = {}  # (account, region) -> quota name -> applied value
_updating: dict[tuple[str, str, str], str] = {}  # (account, region, endpoint) -> the config it is moving to


def install() -> None:
    """Service Quotas for SageMaker; later calls do nothing."""
    _SERVICE.install(_service_quotas)


def enforce() -> None:
    """SageMaker refuses what would go over a quota (strict mode)."""
    _ENFORCED.install(_sagemaker_enforces_quotas)


def uninstall() -> None:
    _ENFORCED.restore()
    _SERVICE.restore()
    with _LOCK:
        _applied.clear()
        _updating.clear()


def quota_code(name: str) -> str:
    return "L-" + hashlib.sha256(name.encode()).hexdigest()[:8].upper()


@functools.cache
def catalog() -> dict[str, tuple[str, str, str]]:
    """Every instance quota: name -> (code, use, instance type), for the types botocore's SageMaker model
    lists for each use and those of data/sagemaker-instance-types.json (ml.t3 endpoints, which the model omits)."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    found = {}
    for use, shape in MODEL_SHAPES.items():
        table = [t for family in instance_types.families() for t in instance_types.types_for(use, family)]
        for instance_type in dict.fromkeys([*model.shape_for(shape).enum, *table]):
            if instance_type.startswith("ml."):
                name = quota_name(use, instance_type)
                found[name] = (quota_code(name), use, instance_type)
    return found


def applied(account: str, region: str) -> dict[str, float]:
    """The values applied to the account, by quota name, as its settings make them (and increases change them)."""
    with _LOCK:
        if (account, region) not in _applied:
            _applied[(account, region)] = _initial(context.current().settings.account)
        return dict(_applied[(account, region)])


def apply_value(account: str, region: str, name: str, value: float) -> None:
    applied(account, region)
    with _LOCK:
        _applied[(account, region)][name] = value


def _initial(account: str) -> dict[str, float]:
    if account == "new":
        return {name: float(NEW_ACCOUNT.get((use, instance_type), 0)) for name, (_, use, instance_type) in catalog().items()}
    return {name: float(DEFAULT_INSTANCES) for name, (_, _, instance_type) in catalog().items()
            if instance_types.covered(instance_type)}


def limit(account: str, region: str, name: str) -> float:
    """What applies: the applied value, else AWS's default."""
    return applied(account, region).get(name, float(DEFAULT_INSTANCES))


# -- Service Quotas -----------------------------------------------------------------------------


def _quota(account: str, region: str, name: str, value: float) -> dict[str, Any]:
    code = catalog()[name][0]
    return {"ServiceCode": SERVICE_CODE, "ServiceName": SERVICE_NAME, "QuotaCode": code, "QuotaName": name,
            "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:{SERVICE_CODE}/{code}", "Value": value,
            "Unit": "None", "Adjustable": True, "GlobalQuota": False}


def _service_quotas() -> None:
    def allowed(response: ServiceQuotasResponse, action: str) -> None:
        caller = principal_by_access_key(response.current_account, response.partition, response.get_access_key())
        if caller.decide(f"servicequotas:{action}") != ALLOWED:
            raise json_protocol_error("AccessDeniedException", "You do not have sufficient permission to perform this action.")

    def sagemaker(response: ServiceQuotasResponse) -> bool:
        return response._get_param("ServiceCode") == SERVICE_CODE

    def by_code(response: ServiceQuotasResponse) -> str:
        code = response._get_param("QuotaCode")
        name = next((n for n, (c, _, _) in catalog().items() if c == code), None)
        if name is None:
            raise json_protocol_error("NoSuchResourceException", "The specified resource does not exist.")
        return name

    def page(response: ServiceQuotasResponse, quotas: list[dict[str, Any]]) -> str:
        start = int(response._get_param("NextToken") or 0)
        size = int(response._get_param("MaxResults") or PAGE_SIZE)
        answer: dict[str, Any] = {"Quotas": quotas[start:start + size]}
        if start + size < len(quotas):
            answer["NextToken"] = str(start + size)
        return json.dumps(answer)

    def list_applied(original, response: ServiceQuotasResponse):
        if not sagemaker(response):
            return original(response) if original else _no_such_service()
        allowed(response, "ListServiceQuotas")
        account, region = response.current_account, response.region
        return page(response, [_quota(account, region, name, value)
                               for name, value in sorted(applied(account, region).items())])

    def list_defaults(original, response: ServiceQuotasResponse):
        if not sagemaker(response):
            return original(response)
        allowed(response, "ListAWSDefaultServiceQuotas")
        account, region = response.current_account, response.region
        return page(response, [_quota(account, region, name, float(DEFAULT_INSTANCES)) for name in sorted(catalog())])

    def get_applied(original, response: ServiceQuotasResponse):
        if not sagemaker(response):
            return original(response)
        allowed(response, "GetServiceQuota")
        name, account, region = by_code(response), response.current_account, response.region
        value = applied(account, region).get(name)
        if value is None:  # no value applied to this account: "the quota is not retrieved"
            raise json_protocol_error("NoSuchResourceException", "The specified resource does not exist.")
        return json.dumps({"Quota": _quota(account, region, name, value)})

    def get_default(original, response: ServiceQuotasResponse):
        if not sagemaker(response):
            return original(response) if original else _no_such_service()
        allowed(response, "GetAWSDefaultServiceQuota")
        name = by_code(response)
        return json.dumps({"Quota": _quota(response.current_account, response.region, name, float(DEFAULT_INSTANCES))})

    def request_increase(original, response: ServiceQuotasResponse):
        if not sagemaker(response):
            return original(response) if original else _no_such_service()
        allowed(response, "RequestServiceQuotaIncrease")
        name, account, region = by_code(response), response.current_account, response.region
        desired = float(response._get_param("DesiredValue"))
        apply_value(account, region, name, desired)  # approved at once, as AWS approves small increases
        now = datetime.now(timezone.utc).timestamp()
        quota = _quota(account, region, name, desired)
        return json.dumps({"RequestedQuota": {
            "Id": uuid.uuid4().hex, "ServiceCode": SERVICE_CODE, "ServiceName": SERVICE_NAME,
            "QuotaCode": quota["QuotaCode"], "QuotaName": name, "QuotaArn": quota["QuotaArn"], "DesiredValue": desired,
            "Status": "APPROVED", "Created": now, "LastUpdated": now, "GlobalQuota": False, "Unit": "None",
        }})

    for method, handler in (("list_service_quotas", list_applied), ("list_aws_default_service_quotas", list_defaults),
                            ("get_service_quota", get_applied), ("get_aws_default_service_quota", get_default),
                            ("request_service_quota_increase", request_increase)):
        _SERVICE.replace(ServiceQuotasResponse, method, _wrapping(handler))


def _wrapping(handler):
    """A method that hands moto's own (or None, where moto has none) to `handler`."""

    def build(original):
        def method(self: ServiceQuotasResponse):
            return handler(original, self)

        return method

    return build


def _no_such_service():
    raise json_protocol_error("NoSuchResourceException", "The specified resource does not exist.")


# -- SageMaker enforces them (strict) -------------------------------------------------------------


def _sagemaker_enforces_quotas() -> None:
    def refuse_over(response: SageMakerResponse, use: str, asked: dict[str, int]) -> None:
        account, region = response.current_account, response.region
        running = in_use(account, region, use)
        for instance_type, delta in asked.items():
            name = quota_name(use, instance_type)
            if name not in catalog():
                continue
            allowed_instances, used = limit(account, region, name), running.get(instance_type, 0)
            if used + delta > allowed_instances:
                raise json_protocol_error(
                    "ResourceLimitExceeded",
                    f"The account-level service limit '{name}' is {allowed_instances:g} Instances, with current "
                    f"utilization of {used} Instances and a request delta of {delta} Instances. Please use AWS "
                    "Service Quotas to request an increase for this quota.")

    def notebook(original, response: SageMakerResponse, *args: Any, **kwargs: Any):
        refuse_over(response, "notebook", {response._get_param("InstanceType"): 1})
        return original(response, *args, **kwargs)

    def training(original, response: SageMakerResponse, *args: Any, **kwargs: Any):
        resources = response._get_param("ResourceConfig") or {}
        groups = resources.get("InstanceGroups") or [resources]
        asked: dict[str, int] = {}
        for group in groups:
            if group.get("InstanceType"):
                asked[group["InstanceType"]] = asked.get(group["InstanceType"], 0) + int(group.get("InstanceCount", 1))
        refuse_over(response, "training", asked)
        return original(response, *args, **kwargs)

    def endpoint(original, response: SageMakerResponse, *args: Any, **kwargs: Any):
        config_name = response._get_param("EndpointConfigName")
        refuse_over(response, "hosting", _config_instances(response.sagemaker_backend, config_name))
        answer = original(response, *args, **kwargs)
        if response._get_action() == "UpdateEndpoint":
            with _LOCK:
                _updating[(response.current_account, response.region, response._get_param("EndpointName"))] = config_name
        return answer

    _ENFORCED.wrap(SageMakerResponse, "create_notebook_instance", notebook)
    _ENFORCED.wrap(SageMakerResponse, "create_training_job", training)
    _ENFORCED.wrap(SageMakerResponse, "create_endpoint", endpoint)
    _ENFORCED.wrap(SageMakerResponse, "update_endpoint", endpoint)


def _config_instances(backend: Any, config_name: str | None) -> dict[str, int]:
    config = backend.endpoint_configs.get(config_name or "")
    found: dict[str, int] = {}
    for variant in (config.production_variants if config is not None else []):
        if variant.get("InstanceType"):
            found[variant["InstanceType"]] = found.get(variant["InstanceType"], 0) + int(variant.get("InitialInstanceCount", 1))
    return found


def in_use(account: str, region: str, use: str) -> dict[str, int]:
    """Instances of each type that run for `use` in the account and region, as SageMaker counts them."""
    backend = sagemaker_backends[account][region]
    running: dict[str, int] = {}

    def add(found: dict[str, int]) -> None:
        for instance_type, count in found.items():
            running[instance_type] = running.get(instance_type, 0) + count

    if use == "notebook":
        for notebook in list(backend.notebook_instances.values()):
            if notebook.status in NOTEBOOK_BILLING:
                add({notebook.instance_type: 1})
    elif use == "training":
        for job in list(backend.training_jobs.values()):
            if job.training_job_status == "InProgress":
                config = job.resource_config or {}
                for group in config.get("InstanceGroups") or [config]:
                    if group.get("InstanceType"):
                        add({group["InstanceType"]: int(group.get("InstanceCount", 1))})
    else:
        for name, endpoint in list(backend.endpoints.items()):
            if endpoint.endpoint_status in ENDPOINT_NOT_BILLING:
                continue
            add(_config_instances(backend, endpoint.endpoint_config_name))
            with _LOCK:
                moving = _updating.get((account, region, name))
            if moving is not None and endpoint.endpoint_status == UPDATING and moving != endpoint.endpoint_config_name:
                add(_config_instances(backend, moving))  # the new fleet runs beside the old one
    return running
