"""The machine-learning commands: data generate, train, deploy-endpoint, evaluate.

Heavy imports (boto3, numpy) stay inside the command functions so `mysfits --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .up import run_parts


def register(app: typer.Typer, data_app: typer.Typer) -> None:
    data_app.command("generate")(data_generate)
    app.command("train")(train)
    app.command("deploy-endpoint")(deploy_endpoint)
    app.command("evaluate")(evaluate)


def data_generate(
    rows: int = typer.Option(1_000_000, "--rows", min=1, help="Number of rows"),
    seed: int = typer.Option(42, "--seed", help="Random seed: the same seed gives the same rows"),
    out: Path = typer.Option(Path("data.csv"), "--out", help="CSV file to write (gzip-compressed if it ends .gz)"),
) -> None:
    """Write the questionnaire data set: five answers (1-8), then the favourite mysfit's label (0-11)."""
    from ..failures import writing
    from ..ml import dataset

    data = dataset.generate(rows, seed)
    with writing(out):
        dataset.write_csv(data, out)
    typer.echo(f"Wrote {len(data):,} rows to {out}")
    typer.echo(f"Bayes-optimal accuracy (the best any model can do on this data): {dataset.bayes_optimal_accuracy():.6f}")


def train(
    ctx: typer.Context,
    data: Optional[Path] = typer.Option(None, "--data", help="Questionnaire CSV (a1,...,a5,label; .gz allowed) [default: generated]"),
    rows: Optional[int] = typer.Option(None, "--rows", min=10, help="Rows to generate when --data is not given [default: 1,000,000]"),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the generated data and of the 90/10 split [default: 42]"),
    bucket: Optional[str] = typer.Option(None, "--bucket", help="S3 bucket [default: sagemaker-<region>-<account>, created if missing]"),
    content_type: Optional[str] = typer.Option(None, "--content-type", help="application/x-recordio-protobuf (default) or text/csv"),
    k: Optional[int] = typer.Option(None, "--k", min=1, help="k-NN: neighbours that vote [default: 10]"),
    sample_size: Optional[int] = typer.Option(None, "--sample-size", min=1, help="k-NN: training points kept in the index [default: 100,000]"),
    predictor_type: Optional[str] = typer.Option(None, "--predictor-type", help="k-NN: classifier (default) or regressor"),
    feature_dim: Optional[int] = typer.Option(None, "--feature-dim", min=1, help="k-NN: features per row [default: from the data, 5]"),
    instance_type: Optional[str] = typer.Option(None, "--instance-type", help="Training instance type [default: ml.m5.2xlarge]"),
    instance_count: Optional[int] = typer.Option(None, "--instance-count", min=1, help="Training instances; the data is sharded over them [default: 1]"),
    max_runtime: Optional[int] = typer.Option(None, "--max-runtime", min=60, help="Stop the job after this many seconds [default: 3600]"),
    new: bool = typer.Option(False, "--new", help="Train again even when the data and settings are unchanged"),
    no_wait: bool = typer.Option(False, "--no-wait", help="Start the job and return; `mysfits status` shows its progress"),
    no_logs: bool = typer.Option(False, "--no-logs", help="Do not print the job's log lines while waiting"),
) -> None:
    """Split and encode the data, upload it to S3, and train SageMaker's built-in k-NN on it.

    Run again with the same data and settings, it follows the job already running (or done)
    instead of starting another; --new, or other data or settings, start a new one.
    """
    from ..options import TrainOptions, UpOptions

    options = UpOptions(train=TrainOptions(
        data=data, rows=rows, seed=seed, bucket=bucket, content_type=content_type, k=k, sample_size=sample_size,
        predictor_type=predictor_type, feature_dim=feature_dim, instance_type=instance_type,
        instance_count=instance_count, max_runtime=max_runtime, new=new, wait=not no_wait, logs=not no_logs,
    ))
    from .. import ui

    job = run_parts(ctx.obj, options, ["train"], after=lambda stack: stack.state.get("train.job"))
    if job["status"] == "Completed":
        ui.out.print(f"Training job {job['id']} completed: {job['model_artifact']}", highlight=False, markup=False)
    else:
        ui.out.print(f"Training job {job['id']} is {job['status']}: follow it with `mysfits status`, "
                     "or run `mysfits train` again to follow it here", highlight=False, markup=False)


def deploy_endpoint(
    ctx: typer.Context,
    instance_type: Optional[str] = typer.Option(None, "--instance-type", help="Endpoint instance type [default: ml.m4.xlarge, or the region's nearest]"),
    instance_count: Optional[int] = typer.Option(None, "--instance-count", min=1, help="Endpoint instances [default: 1]"),
    no_evaluate: bool = typer.Option(False, "--no-evaluate", help="Do not send the test split through the endpoint afterwards"),
    batches: int = typer.Option(100, "--batches", min=1, help="Requests the test split is sent in"),
) -> None:
    """Serve the latest training job's model on the endpoint (updated in place if there is one), then evaluate it.

    When the recommendations service is up, it is moved to the endpoint in the same run.
    """
    from ..options import UpOptions

    options = UpOptions(endpoint_instance_type=instance_type, endpoint_instance_count=instance_count,
                        evaluate=not no_evaluate, batches=batches)

    def parts(stack) -> list[str]:
        """The endpoint, and the recommendations service too when it is up: it moves along."""
        return ["endpoint", "recommendations"] if stack.state.get("recommendations.function") else ["endpoint"]

    name = run_parts(ctx.obj, options, parts, after=lambda stack: stack.state.outputs["endpoint_name"], billing=True)
    typer.echo(name)


def evaluate(
    ctx: typer.Context,
    batches: int = typer.Option(100, "--batches", min=1, help="Requests the test split is sent in"),
) -> None:
    """Send the test split through the endpoint and report accuracy, latency and per-mysfit recall."""
    from ..runtime import open_stack
    from ..steps.evaluation import evaluate_endpoint, show_report

    with open_stack(ctx.obj, read_only=True) as stack:
        report = evaluate_endpoint(stack, batches)
    show_report(report)
