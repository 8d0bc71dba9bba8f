"""The `mysfits` command line. Options and output only: AWS work lives in steps/ and resources/."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Optional

import typer

from . import __version__
from .config import DEFAULT_STACK, DEFAULT_STATE_FILE, Settings, env_first
from .errors import MysfitsError

app = typer.Typer(
    help="Provision the Mythical Mysfits machine-learning recommendation module on AWS, or on a local cloud.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
up_app = typer.Typer(help="Create or update a part of the stack (safe to re-run).", no_args_is_help=True)
local_app = typer.Typer(help="The embedded local cloud (moto's server on 127.0.0.1).", no_args_is_help=True)
render_app = typer.Typer(help="Render a document without creating anything.", no_args_is_help=True)
data_app = typer.Typer(help="The questionnaire data set.", no_args_is_help=True)
app.add_typer(up_app, name="up")
app.add_typer(local_app, name="local")
app.add_typer(render_app, name="render")
app.add_typer(data_app, name="data")

STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mysfits {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    region: Optional[str] = typer.Option(None, "--region", help="AWS region [env: AWS_REGION, AWS_DEFAULT_REGION, or the profile's]"),
    profile: Optional[str] = typer.Option(None, "--profile", envvar="AWS_PROFILE", help="AWS profile"),
    endpoint_url: Optional[str] = typer.Option(None, "--endpoint-url", envvar="MYSFITS_ENDPOINT_URL", help="Send every AWS call here (moto server, LocalStack)"),
    stack: str = typer.Option(DEFAULT_STACK, "--stack", envvar="MYSFITS_STACK", help="Stack name: prefix of every resource name, and its tag"),
    state_file: Path = typer.Option(DEFAULT_STATE_FILE, "--state-file", envvar="MYSFITS_STATE_FILE", help="Where mysfits records what it created"),
    local: bool = typer.Option(False, "--local", help="Use the embedded local cloud (started when not running)"),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit"),
) -> None:
    if not STACK_NAME.match(stack):
        raise MysfitsError(f"Invalid --stack '{stack}': use 1-20 lowercase letters, digits and hyphens, starting with a letter")
    if local and endpoint_url:
        raise MysfitsError("--local and --endpoint-url both choose where AWS calls go: pass only one")
    ctx.obj = Settings(
        region=region or env_first("AWS_REGION", "AWS_DEFAULT_REGION"),
        profile=None if local else profile,
        endpoint_url=endpoint_url,
        stack=stack,
        state_file=state_file,
        local=local,
    )


def _stack(ctx: typer.Context):
    from .runtime import open_stack

    return open_stack(ctx.obj)


# ---- up ---------------------------------------------------------------------------------------

@up_app.command("api")
def up_api(
    ctx: typer.Context,
    nlb: Optional[str] = typer.Option(None, "--nlb", help="The backend's network load balancer (ARN or name); found by name or tag when omitted"),
    user_pool_id: Optional[str] = typer.Option(None, "--user-pool-id", help="Cognito user pool for like/adopt; default: the pool named MysfitsUserPool"),
    no_auth: bool = typer.Option(False, "--no-auth", help="Publish like/adopt without the Cognito authorizer"),
) -> None:
    """The Mysfits REST API behind a VPC link to the backend's NLB."""
    from .steps.api import up_api as run

    with _stack(ctx) as stack:
        url = run(stack, nlb, user_pool_id, no_auth)
        _print_status(stack, as_json=False)
    typer.echo(url)


# ---- render -----------------------------------------------------------------------------------

