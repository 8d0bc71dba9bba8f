"""The recommendation module as one graph: every part of the stack, once, with what it needs.

    backend.nlb ─ api.vpc-link ─┐
    backend.user-pool ──────────┴ api.rest-api ───────────────────────────────┐
    sagemaker.role ─┬ notebook.instance (after notebook.repository)           │
                    ├ train.job ─ train.output                                 │
    train.bucket ─ train.data ─┘   └ endpoint.model ─ endpoint.config ─ endpoint.endpoint ─ endpoint.evaluation
                                                         recommendations.role ┘   │
    recommendations.log-group ─ recommendations.function ─ recommendations.rest-api ─ recommendations.permission
                                                                   └──────────────┴─ web.page

`up` brings up what is selected, each node as soon as its needs are ready; `plan` shows what
that would do, and the forecast (forecast.py) reads it once more for what AWS would refuse: the
quotas what each node `starts` takes, the `permissions` each node declares. `status` and
`teardown` read the same graph (teardown backwards).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from . import ui
from .engine import Context, Resource, ensure, preview
from .errors import MysfitsError
from .forecast import Forecast, forecast, refusal
from .graph import Graph, Node, Run
from .options import UpOptions
from .resources.apigateway import RestApi, VpcLink
from .resources.awslambda import Function, InvokePermission, LogGroup
from .resources.codecommit import Repository
from .resources.iam import Role
from .resources.s3 import Bucket, DataPrefix
from .resources.sagemaker import Endpoint, EndpointConfig, Model, NotebookInstance, TrainingJob
from .resources.website import WebPage
from .runner import Outcome, PlannedNode, apply, external_outputs, plan
from .steps import api, endpoint, notebook, recommendations, train, web

# The command that brings up each part on its own.
PART_COMMANDS = {
    "api": "up api",
    "notebook": "up notebook",
    "train": "train",
    "endpoint": "deploy-endpoint",
    "recommendations": "up recommendations",
    "web": "up web",
}


def resource(
    key: str, title: str, part: str | None, cls: type[Resource], build: Callable[[Run], Resource],
    needs: Iterable[str] = (), publish: Callable[[Run, dict], Any] | None = None,
    apply: Callable[[Run], Any] | None = None, **extra: Any,
) -> Node:
    """A node that is one resource: `build` says what is wanted, the engine finds, creates and converges it
    (or `apply` brings it up, when that takes more than `ensure`)."""

    def bring_up(run: Run) -> Any:
        record = ensure(run.ctx, build(run))
        return publish(run, record) if publish else record

    return Node(key, title, part, apply or bring_up, tuple(needs), kind=cls.kind,
                plan=lambda run: preview(run.ctx, run.once(key, build)),
                permissions=lambda run, change: run.once(key, build).permissions(run.ctx, change), **extra)


GRAPH = Graph([
    Node("backend.nlb", "Backend load balancer", None, api.backend, permissions=api.backend_permissions),
    Node("backend.user-pool", "Cognito user pool", None, api.user_pool, permissions=api.user_pool_permissions),
    resource("api.vpc-link", "VPC link", "api", VpcLink, api.vpc_link, ["backend.nlb"], held_by_dependents=True),
    resource("api.rest-api", "Mysfits API", "api", RestApi, api.rest_api,
             ["api.vpc-link", "backend.nlb", "backend.user-pool"], publish=api.publish_url),
    resource("sagemaker.role", "SageMaker role", None, Role, notebook.sagemaker_role),
    resource("notebook.repository", "CodeCommit repository", "notebook", Repository, notebook.repository,
             enabled=lambda options: options.repository, apply=notebook.ensure_repository),
    resource("notebook.instance", "Notebook instance", "notebook", NotebookInstance, notebook.notebook_instance,
             ["sagemaker.role", "notebook.repository"], publish=notebook.publish_notebook, check=notebook.check_notebook,
             bills=notebook.bills, starts=("create",)),
    resource("train.bucket", "Data bucket", "train", Bucket, train.bucket),
    resource("train.data", "Training data", "train", DataPrefix, train.training_data, ["train.bucket"],
             publish=train.publish_test_split, check=train.check_data),
    Node("train.job", "Training job", "train", train.training_job, ("train.data", "sagemaker.role"),
         kind=TrainingJob.kind, plan=train.plan_job, from_state=train.completed_job, check=train.check_job,
         bills=train.bills, starts=("create", "replace"), permissions=train.permissions),
    resource("train.output", "Model artifacts", "train", DataPrefix, train.training_output, ["train.job", "train.data"]),
    resource("endpoint.model", "Model", "endpoint", Model, endpoint.model, ["train.job", "sagemaker.role"],
             sweep_after="endpoint.endpoint"),
    resource("endpoint.config", "Endpoint config", "endpoint", EndpointConfig, endpoint.endpoint_config,
             ["endpoint.model"], sweep_after="endpoint.endpoint", check=endpoint.check_config),
    # an update starts the new config's instances beside the old ones, which serve until it is done
    resource("endpoint.endpoint", "Endpoint", "endpoint", Endpoint, endpoint.endpoint, ["endpoint.config", "endpoint.model"],
             apply=endpoint.ensure_endpoint, bills=endpoint.bills, starts=("create", "update")),
    Node("endpoint.evaluation", "Evaluation", "endpoint", endpoint.evaluation, ("endpoint.endpoint",),
         plan=endpoint.plan_evaluation, enabled=lambda options: options.evaluate,
         permissions=endpoint.evaluation_permissions),
    resource("recommendations.role", "Recommendations role", "recommendations", Role, recommendations.role,
             ["endpoint.endpoint"]),
    resource("recommendations.log-group", "Function log group", "recommendations", LogGroup, recommendations.log_group),
    resource("recommendations.function", "Recommendations function", "recommendations", Function,
             recommendations.function, ["recommendations.role", "recommendations.log-group", "endpoint.endpoint"]),
    resource("recommendations.rest-api", "Recommendations API", "recommendations", RestApi, recommendations.rest_api,
             ["recommendations.function"], publish=recommendations.publish_url),
    resource("recommendations.permission", "Invoke permission", "recommendations", InvokePermission,
             recommendations.permission, ["recommendations.rest-api", "recommendations.function"]),
    Node("web.page", "Site page", "web", web.publish, ("api.rest-api", "recommendations.rest-api"),
         kind=WebPage.kind, plan=web.plan, permissions=web.permissions),
])


def part_command(node: Node) -> str:
    """The command that brings up the part a node belongs to."""
    return PART_COMMANDS.get(node.part or "", "up")


def up(ctx: Context, options: UpOptions, only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> Outcome:
    """Bring up the selected parts (all by default), independent chains side by side.

    What can be checked before anything is created is checked first: a bad input creates nothing,
    and neither does a plan AWS would refuse part of (the forecast).
    """
    selection = GRAPH.select(only, skip, options)
    outputs = external_outputs(ctx, selection, part_command)
    for node in selection.nodes:
        if node.check:
            node.check(ctx, options)
    for node in selection.nodes:  # what the workshop built earlier: a wrong --nlb is an error before anything
        if node.is_lookup:
            outputs[node.key] = node.apply(Run(ctx, options, {need: outputs[need] for need in node.needs}))
    rest = selection.without(outputs)
    refuse_what_aws_would(ctx, forecast(ctx, plan(ctx, GRAPH, rest, options, dict(outputs))))
    return apply(ctx, GRAPH, rest, options, outputs)


def refuse_what_aws_would(ctx: Context, found: Forecast) -> None:
    """Stop before anything is created when AWS would refuse part of it; say what could not be checked."""
    for line in found.unchecked():
        ui.warn(f"{line[0].upper()}{line[1:]}. Going on: AWS will say so if it refuses")
    if found.blocking:
        for line in found.findings(ctx):
            ui.fail(line)
        raise refusal(ctx, found)


def up_or_raise(ctx: Context, options: UpOptions, only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> Outcome:
    """`up`, raising the first failure (for callers that print no summary)."""
    outcome = up(ctx, options, only, skip)
    if not outcome.ok:
        failed = outcome.failures
        raise MysfitsError(f"{failed[0].node.title}: {failed[0].reason}" if failed else "interrupted")
    return outcome


def plan_for(ctx: Context, options: UpOptions, only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> list[PlannedNode]:
    """What `up` with these options would do, node by node; no mutating call."""
    selection = GRAPH.select(only, skip, options)
    outputs: dict[str, Any] = {key: None for key in selection.disabled}
    for node in selection.external:
        outputs[node.key] = ctx.state.get(node.key)
    return plan(ctx, GRAPH, selection, options, outputs)


def forecast_for(ctx: Context, options: UpOptions, only: Iterable[str] | None = None,
                 skip: Iterable[str] = ()) -> tuple[list[PlannedNode], Forecast]:
    """The plan, and what AWS would refuse of it."""
    planned = plan_for(ctx, options, only, skip)
    return planned, forecast(ctx, planned)
