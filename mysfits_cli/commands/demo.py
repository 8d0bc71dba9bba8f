"""`mysfits demo` (the whole module on the local cloud) and `mysfits recommend` (asking it)."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from ..errors import MysfitsError


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("recommend")(recommend)


def demo(
    ctx: typer.Context,
    rows: int = typer.Option(1_000_000, "--rows", min=1000, metavar="N", help="Rows of questionnaire data to generate and train on"),
    seed: int = typer.Option(42, "--seed", metavar="N", help="Seed of the data and the split"),
    keep: bool = typer.Option(False, "--keep", help="Leave everything running at the end, to try the URLs, the site and `mysfits --local recommend`"),
) -> None:
    """Start here: the whole module on a local cloud (no AWS account), asked for recommendations, then torn down.

    API, notebook, training, endpoint, recommendations service and site come up side by side on
    127.0.0.1; a few questionnaires are sent through the recommendations API; then everything is
    deleted again, unless --keep. It runs on a stack of its own, mysfits-demo: your stacks on the
    local cloud, and the page you published on its site, are left as they are.
    """
    from dataclasses import replace

    from .. import ui
    from ..local import manager
    from ..runtime import open_stack
    from ..steps.demo import DEMO_STACK, DemoOptions, run_demo
    from .up import resume_command

    settings = ctx.obj
    if settings.endpoint_url:
        raise MysfitsError("The demo runs on the embedded local cloud: drop --endpoint-url")
    for option in (("--local",), ("--stack", DEMO_STACK)):  # what the demo prints is about its stack
        ui.add_global_option(option)
    already_running = manager.status() is not None
    with open_stack(replace(settings, local=True, stack=DEMO_STACK)) as stack:
        run_demo(stack, DemoOptions(rows=rows, seed=seed, keep=keep, resume=resume_command()))
    if not keep and not already_running:
        manager.stop()
        ui.done("Stopped the local cloud the demo started")


def recommend(
    ctx: typer.Context,
    answers: Optional[list[int]] = typer.Argument(
        None, metavar="[A1 A2 A3 A4 A5]", help="Five answers from 1 to 8; asked interactively when omitted"),
    direct: bool = typer.Option(False, "--direct", help="Ask the SageMaker endpoint directly instead of the API"),
) -> None:
    """Recommend a mysfit for five questionnaire answers (asked one by one when not given).

    For example `mysfits recommend 1 2 3 4 5`, through the recommendations API, or --direct from the endpoint.
    Without arguments the answers are asked on a terminal, or read from standard input (`echo 1 2 3 4 5 | ...`).
    """
    from ..recommend import check_answers, via_api, via_endpoint
    from ..runtime import open_stack

    answers = check_answers(list(answers) if answers else _ask_questionnaire() if sys.stdin.isatty() else _read_answers())
    with open_stack(ctx.obj, read_only=True) as stack:
        if direct:
            from ..steps.recommendations import deployed_endpoint

            mysfit = via_endpoint(stack.aws.client("sagemaker-runtime"), deployed_endpoint(stack), answers)
        else:
            base = stack.state.outputs.get("recommendations_api_url")
            if not base:
                raise MysfitsError("No recommendations API for this stack: run `mysfits up recommendations` (or use --direct)")
            mysfit = via_api(f"{base}/recommendations", answers)
    typer.echo(f"{mysfit['name']} the {mysfit['species']} ({mysfit['mysfitId']})")


def _read_answers() -> list[int]:
    """The answers piped in: whole numbers separated by spaces, commas or lines."""
    words = sys.stdin.read().replace(",", " ").split()
    if not words:
        raise MysfitsError("No answers: give the five answers as arguments (`mysfits recommend 1 2 3 4 5`) or on "
                           "standard input; the questions are asked only on a terminal")
    bad = next((word for word in words if not word.isdigit()), None)
    if bad is not None:
        raise MysfitsError(f"Standard input holds {bad[:20]!r}, not an answer: give five whole numbers from 1 to 8, "
                           "as in `echo 1 2 3 4 5 | mysfits recommend`")
    return [int(word) for word in words]


def _ask_questionnaire() -> list[int]:
    from rich.prompt import IntPrompt

    from .. import reference, ui

    answers = []
    for question in reference.questions():
        ui.out.print(f"\n[bold]{question['text']}[/]")
        for option in question["options"]:
            ui.out.print(f"  {option['value']}. {option['text']}")
        choices = [str(option["value"]) for option in question["options"]]
        answers.append(IntPrompt.ask("Your answer", choices=choices, show_choices=False, console=ui.out))
    return answers
