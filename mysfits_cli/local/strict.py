"""AWS's rules that moto does not play, answered with AWS's own codes, statuses and messages.

Each rule is one function below whose docstring says what moto does, what AWS does
(and where that is documented or seen), and what we do. `install()` plays them all;
`uninstall()` puts moto back and forgets every window the rules were counting. The
rules hook moto's request handlers, so they work in the local cloud's server and
in-process under `mock_aws` alike, and a client gets AWS's HTTP status, error code,
message and body shape (errors.py).

Durations are AWS seconds on the local cloud's clock (see settings.py for the scale).
The endpoint lifecycle (Creating / Updating / Deleting taking time, a failed update
rolling back) is played by sagemaker.py, which owns what an endpoint serves; the
second window of IAM propagation (a training job that fails to assume its role) by
its training run, which asks `training_role_failure`.
"""

from __future__ import annotations

import json
import math
import re
import threading
from typing import Any
from urllib.parse import unquote

from moto.apigateway.responses import APIGatewayResponse
from moto.awslambda.exceptions import InvalidRoleFormat
from moto.awslambda.responses import LambdaResponse
from moto.codecommit.responses import CodeCommitResponse
from moto.iam.models import IAMBackend, iam_backends
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.responses import SageMakerResponse

from .. import instance_types
from . import context
from .errors import api_gateway_error, json_protocol_error, lambda_error
from .patching import Patches

DELETE_REST_API_WINDOW = 30.0
# After CreateRole: refused by the services for ROLE_REFUSED_FOR seconds; a training
# job accepted with it still fails to assume it until ROLE_UNASSUMABLE_UNTIL.
ROLE_REFUSED_FOR = 10.0
ROLE_UNASSUMABLE_UNTIL = 20.0
IN_PROGRESS_ENDPOINT = ("Creating", "Updating", "Deleting", "SystemUpdating", "RollingBack")

_PATCHES = Patches("strict")
_SWITCHES = Patches("strict-switches")
_LOCK = threading.Lock()
_last_rest_api_delete: dict[tuple[str, str], float] = {}
_role_created: dict[tuple[str, str], float] = {}


def install() -> None:
    """Play every rule; later calls do nothing."""
    _PATCHES.install(
        delete_rest_api_quota, roles_take_time_to_reach_services, instance_types_per_region,
        notebook_transitions, vpc_link_in_use, in_progress_endpoints,
    )


def install_codecommit_closed() -> None:
    """The `--codecommit closed` switch, which applies in either mode (it is the account's history)."""
    _SWITCHES.install(codecommit_closed)


def uninstall() -> None:
    _SWITCHES.restore()
    _PATCHES.restore()
    with _LOCK:
        _last_rest_api_delete.clear()
        _role_created.clear()


def _now() -> float:
    return context.current().clock.now()


# -- API Gateway --------------------------------------------------------------------


def retry_after_header(seconds: float) -> str:
    """Whole seconds (rounded up) from one second on; milliseconds below it."""
    return str(math.ceil(seconds)) if seconds >= 1 else f"{max(seconds, 0.001):.3f}"


def delete_rest_api_quota() -> None:
    """DeleteRestApi: one request per 30 seconds per account.

    moto: deletes as fast as it is asked.
    AWS: "DeleteRestApi | 1 request every 30 seconds per account | Can be increased: No"
    (API Gateway quotas, "API Gateway quotas for creating, deploying and managing an
    API", https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
    Over it, HTTP 429 TooManyRequestsException, message "Too Many Requests" (as seen by
    boto3#876, cloud-custodian#7100, aws-nuke#358); its model carries a Retry-After
    header (botocore: TooManyRequestsException.retryAfterSeconds).
    We: count every DeleteRestApi that passes, per account and region; within 30 AWS
    seconds of the last one answer 429 with `{"message": "Too Many Requests"}` and
    Retry-After: the real seconds left, in whole seconds when there is a second or more left; below
    that (at a small time scale the window lasts milliseconds), to the millisecond, since a whole
    second would be far longer than the window the client is asked to wait out.
    """

    def guard(original, response: APIGatewayResponse, *args: Any, **kwargs: Any):
        key = (response.current_account, response.region)
        with _LOCK:
            now, last = _now(), _last_rest_api_delete.get(key)
            if last is not None and now - last < DELETE_REST_API_WINDOW:
                wait = (DELETE_REST_API_WINDOW - (now - last)) * context.current().clock.scale
                raise api_gateway_error(429, "TooManyRequestsException", "Too Many Requests",
                                        {"Retry-After": retry_after_header(wait)})
            _last_rest_api_delete[key] = now
        return original(response, *args, **kwargs)

    _PATCHES.wrap(APIGatewayResponse, "delete_rest_api", guard)


