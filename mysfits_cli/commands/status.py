"""`mysfits status` and `mysfits teardown`: what the stack is and costs, and taking it all away."""

from __future__ import annotations

import json
import sys

import typer

from ..errors import MysfitsError

PRICE_SOURCES = ("table", "live")


def register(app: typer.Typer) -> None:
    app.command("status")(status)
    app.command("teardown")(teardown)


def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output (every output and ARN too, and the "
                                                       "forecast of what AWS would refuse of `mysfits up`)"),
    prices: str = typer.Option(
        "table", "--prices", metavar="table|live",
        help="table: the prices shipped with mysfits (no network call); live: refresh them from the AWS Price "
             "List API first (needs pricing:GetProducts; cached beside the state file)"),
) -> None:
    """Every recorded resource, its live state and what it costs; exits 1 when some are gone or cannot be read.

    Resources are grouped by part of the stack, with the URLs to open. Running SageMaker
    instances show their type, count, hourly price and the cost since they were created.
    """
    from ..runtime import open_stack
    from ..steps.status import collect, show

    if prices not in PRICE_SOURCES:
        raise MysfitsError(f"--prices is table or live, not '{prices}'")
    with open_stack(ctx.obj, read_only=True) as stack:
        report = collect(stack, live_prices=prices == "live")
        if as_json:
            report["forecast"] = _forecast(stack)
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        show(report)
    if report["missing"] or report["unreadable"]:
        raise typer.Exit(1)


def _forecast(stack) -> dict:
    """What AWS would refuse of `mysfits up` on this stack as it is recorded: the forecast `plan` shows."""
    from ..options import UpOptions
    from ..stack import forecast_for

    _, found = forecast_for(stack, UpOptions())
    return found.as_json(stack)


def teardown(
    ctx: typer.Context,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation"),
    purge_data: bool = typer.Option(
        False, "--purge-data",
        help="Also delete uploaded training data and model artifacts (and the bucket, if mysfits created it and it "
             "is then empty)"),
) -> None:
    """Delete everything the state records, and anything else carrying the stack's tag.

    It says first what it will delete, where, and what that stops costing per hour.
    """
    from .. import billing, ui
    from ..runtime import open_stack
    from ..steps.status import target
    from ..steps.teardown import targets, teardown as run

    settings = ctx.obj
    if not yes and not sys.stdin.isatty():
        raise MysfitsError("teardown deletes the whole stack: pass --yes to confirm when not running interactively")
    with open_stack(settings) as stack:
        found = targets(stack, purge_data)
        records = [t.record for items in found.values() for t in items]
        bill = billing.bill_for(stack, records)
        where = f"in {stack.aws.region}, account {stack.aws.account_id}, on {target(stack)}"
        if not records:
            _say(f"Stack '{stack.stack}' {where}: nothing to delete.")
        else:
            _say(f"Teardown deletes {len(records)} resource{'s' if len(records) > 1 else ''} of stack "
                 f"'{stack.stack}' {where}.")
            _say(_stops(bill))
            if not yes and not typer.confirm("Delete them?", default=False):
                ui.out.print("Teardown cancelled: nothing was deleted.", highlight=False)
                raise typer.Exit(1)
        failures = run(stack, purge_data, found)
    if failures:
        raise MysfitsError(
            f"{len(failures)} resource(s) could not be deleted and stay in the state; run `mysfits teardown` again"
        )
    ui.out.print(f"Stack '{settings.stack}' is gone.", highlight=False)


def _stops(bill) -> str:
    if not bill.usages:
        return "None of them bills by the hour."
    rate = bill.rate() if bill.known else "what they bill by the hour (price unknown)"
    stops = f"That stops {rate}: {bill.describe()}."
    return f"{stops} That is what AWS would charge; {bill.stand_in} bills nothing." if bill.stand_in else stops


def _say(paragraph: str) -> None:
    """A paragraph wrapped at spaces to the terminal's width."""
    from .. import layout, ui

    for line in layout.wrapped(paragraph, ui.out.width, 0):
        ui.out.print(line, highlight=False, markup=False)
