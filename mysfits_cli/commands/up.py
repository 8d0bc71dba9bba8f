"""`mysfits up` (the whole stack, or parts of it), `mysfits plan`, and `up api|notebook|recommendations|web`.

Heavy imports (boto3, numpy) stay inside the functions so `mysfits --help` stays fast.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import MysfitsError
from .help import Commands

PARTS_HELP = "api, notebook, train, endpoint, recommendations, web"

# Options of `up` and `plan`, declared once.
ONLY = typer.Option(None, "--only", metavar="PART", help=f"Only these parts (repeat, or comma-separated): {PARTS_HELP}")
SKIP = typer.Option(None, "--skip", metavar="PART", help="Leave these parts out (repeat, or comma-separated)")
NLB = typer.Option(None, "--nlb", help="The backend's network load balancer (ARN or name); found by name or tag when omitted")
USER_POOL = typer.Option(None, "--user-pool-id", help="Cognito user pool for like/adopt; default: the pool named MysfitsUserPool")
NO_AUTH = typer.Option(None, "--no-auth/--auth", show_default=False,
                       help="Publish like/adopt without the Cognito authorizer, or with it again [default: as the "
                            "stack's API was made; with the authorizer]")
NOTEBOOK_TYPE = typer.Option(None, "--notebook-instance-type", help="Notebook instance type [default: ml.t2.medium, or the region's nearest]")
NO_REPOSITORY = typer.Option(False, "--no-repository", help="No CodeCommit repository for the service's code")
DATA = typer.Option(None, "--data", help="Questionnaire CSV (a1,...,a5,label; .gz allowed) [default: generated]")
ROWS = typer.Option(None, "--rows", min=10, help="Rows to generate when --data is not given [default: 1,000,000]")
SEED = typer.Option(None, "--seed", help="Seed of the generated data and of the 90/10 split [default: 42]")
K = typer.Option(None, "--k", min=1, help="k-NN: neighbours that vote [default: 10]")
TRAINING_TYPE = typer.Option(None, "--training-instance-type", help="Training instance type [default: ml.m5.2xlarge]")
NEW = typer.Option(False, "--new", help="Train again even when the data and settings are unchanged")
ENDPOINT_TYPE = typer.Option(None, "--endpoint-instance-type", help="Endpoint instance type [default: ml.m4.xlarge, or the region's nearest]")
ENDPOINT_COUNT = typer.Option(None, "--endpoint-instance-count", min=1, help="Endpoint instances [default: 1]")
NO_EVALUATE = typer.Option(False, "--no-evaluate", help="Do not send the test split through a new endpoint")
BUCKET = typer.Option(None, "--bucket", help="S3 bucket for the data [default: sagemaker-<region>-<account>]")
SITE_BUCKET = typer.Option(None, "--site-bucket", help="The site's bucket; found by the stack's name or tag when omitted")
CLIENT_ID = typer.Option(None, "--user-pool-client-id", help="The pool's app client for sign-in [default: MysfitsUserPoolClient]")


def _part_named_as_command(name: str) -> str | None:
    """`mysfits up train`: up takes parts with --only; the part's own command is the other way."""
    from ..stack import PART_COMMANDS

    if name not in PART_COMMANDS:
        return None
    return (f"`mysfits up` has no command {name}: `mysfits up --only {name}` brings up that part (and what it needs), "
            f"as does `mysfits {PART_COMMANDS[name]}`")


class UpCommands(Commands):
    unknown_command_hint = staticmethod(_part_named_as_command)


def parts(values: Optional[list[str]]) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def up_options(nlb, user_pool_id, no_auth, notebook_instance_type, no_repository, data, rows, seed, k,
               training_instance_type, new, endpoint_instance_type, endpoint_instance_count, no_evaluate, bucket,
               site_bucket, user_pool_client_id):
    from ..options import TrainOptions, UpOptions

    return UpOptions(
        nlb=nlb, user_pool_id=user_pool_id, no_auth=no_auth, notebook_instance_type=notebook_instance_type,
        repository=not no_repository,
        train=TrainOptions(data=data, rows=rows, seed=seed, k=k, instance_type=training_instance_type, new=new,
                           bucket=bucket),
        endpoint_instance_type=endpoint_instance_type, endpoint_instance_count=endpoint_instance_count,
        evaluate=not no_evaluate, site_bucket=site_bucket, user_pool_client_id=user_pool_client_id,
    )


def resume_command() -> str:
    return "mysfits " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])