def vpc_link_in_use() -> None:
    """DeleteVpcLink is refused while a deployed API's integration goes through the link.

    moto: deletes the link whatever uses it (and forgets integrations' connectionId,
    which patches.py keeps).
    AWS: BadRequestException (400) "Cannot delete vpc link. Vpc link '<id>', is
    referenced in [<api>:<METHOD>:<resource>:<stage>, ...] in format of
    [RESTApiId:Method:Resource:Stage]." (as seen by klothoplatform/klotho#202, and in
    the older [Method:Resource:Stage] form by hashicorp/terraform#18392).
    We: the same refusal when any stage of any REST API has a method whose integration's
    connectionId is the link.
    """

    def guard(original, response: APIGatewayResponse, *args: Any, **kwargs: Any):
        link_id = unquote(response.path.rstrip("/").split("/")[-1])
        users = _vpc_link_users(response.backend, link_id)
        if users:
            raise api_gateway_error(
                400, "BadRequestException",
                f"Cannot delete vpc link. Vpc link '{link_id}', is referenced in [{', '.join(users)}] "
                "in format of [RESTApiId:Method:Resource:Stage].",
            )
        return original(response, *args, **kwargs)

    _PATCHES.wrap(APIGatewayResponse, "delete_vpc_link", guard)


def _vpc_link_users(backend: Any, link_id: str) -> list[str]:
    users = []
    for api in list(backend.apis.values()):
        for resource in list(api.resources.values()):
            for method_name, method in list(resource.resource_methods.items()):
                integration = method.method_integration
                if integration is not None and getattr(integration, "connection_id", None) == link_id:
                    users += [f"{api.id}:{method_name}:{resource.id}:{stage}" for stage in list(api.stages)]
    return users


# -- IAM propagation ------------------------------------------------------------------


def roles_take_time_to_reach_services() -> None:
    """A new role is not usable by SageMaker or Lambda for a while after CreateRole.

    moto: a role is usable the moment it exists (and SageMaker never checks it).
    AWS: IAM is eventually consistent; "it can take anywhere from a few seconds
    (usually) to a minute (rare) for changes to propagate" (DataDog/stratus-red-team#358),
    "after the creation of a role, it cannot be assumed for 10-30 seconds"
    (hashicorp/terraform-provider-aws#6566). Meanwhile:
    - SageMaker CreateNotebookInstance and CreateModel: ValidationException 'The
      execution role ARN "<arn>" is invalid. Please ensure that the role exists and that
      its trust relationship policy allows the action "sts:AssumeRole" for the service
      principal "sagemaker.amazonaws.com".' (quoted for CreateModel in AWS sample READMEs,
      and matched by hashicorp/terraform-provider-aws's SageMaker endpoint code);
    - SageMaker CreateTrainingJob: ValidationException "Could not assume role <arn>.
      Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com'
      to assume the role." (awslabs/predictive-maintenance-using-machine-learning#3);
    - Lambda CreateFunction, and UpdateFunctionConfiguration with a Role:
      InvalidParameterValueException (400) "The role defined for the function cannot be
      assumed by Lambda." (aws/aws-cli#7700);
    and a little later a training job is accepted but fails with FailureReason
    "ClientError: SageMaker was unable to assume the role '<arn>'"
    (aws/sagemaker-python-sdk#35, #43).
    We: the same refusals for ROLE_REFUSED_FOR AWS seconds after CreateRole, and for
    good when the role does not exist or does not trust the service; a training job
    started before ROLE_UNASSUMABLE_UNTIL fails as above (see training_role_failure).
    Roles that existed before the rules were installed are usable.
    """

    def remember(original, backend: IAMBackend, *args: Any, **kwargs: Any):
        role = original(backend, *args, **kwargs)
        with _LOCK:
            _role_created[(backend.account_id, role.arn)] = _now()
        return role

    def notebook_or_model(parameter: str):
        def guard(original, response: SageMakerResponse, *args: Any, **kwargs: Any):
            arn = response._get_param(parameter)
            if not _service_may_assume(response.current_account, arn, "sagemaker.amazonaws.com"):
                raise ValidationError(
                    message=f'The execution role ARN "{arn}" is invalid. Please ensure that the role exists and '
                    'that its trust relationship policy allows the action "sts:AssumeRole" for the service '
                    'principal "sagemaker.amazonaws.com".'
                )
            return original(response, *args, **kwargs)

        return guard

    def training_job(original, response: SageMakerResponse, *args: Any, **kwargs: Any):
        arn = response._get_param("RoleArn")
        if not _service_may_assume(response.current_account, arn, "sagemaker.amazonaws.com"):
            raise ValidationError(
                message=f"Could not assume role {arn}. Please ensure that the role exists and allows principal "
                "'sagemaker.amazonaws.com' to assume the role."
            )
        return original(response, *args, **kwargs)

    def function(original, response: LambdaResponse, *args: Any, **kwargs: Any):
        arn = (response.json_body or {}).get("Role")
        # a malformed ARN is moto's to refuse, with the request-validation error AWS sends too
        if arn and re.fullmatch(InvalidRoleFormat.pattern, arn) and \
                not _service_may_assume(response.current_account, arn, "lambda.amazonaws.com"):
            raise lambda_error(400, "InvalidParameterValueException",
                               "The role defined for the function cannot be assumed by Lambda.")
        return original(response, *args, **kwargs)

    _PATCHES.wrap(IAMBackend, "create_role", remember)
    _PATCHES.wrap(SageMakerResponse, "create_notebook_instance", notebook_or_model("RoleArn"))
    _PATCHES.wrap(SageMakerResponse, "create_model", notebook_or_model("ExecutionRoleArn"))
    _PATCHES.wrap(SageMakerResponse, "create_training_job", training_job)
    _PATCHES.wrap(LambdaResponse, "create_function", function)
    _PATCHES.wrap(LambdaResponse, "update_function_configuration", function)