@render_app.command("swagger")
def render_swagger(
    ctx: typer.Context,
    out: Optional[Path] = typer.Option(None, "--out", help="Write to this file instead of standard output"),
    nlb: Optional[str] = typer.Option(None, "--nlb", help="The backend's network load balancer (ARN or name)"),
    user_pool_id: Optional[str] = typer.Option(None, "--user-pool-id"),
    no_auth: bool = typer.Option(False, "--no-auth"),
    vpc_link_id: Optional[str] = typer.Option(None, "--vpc-link-id", help="Default: the stack's existing VPC link"),
) -> None:
    """Print the Mysfits API's OpenAPI document with every value filled in; creates nothing."""
    from .steps.render import rendered_swagger

    with _stack(ctx) as stack:
        text = rendered_swagger(stack, nlb, user_pool_id, no_auth, vpc_link_id)
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"Wrote {out}", err=True)
    else:
        typer.echo(text)


# ---- status / teardown --------------------------------------------------------------------------

@app.command()
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Machine-readable output")) -> None:
    """Every recorded resource with its live state, and the stack's URLs."""
    with _stack(ctx) as stack:
        _print_status(stack, as_json)


def _print_status(stack, as_json: bool) -> None:
    from .steps.status import collect, show

    report = collect(stack)
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        show(report)


@app.command()
def teardown(
    ctx: typer.Context,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation"),
    purge_data: bool = typer.Option(False, "--purge-data", help="Also delete uploaded training data and model artifacts (and the bucket, if mysfits created it and it is then empty)"),
) -> None:
    """Delete everything the state records, and anything else carrying the stack's tag."""
    from .steps.teardown import teardown as run

    settings: Settings = ctx.obj
    if not yes:
        if not sys.stdin.isatty():
            raise MysfitsError("teardown deletes the whole stack: pass --yes to confirm when not running interactively")
        typer.confirm(f"Delete every resource of stack '{settings.stack}'?", abort=True)
    with _stack(ctx) as stack:
        failures = run(stack, purge_data)
    if failures:
        raise MysfitsError(
            f"{len(failures)} resource(s) could not be deleted and stay in the state; run `mysfits teardown` again"
        )
    typer.echo(f"Stack '{settings.stack}' is gone.")


# ---- local cloud ------------------------------------------------------------------------------

@local_app.command("start")
def local_start(
    ctx: typer.Context,
    port: Optional[int] = typer.Option(None, "--port", help="Port on 127.0.0.1; a free one when omitted"),
) -> None:
    """Start the local cloud in the background (seeded with the workshop's earlier modules)."""
    from .config import LOCAL_DEFAULT_REGION
    from .local import manager

    cloud = manager.start(port=port, region=ctx.obj.region or LOCAL_DEFAULT_REGION)
    typer.echo(f"Local cloud running at {cloud.url} (pid {cloud.pid}, region {cloud.region})")


@local_app.command("stop")
def local_stop() -> None:
    """Stop the local cloud (everything in it is forgotten)."""
    from .local import manager

    typer.echo("Local cloud stopped." if manager.stop() else "The local cloud was not running.")


@local_app.command("status")
def local_status() -> None:
    """Whether the local cloud is running, and where."""
    from .local import manager

    cloud = manager.status()
    if cloud is None:
        typer.echo("The local cloud is not running (`mysfits local start`, or any command with --local, starts it).")
        raise typer.Exit(1)
    typer.echo(f"Local cloud running at {cloud.url} (pid {cloud.pid}, region {cloud.region})")


# ---- recommendations service and website -------------------------------------------------------

@up_app.command("recommendations")
def up_recommendations(ctx: typer.Context) -> None:
    """The Lambda function over the deployed endpoint, and its REST API (POST /recommendations)."""
    from .steps.recommendations import curl_example, up_recommendations as run

    with _stack(ctx) as stack:
        url = run(stack)
    typer.echo(url)
    typer.echo(f"Try it:  {curl_example(url)}", err=True)