def run_parts(settings, options, only=None, skip=(), *, plan_first: bool = False, yes: bool = False, after=None,
              billing: bool = False):
    """Bring up the selected parts, print what happened per part, and fail (exit 1) if any part failed.

    What starts billing by the hour is said with its rate (`billing`: what bills, even if it ran before).
    `only` may be a function of the open stack (which parts, given what is recorded).
    `after(stack)` runs once everything is up, with the stack still open (to print its URLs).
    """
    from .. import ui
    from ..runner import still_running
    from ..runtime import open_stack
    from ..stack import GRAPH, up
    from ..steps.status import target
    from ..summary import show_billing, show_next_step, show_outcome

    with open_stack(settings) as stack:
        if callable(only):
            only = only(stack)
        if plan_first and not _approved(stack, options, only, skip, yes):
            ui.out.print("Plan not applied: nothing was changed.", highlight=False)
            raise typer.Exit(1)
        outcome = up(stack, options, only, skip)
        show_outcome(outcome, GRAPH)
        if not outcome.interrupted:
            show_billing(stack, outcome, GRAPH, always=billing)
        # the last lines: what is left to do, if anything
        show_next_step(outcome, resume_command(), still_running(stack) if outcome.interrupted else [],
                       place=target(stack))
        if outcome.interrupted:
            raise typer.Exit(130)
        if not outcome.ok:
            raise typer.Exit(1)
        return after(stack) if after else None


def _approved(stack, options, only, skip, yes: bool) -> bool:
    from ..plan_output import show_forecast
    from ..stack import forecast_for
    from ..summary import show_plan

    planned, found = forecast_for(stack, options, only, skip)
    show_plan(planned, where_for(stack))
    show_forecast(stack, found)
    if all(item.change.action in ("unchanged", "read") for item in planned):
        return True
    if yes:
        return True
    if not sys.stdin.isatty():
        raise MysfitsError("`up --plan` asks before it changes anything: pass --yes to apply when not running interactively")
    return typer.confirm("Apply this plan?", default=False)


def register(app: typer.Typer, up_app: typer.Typer) -> None:
    app.command("plan")(plan)
    up_app.callback(invoke_without_command=True)(up)
    up_app.command("api")(up_api)
    up_app.command("notebook")(up_notebook)
    up_app.command("recommendations")(up_recommendations)
    up_app.command("web")(up_web)


def up(
    ctx: typer.Context,
    only: Optional[list[str]] = ONLY, skip: Optional[list[str]] = SKIP,
    nlb: Optional[str] = NLB, user_pool_id: Optional[str] = USER_POOL, no_auth: Optional[bool] = NO_AUTH,
    notebook_instance_type: Optional[str] = NOTEBOOK_TYPE, no_repository: bool = NO_REPOSITORY,
    data: Optional[Path] = DATA, rows: Optional[int] = ROWS, seed: Optional[int] = SEED, k: Optional[int] = K,
    training_instance_type: Optional[str] = TRAINING_TYPE, new: bool = NEW,
    endpoint_instance_type: Optional[str] = ENDPOINT_TYPE, endpoint_instance_count: Optional[int] = ENDPOINT_COUNT,
    no_evaluate: bool = NO_EVALUATE, bucket: Optional[str] = BUCKET, site_bucket: Optional[str] = SITE_BUCKET,
    user_pool_client_id: Optional[str] = CLIENT_ID,
    plan_first: bool = typer.Option(False, "--plan", help="Show the plan and ask before applying it"),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --plan: apply without asking"),
) -> None:
    """Bring up the whole stack (or --only some parts), independent parts side by side. Safe to re-run."""
    if ctx.invoked_subcommand is not None:
        return
    options = up_options(nlb, user_pool_id, no_auth, notebook_instance_type, no_repository, data, rows, seed, k,
                         training_instance_type, new, endpoint_instance_type, endpoint_instance_count, no_evaluate,
                         bucket, site_bucket, user_pool_client_id)
    run_parts(ctx.obj, options, parts(only) or None, parts(skip), plan_first=plan_first, yes=yes, after=_print_urls)


def plan(
    ctx: typer.Context,
    only: Optional[list[str]] = ONLY, skip: Optional[list[str]] = SKIP,
    nlb: Optional[str] = NLB, user_pool_id: Optional[str] = USER_POOL, no_auth: Optional[bool] = NO_AUTH,
    notebook_instance_type: Optional[str] = NOTEBOOK_TYPE, no_repository: bool = NO_REPOSITORY,
    data: Optional[Path] = DATA, rows: Optional[int] = ROWS, seed: Optional[int] = SEED, k: Optional[int] = K,
    training_instance_type: Optional[str] = TRAINING_TYPE, new: bool = NEW,
    endpoint_instance_type: Optional[str] = ENDPOINT_TYPE, endpoint_instance_count: Optional[int] = ENDPOINT_COUNT,
    no_evaluate: bool = NO_EVALUATE, bucket: Optional[str] = BUCKET, site_bucket: Optional[str] = SITE_BUCKET,
    user_pool_client_id: Optional[str] = CLIENT_ID,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output: every node's action, and the forecast"),
) -> None:
    """What `mysfits up` would create, change or replace, in the order it would, and what AWS would refuse of it
    (quotas, permissions); changes nothing."""
    import json

    from ..plan_output import plan_json, show_forecast
    from ..runtime import open_stack
    from ..stack import forecast_for
    from ..summary import show_plan

    options = up_options(nlb, user_pool_id, no_auth, notebook_instance_type, no_repository, data, rows, seed, k,
                         training_instance_type, new, endpoint_instance_type, endpoint_instance_count, no_evaluate,
                         bucket, site_bucket, user_pool_client_id)
    with open_stack(ctx.obj, read_only=True) as stack:
        planned, found = forecast_for(stack, options, parts(only) or None, parts(skip))
        if as_json:
            typer.echo(json.dumps(plan_json(stack, planned, found), indent=2, sort_keys=True))
        else:
            show_plan(planned, where_for(stack))
            show_forecast(stack, found)