def training_role_failure(account_id: str, role_arn: str) -> str | None:
    """Why a training job's instances cannot assume its role yet (its FailureReason after
    "ClientError: "), or None."""
    if not context.current().strict or not _PATCHES.installed:
        return None
    age = _role_age(account_id, role_arn)
    if age is not None and age < ROLE_UNASSUMABLE_UNTIL:
        return f"SageMaker was unable to assume the role '{role_arn}'"
    return None


def _role_age(account_id: str, role_arn: str) -> float | None:
    with _LOCK:
        created = _role_created.get((account_id, role_arn))
    return None if created is None else _now() - created


def _service_may_assume(account_id: str, role_arn: str | None, service: str) -> bool:
    """The role exists, trusts `service`, and has been around long enough to reach it."""
    role = _find_role(account_id, role_arn)
    if role is None or not _trusts(role.assume_role_policy_document, service):
        return False
    age = _role_age(account_id, role.arn)
    return age is None or age >= ROLE_REFUSED_FOR


def _find_role(account_id: str, role_arn: str | None) -> Any:
    if not role_arn:
        return None
    partition = role_arn.split(":")[1] if role_arn.count(":") >= 5 else "aws"
    try:
        return iam_backends[account_id][partition].get_role_by_arn(role_arn)
    except Exception:  # moto's IAM raises its own not-found error
        return None


def _trusts(document: Any, service: str) -> bool:
    if isinstance(document, str):
        try:
            document = json.loads(unquote(document) if document.startswith("%") else document)
        except ValueError:
            return False
    statements = (document or {}).get("Statement", [])
    return any(_allows_assume(statement, service) for statement in _as_list(statements))