@up_app.command("web")
def up_web(
    ctx: typer.Context,
    bucket: Optional[str] = typer.Option(None, "--bucket", help="The website bucket; found by the stack's name or tag when omitted"),
    user_pool_client_id: Optional[str] = typer.Option(None, "--user-pool-client-id", help="The app client the page signs in with; default: MysfitsUserPoolClient, or the pool's only client"),
) -> None:
    """The site's index.html with both API URLs, uploaded to the website bucket."""
    from .steps.web import up_web as run

    with _stack(ctx) as stack:
        url = run(stack, bucket, user_pool_client_id)
    typer.echo(url)


@app.command()
def recommend(
    ctx: typer.Context,
    answers: Optional[list[int]] = typer.Argument(None, help="Five answers from 1 to 8; asked interactively when omitted"),
    direct: bool = typer.Option(False, "--direct", help="Ask the SageMaker endpoint directly instead of the API"),
) -> None:
    """Recommend a mysfit for questionnaire answers, e.g. `mysfits recommend 1 2 3 4 5`."""
    from .recommend import check_answers, via_api, via_endpoint

    answers = check_answers(list(answers) if answers else _ask_questionnaire())
    with _stack(ctx) as stack:
        if direct:
            from .steps.recommendations import deployed_endpoint

            mysfit = via_endpoint(stack.aws.client("sagemaker-runtime"), deployed_endpoint(stack), answers)
        else:
            base = stack.state.outputs.get("recommendations_api_url")
            if not base:
                raise MysfitsError("No recommendations API for this stack: run `mysfits up recommendations` (or use --direct)")
            mysfit = via_api(f"{base}/recommendations", answers)
    typer.echo(f"{mysfit['name']} the {mysfit['species']} ({mysfit['mysfitId']})")


def _ask_questionnaire() -> list[int]:
    from rich.prompt import IntPrompt

    from . import reference, ui

    if not sys.stdin.isatty():
        raise MysfitsError("Give the five answers as arguments, e.g. `mysfits recommend 1 2 3 4 5`")
    answers = []
    for question in reference.questions():
        ui.out.print(f"\n[bold]{question['text']}[/]")
        for option in question["options"]:
            ui.out.print(f"  {option['value']}. {option['text']}")
        choices = [str(option["value"]) for option in question["options"]]
        answers.append(IntPrompt.ask("Your answer", choices=choices, show_choices=False, console=ui.out))
    return answers


from .commands_ml import register as _register_ml; _register_ml(app, up_app, data_app)


@app.command()
def demo(
    ctx: typer.Context,
    rows: int = typer.Option(1_000_000, "--rows", min=1000, help="Rows of questionnaire data to generate and train on"),
    seed: int = typer.Option(42, "--seed", help="Seed of the data and the split"),
    keep: bool = typer.Option(False, "--keep", help="Leave everything running at the end instead of tearing it down"),
) -> None:
    """The whole flow on the local cloud: API, notebook, training, endpoint, recommendations, website."""
    from dataclasses import replace

    from . import ui
    from .runtime import open_stack
    from .steps.demo import DemoOptions, run_demo

    from .local import manager

    settings: Settings = ctx.obj
    if settings.endpoint_url:
        raise MysfitsError("The demo runs on the embedded local cloud: drop --endpoint-url")
    already_running = manager.status() is not None
    with open_stack(replace(settings, local=True)) as stack:
        timings = run_demo(stack, DemoOptions(rows=rows, seed=seed, keep=keep))
    ui.table("Time per step", ["step", "seconds"], [(title, f"{seconds:.1f}") for title, seconds in timings]
             + [("total", f"{sum(s for _, s in timings):.1f}")])
    if not keep and not already_running:
        manager.stop()
        ui.done("Stopped the local cloud the demo started")


def main() -> None:
    try:
        app()
    except MysfitsError as exc:
        _fail(str(exc), 1)
    except KeyboardInterrupt:
        _fail("Interrupted. Everything created so far is recorded: run the same command again to continue.", 130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
        from .failures import describe

        _fail(describe(exc), 1)


def _fail(message: str, code: int) -> None:
    typer.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
