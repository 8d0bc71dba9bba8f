"""The `mysfits` command line. Options and output only: AWS work lives in steps/ and resources/."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from . import __version__
from .commands.help import typer_app
from .commands.up import UpCommands
from .config import DEFAULT_STACK, Settings, check_endpoint_url, check_environment, env_first
from .errors import MysfitsError
from .local.settings import DEFAULT_TIME_SCALE

app = typer_app(
    help="Provision the Mythical Mysfits machine-learning recommendation module on AWS, or on a local cloud."
         "\n\nNew here? `mysfits demo` runs it all on a local cloud in a minute, with no AWS account.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
up_app = typer_app(cls=UpCommands, help="Bring up the whole stack, or one part of it (safe to run again).")
local_app = typer_app(help="The embedded local cloud (moto's server on 127.0.0.1).", no_args_is_help=True)
render_app = typer_app(help="Render a document without creating anything.", no_args_is_help=True)
data_app = typer_app(help="The questionnaire data set.", no_args_is_help=True)
app.add_typer(up_app, name="up")
app.add_typer(local_app, name="local")
app.add_typer(render_app, name="render")
app.add_typer(data_app, name="data")

STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
# The global options, as a user types them; those given on the command line are repeated in every hint.
GLOBAL_FLAGS = {"local": "--local", "endpoint_url": "--endpoint-url", "region": "--region", "profile": "--profile",
                "stack": "--stack", "state_file": "--state-file"}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mysfits {__version__}")
        raise typer.Exit()


def _endpoint_url(value: Optional[str]) -> Optional[str]:
    return check_endpoint_url(value) if value else value


@app.callback()
def main_options(
    ctx: typer.Context,
    region: Optional[str] = typer.Option(
        None, "--region", metavar="REGION",
        help="AWS region [env: AWS_REGION, then AWS_DEFAULT_REGION; else the profile's region; with --local: us-east-1]"),
    profile: Optional[str] = typer.Option(
        None, "--profile", envvar="AWS_PROFILE", metavar="NAME",
        help="AWS profile [default: boto3's chain; ignored with --local, which never uses your credentials]"),
    endpoint_url: Optional[str] = typer.Option(
        None, "--endpoint-url", envvar="MYSFITS_ENDPOINT_URL", metavar="URL", callback=_endpoint_url,
        help="Send every AWS call here (moto server, LocalStack), e.g. http://localhost:4566"),
    stack: str = typer.Option(
        DEFAULT_STACK, "--stack", envvar="MYSFITS_STACK", metavar="NAME",
        help="Stack name: prefix of every resource name, and its tag"),
    state_file: Optional[Path] = typer.Option(
        None, "--state-file", envvar="MYSFITS_STATE_FILE", metavar="FILE",
        help="Where mysfits records what it created [default: .mysfits/state.json in this folder; "
             "with --local: state.json in the local cloud's home]"),
    local: bool = typer.Option(False, "--local", help="Use the embedded local cloud (started when not running)"),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit"),
) -> None:
    from . import ui

    if not STACK_NAME.match(stack):
        raise MysfitsError(f"Invalid --stack '{stack}': use 1-20 lowercase letters, digits and hyphens, starting with a letter")
    if local and endpoint_url:
        raise MysfitsError("--local and --endpoint-url both choose where AWS calls go: pass only one")
    check_environment()
    ui.use_global_options(_typed_global_options(ctx, local))
    ctx.obj = Settings(
        region=region or env_first("AWS_REGION", "AWS_DEFAULT_REGION"),
        profile=None if local else profile,
        endpoint_url=endpoint_url,
        stack=stack,
        state_file=state_file,
        local=local,
    )


def _typed_global_options(ctx: typer.Context, local: bool) -> list[tuple[str, ...]]:
    """The global options given on the command line, as words to repeat in hints."""
    options = []
    for name, flag in GLOBAL_FLAGS.items():
        source = ctx.get_parameter_source(name)
        value = ctx.params.get(name)
        if source is None or source.name != "COMMANDLINE" or value in (None, False):
            continue
        if (name == "stack" and value == DEFAULT_STACK) or (name == "profile" and local):
            continue
        options.append((flag,) if value is True else (flag, shlex.quote(str(value))))
    return options


# ---- render -----------------------------------------------------------------------------------

@render_app.command("swagger")
def render_swagger(
    ctx: typer.Context,
    out: Optional[Path] = typer.Option(None, "--out", metavar="FILE", help="Write to this file instead of standard output"),
    nlb: Optional[str] = typer.Option(None, "--nlb", metavar="NLB", help="The backend's network load balancer (ARN or name)"),
    user_pool_id: Optional[str] = typer.Option(None, "--user-pool-id", metavar="ID", help="The Cognito user pool of the authorizer"),
    no_auth: bool = typer.Option(False, "--no-auth", help="Render like/adopt without the Cognito authorizer"),
    vpc_link_id: Optional[str] = typer.Option(None, "--vpc-link-id", metavar="ID", help="The VPC link [default: the stack's, if it exists]"),
) -> None:
    """Print the Mysfits API's OpenAPI document; creates nothing, and needs no AWS access (placeholders are named)."""
    from .failures import writing
    from .steps.render import rendered_swagger

    text, placeholders = rendered_swagger(ctx.obj, nlb, user_pool_id, no_auth, vpc_link_id)
    if out:
        with writing(out):
            out.write_text(text, encoding="utf-8")
        typer.echo(f"Wrote {out}", err=True)
    else:
        typer.echo(text)
    if placeholders:
        typer.echo(f"Placeholders left for what is not known here: {', '.join(placeholders)}", err=True)