def _allows_assume(statement: dict[str, Any], service: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    actions = _as_list(statement.get("Action"))
    if not any(action in ("sts:AssumeRole", "sts:*", "*") for action in actions):
        return False
    principal = statement.get("Principal")
    if principal == "*":
        return True
    return service in _as_list((principal or {}).get("Service"))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# -- SageMaker ------------------------------------------------------------------------


def instance_types_per_region() -> None:
    """Older instance types are not offered in newer regions.

    moto: accepts its own fixed list of instance types in every region.
    AWS: the previous generation (ml.t2, ml.m4, ml.c4) is missing from regions opened
    since 2020 and a few older ones (sources in data/sagemaker-instance-types.json);
    asking for one there is a ValidationException "Unsupported instance type <type>"
    (as CreateTrainingJob answered for ml.p3dn.24xlarge in eu-central-1,
    aws/amazon-sagemaker-examples#3494). Notebook instances and training jobs are
    refused when they are created; an endpoint config is only a document, and the
    instances are asked for by CreateEndpoint and UpdateEndpoint (which is also where
    AWS checks per-instance-type quotas, e.g. "The account-level service limit
    'ml.m4.xlarge for endpoint usage'", aws/amazon-sagemaker-examples#307).
    We: refuse, with that message, the types `instance_types.offered` says the region
    does not offer for that use.
    """

    def check(use: str, types: list[str | None], region: str) -> None:
        for instance_type in types:
            if instance_type and not instance_types.offered(use, instance_type, region):
                raise ValidationError(message=f"Unsupported instance type {instance_type}")

    def notebook(original, response: SageMakerResponse, *args: Any, **kwargs: Any):
        check("notebook", [response._get_param("InstanceType")], response.region)
        return original(response, *args, **kwargs)

    def training(original, response: SageMakerResponse, *args: Any, **kwargs: Any):
        resources = response._get_param("ResourceConfig") or {}
        groups = resources.get("InstanceGroups") or []
        check("training", [resources.get("InstanceType"), *(g.get("InstanceType") for g in groups)], response.region)
        return original(response, *args, **kwargs)

    def endpoint(original, response: SageMakerResponse, *args: Any, **kwargs: Any):
        config = response.sagemaker_backend.endpoint_configs.get(response._get_param("EndpointConfigName"))
        variants = config.production_variants if config is not None else []
        check("hosting", [variant.get("InstanceType") for variant in variants], response.region)
        return original(response, *args, **kwargs)

    _PATCHES.wrap(SageMakerResponse, "create_notebook_instance", notebook)
    _PATCHES.wrap(SageMakerResponse, "create_training_job", training)
    _PATCHES.wrap(SageMakerResponse, "create_endpoint", endpoint)
    _PATCHES.wrap(SageMakerResponse, "update_endpoint", endpoint)


def notebook_transitions() -> None:
    """A notebook instance is stopped only from InService and started only from Stopped or Failed.

    moto: stops and starts from any status (it already refuses to delete one that is not
    Stopped or Failed, with AWS's message).
    AWS: ValidationException "Status (<status>) not in ([InService]). Unable to transition
    to (Stopping) for Notebook Instance (<arn>)." and "Status (<status>) not in ([Stopped,
    Failed]). Unable to transition to (Pending) for Notebook Instance (<arn>)."
    (aws/amazon-sagemaker-examples#1094, #1798; hashicorp/terraform-provider-aws#16767).
    We: the same refusals.
    """

    def transition(allowed: tuple[str, ...], target: str):
        def guard(original, response: SageMakerResponse, *args: Any, **kwargs: Any):
            notebook = response.sagemaker_backend.get_notebook_instance(response._get_param("NotebookInstanceName"))
            if notebook.status not in allowed:
                raise ValidationError(
                    message=f"Status ({notebook.status}) not in ([{', '.join(allowed)}]). "
                    f"Unable to transition to ({target}) for Notebook Instance ({notebook.arn})."
                )
            return original(response, *args, **kwargs)

        return guard

    _PATCHES.wrap(SageMakerResponse, "stop_notebook_instance", transition(("InService",), "Stopping"))
    _PATCHES.wrap(SageMakerResponse, "start_notebook_instance", transition(("Stopped", "Failed"), "Pending"))


def in_progress_endpoints() -> None:
    """An endpoint that is being created, updated or deleted can be neither updated nor deleted.

    moto: updates (with our emulation) and deletes an endpoint in any status.
    AWS: ValidationException 'Cannot update in-progress endpoint "<arn>".' for
    UpdateEndpoint and DeleteEndpoint while it is Creating or Updating (as clients that
    handle it quote it, e.g. a stubbed boto3 DeleteEndpoint answering 'Cannot update
    in-progress endpoint "arn:aws:sagemaker:us-west-2:123456789098:endpoint/test-endpoint".';
    field notes of a failing endpoint: DeleteEndpoint is refused while it is Creating).
    We: the same refusal while the endpoint is Creating, Updating, Deleting,
    SystemUpdating or RollingBack.
    """

    def guard(original, response: SageMakerResponse, *args: Any, **kwargs: Any):
        endpoint = response.sagemaker_backend.endpoints.get(response._get_param("EndpointName"))
        if endpoint is not None and endpoint.endpoint_status in IN_PROGRESS_ENDPOINT:
            raise ValidationError(message=f'Cannot update in-progress endpoint "{endpoint.arn}".')
        return original(response, *args, **kwargs)

    _PATCHES.wrap(SageMakerResponse, "update_endpoint", guard)
    _PATCHES.wrap(SageMakerResponse, "delete_endpoint", guard)


# -- CodeCommit -----------------------------------------------------------------------


def codecommit_closed() -> None:
    """CodeCommit refuses new repositories on accounts that never had one (the switch).

    moto: creates repositories for anyone.
    AWS: since 25 July 2024 "only customers who have an existing repository in AWS
    CodeCommit will be able to create additional repositories" (AWS DevOps blog, "How to
    migrate your AWS CodeCommit repository to another Git provider"); others get
    OperationNotAllowedException (400) "CreateRepository request is not allowed because
    there is no existing repository in this AWS account or AWS Organization" (as seen by
    aws-samples/automated-security-helper-pipeline#2, aws-samples/eks-workshop-v2#1142).
    We: with `--codecommit closed`, the same refusal while the account has no repository.
    """

    def guard(original, response: CodeCommitResponse, *args: Any, **kwargs: Any):
        if not response.codecommit_backend.repositories:
            raise json_protocol_error(
                "OperationNotAllowedException",
                "CreateRepository request is not allowed because there is no existing repository "
                "in this AWS account or AWS Organization",
            )
        return original(response, *args, **kwargs)

    _SWITCHES.wrap(CodeCommitResponse, "create_repository", guard)