def where_for(stack) -> str:
    from ..steps.status import target

    return f"Stack {stack.stack} in {stack.aws.region} on {target(stack)}"


def _print_urls(stack) -> None:
    from .. import ui

    outputs = stack.state.outputs
    for label, key, route in (("Mysfits API", "mysfits_api_url", "/mysfits"),
                              ("Recommendations API (POST)", "recommendations_api_url", "/recommendations"),
                              ("Site", "website_url", "")):
        if outputs.get(key):  # each URL on a line of its own, to click or copy
            ui.out.print(f"{label}:", highlight=False)
            ui.out.print(f"  {outputs[key]}{route}", highlight=False, markup=False)


def up_api(
    ctx: typer.Context, nlb: Optional[str] = NLB, user_pool_id: Optional[str] = USER_POOL, no_auth: Optional[bool] = NO_AUTH,
) -> None:
    """The Mysfits REST API behind a VPC link to the backend's NLB."""
    from ..options import UpOptions

    run_parts(ctx.obj, UpOptions(nlb=nlb, user_pool_id=user_pool_id, no_auth=no_auth), ["api"],
              after=lambda stack: _print_output(stack, "mysfits_api_url", "/mysfits"))


def up_notebook(
    ctx: typer.Context,
    instance_type: Optional[str] = typer.Option(None, "--instance-type", help="Notebook instance type [default: ml.t2.medium, or the region's nearest]"),
    bucket: Optional[str] = BUCKET,
    no_repository: bool = NO_REPOSITORY,
) -> None:
    """The SageMaker notebook instance, the role it runs as, and the CodeCommit repository for the service code."""
    from ..options import TrainOptions, UpOptions

    options = UpOptions(notebook_instance_type=instance_type, repository=not no_repository,
                        train=TrainOptions(bucket=bucket))
    run_parts(ctx.obj, options, ["notebook"], after=_show_notebook, billing=True)


def _show_notebook(stack) -> None:
    from .. import ui
    from ..steps.notebook import presigned_jupyter_url

    outputs = stack.state.outputs
    jupyter = presigned_jupyter_url(stack, stack.settings.name("notebook"))
    lines = [("Jupyter (a sign-in link, valid for a few minutes)", jupyter or "not available from this endpoint"),
             ("SageMaker console", outputs.get("notebook_console_url"))]
    if outputs.get("repository_clone_url_http"):
        lines += [("Repository (HTTPS)", outputs["repository_clone_url_http"]),
                  ("Repository (SSH)", outputs["repository_clone_url_ssh"])]
    for label, url in lines:  # each URL on a line of its own, to click or copy
        ui.out.print(f"{label}:", highlight=False)
        ui.out.print(f"  {url}", highlight=False, markup=False)


def up_recommendations(ctx: typer.Context) -> None:
    """The Lambda function over the deployed endpoint, and its REST API (POST /recommendations)."""
    from ..options import UpOptions
    from ..steps.recommendations import ROUTE, curl_example

    from .. import ui

    url = run_parts(ctx.obj, UpOptions(), ["recommendations"],
                    after=lambda stack: _print_output(stack, "recommendations_api_url", ROUTE))
    ui.err.print("Try it:", highlight=False)
    ui.err.print(f"  {curl_example(url)}", highlight=False, markup=False)
    ui.err.print("  `mysfits recommend 1 2 3 4 5`", highlight=False, markup=False)


def up_web(
    ctx: typer.Context,
    bucket: Optional[str] = typer.Option(None, "--bucket", help="The site's bucket; found by the stack's name or tag when omitted"),
    user_pool_client_id: Optional[str] = CLIENT_ID,
) -> None:
    """The site's index.html with both API URLs, published where the site is served."""
    from ..options import UpOptions

    run_parts(ctx.obj, UpOptions(site_bucket=bucket, user_pool_client_id=user_pool_client_id), ["web"],
              after=lambda stack: _print_output(stack, "website_url", ""))


def _print_output(stack, key: str, suffix: str) -> str:
    url = f"{stack.state.outputs[key]}{suffix}"
    typer.echo(url)
    return url