# ---- local cloud ------------------------------------------------------------------------------

@local_app.command("start")
def local_start(
    ctx: typer.Context,
    port: Optional[int] = typer.Option(None, "--port", help="Port on 127.0.0.1; a free one when omitted"),
    strict: Optional[bool] = typer.Option(
        None, "--strict/--lenient",
        help="Play AWS's rules that moto does not (quotas, IAM propagation, ...) or only moto's \\[env: MYSFITS_LOCAL_MODE; default: strict]",
        show_default=False,
    ),
    latency: Optional[str] = typer.Option(
        None, "--latency", help="aws: resources take AWS-like (scaled) times; none: instant \\[env: MYSFITS_LOCAL_LATENCY; default: none]",
    ),
    time_scale: Optional[float] = typer.Option(
        None, "--time-scale", help=f"Real seconds per AWS second of every rule and transition \\[env: MYSFITS_LOCAL_TIME_SCALE; default: {DEFAULT_TIME_SCALE:g}]",
    ),
    codecommit: Optional[str] = typer.Option(
        None, "--codecommit", help="closed: refuse new repositories as AWS does on accounts that never had one \\[env: MYSFITS_LOCAL_CODECOMMIT; default: open]",
    ),
    endpoint_delay: Optional[float] = typer.Option(
        None, "--endpoint-delay", help="SageMaker endpoints answer after this many real seconds \\[env: MYSFITS_LOCAL_ENDPOINT_DELAY; default: 0]",
    ),
    account: Optional[str] = typer.Option(
        None, "--account", metavar="established|new",
        help="new: play a new AWS account, whose SageMaker quotas are 0 for the workshop's own instance types \\[env: MYSFITS_LOCAL_ACCOUNT; default: established]",
    ),
) -> None:
    """Start the local cloud in the background (seeded with the workshop's earlier modules)."""
    from .config import LOCAL_DEFAULT_REGION
    from .local import manager

    cloud = manager.start(
        port=port, region=ctx.obj.region or LOCAL_DEFAULT_REGION, strict=strict, latency=latency,
        time_scale=time_scale, codecommit=codecommit, endpoint_delay=endpoint_delay, account=account,
    )
    typer.echo(_describe_cloud(cloud))


def _describe_cloud(cloud) -> str:
    return f"Local cloud running at {cloud.url} (pid {cloud.pid}, region {cloud.region}; {cloud.settings.describe()})"


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
        pending = manager.starting()
        if pending is not None:
            typer.echo(f"The local cloud is starting at {pending.url} (pid {pending.pid}); it does not answer yet "
                       "(`mysfits local stop` stops it).")
        else:
            typer.echo("The local cloud is not running (`mysfits local start`, or any command with --local, starts it).")
        raise typer.Exit(1)
    typer.echo(_describe_cloud(cloud))


from .commands.demo import register as _register_demo  # noqa: E402 - the commands need `app` above
from .commands.ml import register as _register_ml  # noqa: E402
from .commands.status import register as _register_status  # noqa: E402
from .commands.up import register as _register_up  # noqa: E402

_register_up(app, up_app)
_register_ml(app, data_app)
_register_status(app)
_register_demo(app)


def main() -> None:
    from . import interrupts
    from .failures import debugging

    interrupts.install()
    try:
        app()
    except MysfitsError as exc:
        if debugging():
            import traceback

            traceback.print_exception(exc)
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        from . import ui

        ui.err.print()  # the terminal's ^C is not followed by a newline
        _fail("Interrupted. The state file records what was done: run the same command again to carry on.", 130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
        from .failures import describe

        _fail(describe(exc), 1)


def _fail(message: str, code: int) -> None:
    from . import ui

    ui.error(message)
    sys.exit(code)


if __name__ == "__main__":
    main()
