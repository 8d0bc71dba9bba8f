"""How long things take: AWS-like durations for the local cloud, scaled by its time scale.

With `--latency aws` the local cloud moves resources through AWS's own status values
at AWS's pace (times the time scale); with `--latency none` (the default) moto's
instant transitions stay, except that strict mode keeps an endpoint `Creating`,
`Updating` or `Deleting` for the short time in the `strict` column, so that no
client can mistake an endpoint for ready the moment it asked for it.

| transition          | AWS s | strict s | status values                                                      | source |
|---------------------|------:|---------:|--------------------------------------------------------------------|--------|
| vpc_link.create     |   180 |        0 | PENDING -> AVAILABLE                                               | CreateVpcLink API reference: "an asynchronous operation that typically takes 2-4 minutes" |
| vpc_link.delete     |   120 |        0 | DELETING -> gone                                                   | no published figure; taken as a little less than creation |
| notebook.start      |   600 |        0 | Pending -> InService (on create and on start)                      | the workshop's module page: Pending to InService "can take about 10 minutes" |
| notebook.stop       |    60 |        0 | Stopping -> Stopped                                                | no published figure; one minute assumed |
| notebook.delete     |    60 |        0 | Deleting -> gone                                                   | no published figure; one minute assumed |
| training.instances  |   120 |        0 | InProgress/Starting: "Launching requested ML instances" -> "Preparing the instances for training" | AWS ML blog "Best practices for Amazon SageMaker Training Managed Warm Pools" (2022): a cold start takes minutes, against under 20 s from a warm pool |
| training.image      |   150 |        0 | InProgress/Training: "Downloading the training image" -> "Training image download completed. Training in progress." | huggingface/blog#96 job log: image download from 13:04:04 to 13:06:33 |
| endpoint.create     |   480 |       30 | Creating -> InService (Failed when the model cannot be loaded)     | terraform-provider-aws#39090 (2024): endpoints "now taking a little over 10 minutes" outgrew the provider's 10-minute wait; 8 minutes taken |
| endpoint.update     |   480 |       30 | Updating -> InService (the old config serves until then; rolled back with FailureReason on failure) | as creation: UpdateEndpoint provisions the new fleet before switching (UpdateEndpoint API reference) |
| endpoint.delete     |    60 |       30 | Deleting -> gone                                                   | no published figure; one minute assumed |
| lambda.create       |     2 |        0 | State Pending -> Active, LastUpdateStatus InProgress -> Successful | AWS Compute Blog "Tracking the state of AWS Lambda functions" (2019): "In most cases, this process is very fast" (a function without VPC) |
| lambda.update       |     2 |        0 | LastUpdateStatus InProgress -> Successful (State stays Active)     | as lambda.create |
| apigateway.call     |   0.6 |        0 | CreateRestApi, ImportRestApi, PutRestApi, CreateDeployment answer after this | aws/aws-sdk-js#1014 request log: "[AWS apigateway 201 0.599s] createRestApi" |

The strict column's 30 seconds is the polling interval of SageMaker's own endpoint
waiters: no endpoint transition is expected to be seen done sooner. The training
job's start-up and image download are played by `sagemaker.py`, the endpoint's
transitions too (they decide what the endpoint serves); this module plays the rest.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable

from moto.apigateway.models import APIGatewayBackend
from moto.apigateway.responses import APIGatewayResponse
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.core.utils import utcnow
from moto.sagemaker.models import FakeSagemakerNotebookInstance, SageMakerModelBackend

from . import context
from .errors import lambda_error
from .patching import Patches


@dataclass(frozen=True)
class Transition:
    aws: float  # seconds on AWS, modelled with --latency aws
    strict: float  # seconds in strict mode without the latency model (0: instant, as moto)


TRANSITIONS: dict[str, Transition] = {
    "vpc_link.create": Transition(180, 0),
    "vpc_link.delete": Transition(120, 0),
    "notebook.start": Transition(600, 0),
    "notebook.stop": Transition(60, 0),
    "notebook.delete": Transition(60, 0),
    "training.instances": Transition(120, 0),
    "training.image": Transition(150, 0),
    "endpoint.create": Transition(480, 30),
    "endpoint.update": Transition(480, 30),
    "endpoint.delete": Transition(60, 30),
    "lambda.create": Transition(2, 0),
    "lambda.update": Transition(2, 0),
    "apigateway.call": Transition(0.6, 0),
}


def duration(name: str) -> float:
    """AWS seconds the transition takes under the active settings (0: at once)."""
    active = context.current()
    transition = TRANSITIONS[name]
    if active.settings.models_latency:
        return transition.aws
    return transition.strict if active.strict else 0.0


def later(name: str, obj: Any, attribute: str, expected: Any, value: Any,
          then: Callable[[], None] | None = None) -> None:
    """After transition `name`, set `obj.attribute` to `value` if it still is `expected`, then run `then`."""

    def finish() -> None:
        if getattr(obj, attribute) == expected:
            setattr(obj, attribute, value)
            if then is not None:
                then()

    context.current().clock.call_later(duration(name), finish)


def after(name: str, action: Callable[[], None]) -> None:
    context.current().clock.call_later(duration(name), action)


_PATCHES = Patches("latency")


def install() -> None:
    """Play every transition of the table; later calls do nothing."""
    _PATCHES.install(_vpc_links_take_time, _notebooks_take_time, _lambda_states, _api_gateway_calls_take_time)


def uninstall() -> None:
    _PATCHES.restore()
    with _LAMBDA_LOCK:
        _LAMBDA_STATES.clear()


def _vpc_links_take_time() -> None:
    """A VPC link is PENDING, then AVAILABLE; deleted, it is DELETING, then gone.

    moto: AVAILABLE at once, and gone at once.
    AWS: "an asynchronous operation that typically takes 2-4 minutes" (CreateVpcLink API
    reference); the status goes PENDING -> AVAILABLE, and DELETING while it is removed.
    We: the same statuses, for vpc_link.create and vpc_link.delete.
    """

    def create(original, backend: APIGatewayBackend, *args: Any, **kwargs: Any):
        link = original(backend, *args, **kwargs)
        if duration("vpc_link.create") > 0:
            link.status = "PENDING"
            later("vpc_link.create", link, "status", "PENDING", "AVAILABLE")
        return link

    def delete(original, backend: APIGatewayBackend, vpc_link_id: str) -> None:
        link = backend.vpc_links.get(vpc_link_id)
        if link is None or duration("vpc_link.delete") <= 0:
            return original(backend, vpc_link_id)
        link.status = "DELETING"
        after("vpc_link.delete", lambda: backend.vpc_links.pop(vpc_link_id, None))
        return None

    _PATCHES.wrap(APIGatewayBackend, "create_vpc_link", create)
    _PATCHES.wrap(APIGatewayBackend, "delete_vpc_link", delete)


def _notebooks_take_time() -> None:
    """A notebook instance is Pending, then InService; Stopping, then Stopped; Deleting, then gone.

    moto: InService the moment it is created or started, Stopped the moment it is
    stopped, gone the moment it is deleted.
    AWS: "Pending" for minutes on create and start (the workshop's page: about 10
    minutes), "Stopping" and "Deleting" while those run.
    We: the same statuses, for notebook.start, notebook.stop and notebook.delete.
    """

    def start(original, notebook: FakeSagemakerNotebookInstance) -> None:
        original(notebook)
        if duration("notebook.start") > 0:
            notebook.status = "Pending"
            later("notebook.start", notebook, "status", "Pending", "InService", lambda: _touch(notebook))

    def stop(original, notebook: FakeSagemakerNotebookInstance) -> None:
        original(notebook)
        if duration("notebook.stop") > 0:
            notebook.status = "Stopping"
            later("notebook.stop", notebook, "status", "Stopping", "Stopped", lambda: _touch(notebook))

    def delete(original, backend: SageMakerModelBackend, name: str) -> None:
        notebook = backend.notebook_instances.get(name)
        if notebook is None or not notebook.is_deletable or duration("notebook.delete") <= 0:
            return original(backend, name)
        notebook.status = "Deleting"
        after("notebook.delete", lambda: backend.notebook_instances.pop(name, None))
        return None

    _PATCHES.wrap(FakeSagemakerNotebookInstance, "start", start)
    _PATCHES.wrap(FakeSagemakerNotebookInstance, "stop", stop)
    _PATCHES.wrap(SageMakerModelBackend, "delete_notebook_instance", delete)


def _touch(resource: Any) -> None:
    resource.last_modified_time = utcnow()


# function -> the state fields it reports while it is being created or updated
_LAMBDA_STATES: weakref.WeakKeyDictionary[LambdaFunction, dict[str, str]] = weakref.WeakKeyDictionary()
_LAMBDA_LOCK = threading.Lock()
_BEING_CREATED = "The function is being created."
_CREATING = {"State": "Pending", "StateReason": _BEING_CREATED, "StateReasonCode": "Creating"}
# AWS reports an update in progress with these same reason fields (Lambda developer
# guide, "Lambda function states": a GetFunctionConfiguration during an update).
_UPDATING = {"LastUpdateStatus": "InProgress", "LastUpdateStatusReason": _BEING_CREATED,
             "LastUpdateStatusReasonCode": "Creating"}


def _lambda_states() -> None:
    """A new function is Pending, then Active; an update is InProgress, then Successful.

    moto: State Active and LastUpdateStatus Successful at all times.
    AWS: "Pending is the first state that all functions go through when they are
    created ... Any automation built around invoking or updating functions immediately
    after creation must be modified to first see if the function has transitioned from
    Pending to Active" (AWS Compute Blog, "Tracking the state of AWS Lambda functions");
    while an update runs, LastUpdateStatus is InProgress and another update is refused
    with ResourceConflictException (409) "The operation cannot be performed at this time.
    An update is in progress for resource: <arn>".
    We: the same fields (lambda.create, lambda.update) and the same refusal.
    """

    def configuration(original, function: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original(function, *args, **kwargs)
        with _LAMBDA_LOCK:
            reported = dict(_LAMBDA_STATES.get(function, {}))
        if kwargs.get("on_create", args[0] if args else False):
            reported = {key: value for key, value in reported.items() if not key.startswith("LastUpdate")}
        config.update(reported)
        return config

    def create(original, backend: LambdaBackend, spec: dict[str, Any]) -> LambdaFunction:
        function = original(backend, spec)
        _report_until(function, "lambda.create", {**_CREATING, **_UPDATING})
        return function

    def update(original, backend: LambdaBackend, function_name: str, qualifier: str | None, body: dict[str, Any]) -> Any:
        function = backend.get_function(function_name, qualifier)
        _refuse_while_updating(function)
        _report_until(function, "lambda.update", _UPDATING)
        try:
            return original(backend, function_name, qualifier, body)
        except Exception:
            with _LAMBDA_LOCK:
                _LAMBDA_STATES.pop(function, None)
            raise

    _PATCHES.wrap(LambdaFunction, "get_configuration", configuration)
    _PATCHES.wrap(LambdaBackend, "create_function", create)
    _PATCHES.wrap(LambdaBackend, "update_function_configuration", update)
    _PATCHES.wrap(LambdaBackend, "update_function_code", update)


def _report_until(function: LambdaFunction, transition: str, fields: dict[str, str]) -> None:
    if duration(transition) <= 0:
        return
    with _LAMBDA_LOCK:
        _LAMBDA_STATES[function] = dict(fields)

    def done() -> None:
        with _LAMBDA_LOCK:
            _LAMBDA_STATES.pop(function, None)

    after(transition, done)


def _refuse_while_updating(function: LambdaFunction) -> None:
    with _LAMBDA_LOCK:
        busy = function in _LAMBDA_STATES
    if busy:
        raise lambda_error(409, "ResourceConflictException",
                           "The operation cannot be performed at this time. "
                           f"An update is in progress for resource: {function.function_arn}")


def _api_gateway_calls_take_time() -> None:
    """Creating, defining and deploying a REST API takes a moment.

    moto: answers at once.
    AWS: a published request log shows CreateRestApi answered in 0.6 s
    (aws/aws-sdk-js#1014).
    We: CreateRestApi (and ImportRestApi, which moto serves with it), PutRestApi and
    CreateDeployment answer after apigateway.call.
    """

    def slow(original, response: APIGatewayResponse, *args: Any, **kwargs: Any):
        context.current().clock.sleep(duration("apigateway.call"))
        return original(response, *args, **kwargs)

    for name in ("create_rest_api", "put_rest_api", "create_deployment"):
        _PATCHES.wrap(APIGatewayResponse, name, slow)
