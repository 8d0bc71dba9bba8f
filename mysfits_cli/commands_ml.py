"""The machine-learning commands: up notebook, data generate, train, deploy-endpoint, evaluate.

Heavy imports (boto3, numpy) stay inside the command functions so `mysfits --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer, up_app: typer.Typer, data_app: typer.Typer) -> None:
    up_app.command("notebook")(up_notebook)
    data_app.command("generate")(data_generate)
    app.command("train")(train)
    app.command("deploy-endpoint")(deploy_endpoint)
    app.command("evaluate")(evaluate)


def up_notebook(
    ctx: typer.Context,
    instance_type: str = typer.Option("ml.t2.medium", "--instance-type", help="Notebook instance type"),
    bucket: Optional[str] = typer.Option(None, "--bucket", help="The data bucket the notebook role may use (default: sagemaker-<region>-<account>)"),
) -> None:
    """The SageMaker notebook instance, the role it runs as, and the CodeCommit repository for the service code."""
    from . import ui
    from .runtime import open_stack
    from .steps.notebook import presigned_jupyter_url, up_notebook as run

    with open_stack(ctx.obj) as stack:
        outputs = run(stack, instance_type, bucket)
        jupyter = presigned_jupyter_url(stack, stack.settings.name("notebook"))
    ui.table("Notebook", ["", "URL"], [
        ("Jupyter (sign-in link, valid for a few minutes)", jupyter or "not available from this endpoint"),
        ("SageMaker console", outputs["notebook_console_url"]),
        ("Repository (HTTPS)", outputs["repository_clone_url_http"]),
        ("Repository (SSH)", outputs["repository_clone_url_ssh"]),
    ])


def data_generate(
    rows: int = typer.Option(1_000_000, "--rows", min=1, help="Number of rows"),
    seed: int = typer.Option(42, "--seed", help="Random seed: the same seed gives the same rows"),
    out: Path = typer.Option(Path("data.csv"), "--out", help="CSV file to write (gzip-compressed if it ends .gz)"),
) -> None:
    """Write the questionnaire data set: five answers (1-8), then the favourite mysfit's label (0-11)."""
    from .ml import dataset

    data = dataset.generate(rows, seed)
    dataset.write_csv(data, out)
    typer.echo(f"Wrote {len(data):,} rows to {out}")
    typer.echo(f"Bayes-optimal accuracy (the best any model can do on this data): {dataset.bayes_optimal_accuracy():.6f}")


def train(
    ctx: typer.Context,
    data: Optional[Path] = typer.Option(None, "--data", help="Questionnaire CSV (a1,...,a5,label; .gz allowed); generated when omitted"),
    rows: int = typer.Option(1_000_000, "--rows", min=10, help="Rows to generate when --data is not given"),
    seed: int = typer.Option(42, "--seed", help="Seed of the generated data and of the 90/10 split"),
    bucket: Optional[str] = typer.Option(None, "--bucket", help="S3 bucket (default: sagemaker-<region>-<account>, created if missing)"),
    content_type: str = typer.Option("application/x-recordio-protobuf", "--content-type", help="application/x-recordio-protobuf or text/csv"),
    k: int = typer.Option(10, "--k", min=1, help="k-NN: neighbours that vote"),
    sample_size: int = typer.Option(100_000, "--sample-size", min=1, help="k-NN: training points kept in the index"),
    predictor_type: str = typer.Option("classifier", "--predictor-type", help="k-NN: classifier or regressor"),
    feature_dim: Optional[int] = typer.Option(None, "--feature-dim", min=1, help="k-NN: features per row (default: from the data)"),
    instance_type: str = typer.Option("ml.m5.2xlarge", "--instance-type", help="Training instance type"),
    instance_count: int = typer.Option(1, "--instance-count", min=1, help="Training instances (the training data is sharded over them)"),
    max_runtime: int = typer.Option(3600, "--max-runtime", min=60, help="Stop the job after this many seconds"),
    no_wait: bool = typer.Option(False, "--no-wait", help="Start the job and return; `mysfits status` shows its progress"),
    no_logs: bool = typer.Option(False, "--no-logs", help="Do not print the job's log lines while waiting"),
) -> None:
    """Split and encode the data, upload it to S3, and train SageMaker's built-in k-NN on it."""
    from .runtime import open_stack
    from .steps.train import TrainOptions, train as run

    options = TrainOptions(
        data=data, rows=rows, seed=seed, bucket=bucket, content_type=content_type, k=k, sample_size=sample_size,
        predictor_type=predictor_type, feature_dim=feature_dim, instance_type=instance_type,
        instance_count=instance_count, max_runtime=max_runtime, wait=not no_wait, logs=not no_logs,
    )
    with open_stack(ctx.obj) as stack:
        job = run(stack, options)
    if job["status"] == "Completed":
        typer.echo(f"Training job {job['id']} completed: {job['model_artifact']}")
    else:
        typer.echo(f"Training job {job['id']} is {job['status']}: follow it with `mysfits status`")


def deploy_endpoint(
    ctx: typer.Context,
    instance_type: str = typer.Option("ml.m4.xlarge", "--instance-type", help="Endpoint instance type"),
    instance_count: int = typer.Option(1, "--instance-count", min=1, help="Endpoint instances"),
    no_evaluate: bool = typer.Option(False, "--no-evaluate", help="Do not send the test split through the endpoint afterwards"),
    batches: int = typer.Option(100, "--batches", min=1, help="Requests the test split is sent in"),
) -> None:
    """Serve the latest completed training job's model on an endpoint (updated in place if one exists), then evaluate it."""
    from .runtime import open_stack
    from .steps.endpoint import deploy_endpoint as run, evaluate_endpoint, show_report

    with open_stack(ctx.obj) as stack:
        endpoint = run(stack, instance_type, instance_count)
        report = None if no_evaluate else evaluate_endpoint(stack, batches)
    if report is not None:
        show_report(report)
    typer.echo(endpoint["id"])


def evaluate(
    ctx: typer.Context,
    batches: int = typer.Option(100, "--batches", min=1, help="Requests the test split is sent in"),
) -> None:
    """Send the test split through the endpoint and report accuracy, latency and per-mysfit recall."""
    from .runtime import open_stack
    from .steps.endpoint import evaluate_endpoint, show_report

    with open_stack(ctx.obj) as stack:
        report = evaluate_endpoint(stack, batches)
    show_report(report)
