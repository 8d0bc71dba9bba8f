"""Bring parts of the stack up (or down) in-process, as the commands do, for unit tests."""

from __future__ import annotations

from mysfits_cli.engine import Context
from mysfits_cli.options import TrainOptions, UpOptions
from mysfits_cli.stack import up_or_raise
from mysfits_cli.steps.teardown import teardown


def up_api(ctx: Context, nlb: str | None = None, user_pool_id: str | None = None, no_auth: bool | None = None) -> str:
    up_or_raise(ctx, UpOptions(nlb=nlb, user_pool_id=user_pool_id, no_auth=no_auth), ["api"])
    return ctx.state.outputs["mysfits_api_url"] + "/mysfits"


def up_notebook(ctx: Context, instance_type: str | None = None, bucket: str | None = None, repository: bool = True) -> dict:
    up_or_raise(ctx, UpOptions(notebook_instance_type=instance_type, repository=repository,
                               train=TrainOptions(bucket=bucket)), ["notebook"])
    return dict(ctx.state.outputs)


def train(ctx: Context, opts: TrainOptions | None = None) -> dict:
    up_or_raise(ctx, UpOptions(train=opts or TrainOptions()), ["train"])
    return ctx.state.get("train.job")


def deploy_endpoint(ctx: Context, instance_type: str | None = None, instance_count: int | None = None,
                    evaluate: bool = False) -> dict:
    up_or_raise(ctx, UpOptions(endpoint_instance_type=instance_type, endpoint_instance_count=instance_count,
                               evaluate=evaluate), ["endpoint"])
    return ctx.state.get("endpoint.endpoint")


def up_recommendations(ctx: Context) -> str:
    up_or_raise(ctx, UpOptions(), ["recommendations"])
    return ctx.state.outputs["recommendations_api_url"] + "/recommendations"


def up_web(ctx: Context, bucket: str | None = None) -> str:
    up_or_raise(ctx, UpOptions(site_bucket=bucket), ["web"])
    return ctx.state.outputs["website_url"]


def destroy(ctx: Context, purge_data: bool = True) -> list[tuple[str, str]]:
    return teardown(ctx, purge_data=purge_data)


def destroy_keys(ctx: Context, keys: list[str]) -> None:
    """Delete some recorded resources, as teardown would (not found counts as deleted)."""
    from mysfits_cli.engine import delete_record

    for key in keys:
        delete_record(ctx, key, ctx.state.get(key))
