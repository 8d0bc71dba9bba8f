"""Lambda: the function, its log group, and the permission that lets one REST API invoke it."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from ..aws import describe_or_none
from ..engine import CREATING, Change, Context, Fix, Record, Resource, fix
from ..permissions import Permission, allow, pass_role
from .iam import retry_until_role_usable
from ..lambda_package import HANDLER, package_sha256

RUNTIME = "python3.13"
MEMORY_MB = 128
TIMEOUT_SECONDS = 30
LOG_RETENTION_DAYS = 14
LAMBDA = "lambda.amazonaws.com"


class LogGroup(Resource):
    """The function's log group, created up front so its retention is set and teardown removes it."""

    kind = "log-group"
    reads = ("logs:ListTagsForResource",)
    creates = ("logs:CreateLogGroup", "logs:TagResource", "logs:PutRetentionPolicy")
    fixes = {"retention": ("logs:PutRetentionPolicy",), "tags": ("logs:TagResource",)}

    def arn(self, ctx: Context) -> str:
        return ctx.aws.arn("logs", f"log-group:{self.name}:*")

    def permissions(self, ctx: Context, change: Change) -> list[Permission]:
        """Found by listing the region's log groups, which acts on them all."""
        return allow(["logs:DescribeLogGroups"], ctx.aws.arn("logs", "log-group:*")) + super().permissions(ctx, change)

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        group = _log_group(ctx, self.name)
        if group is None:
            return None
        return {"id": self.name, "arn": group["arn"], "name": self.name, "retention": group.get("retentionInDays")}

    def create(self, ctx: Context) -> Record:
        ctx.aws.client("logs").create_log_group(logGroupName=self.name, tags=ctx.settings.tags())
        return self.lookup(ctx, None) or {"id": self.name, "name": self.name}

    def drift(self, ctx: Context, record: Record) -> dict[str, Fix]:
        logs = ctx.aws.client("logs")
        fixes: dict[str, Fix] = {}
        if record.get("retention") != LOG_RETENTION_DAYS:
            def set_retention() -> Record:
                logs.put_retention_policy(logGroupName=self.name, retentionInDays=LOG_RETENTION_DAYS)
                return {"retention": LOG_RETENTION_DAYS}

            fixes["retention"] = set_retention
        arn = record["arn"].removesuffix(":*")
        if not ctx.settings.is_ours(logs.list_tags_for_resource(resourceArn=arn).get("tags")):
            fixes["tags"] = fix(logs.tag_resource, resourceArn=arn, tags=ctx.settings.tags())
        return fixes

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        ctx.aws.client("logs").delete_log_group(logGroupName=record["id"])
        return None

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        return "EXISTS" if _log_group(ctx, record["id"]) else None

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        name = f"/aws/lambda/{ctx.settings.name('recommendations')}"
        found = cls.status(ctx, {"id": name})
        return [{"id": name, "name": name, "kind": cls.kind}] if found else []


def _log_group(ctx: Context, name: str) -> dict[str, Any] | None:
    groups = ctx.aws.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return next((group for group in groups if group["logGroupName"] == name), None)


class Function(Resource):
    kind = "lambda-function"
    reads = ("lambda:GetFunction",)
    creates = ("lambda:CreateFunction", "lambda:TagResource")
    fixes = {"code": ("lambda:UpdateFunctionCode",), "configuration": ("lambda:UpdateFunctionConfiguration",)}

    def __init__(
        self, key: str, name: str, *, role_arn: str, package: bytes, environment: dict[str, str],
        description: str,
    ):
        super().__init__(key, name)
        self.role_arn = role_arn
        self.package = package
        self.environment = environment
        self.description = description

    def arn(self, ctx: Context) -> str:
        return function_arn(ctx, self.name)

    def permissions(self, ctx: Context, change: Change) -> list[Permission]:
        """Creating it, or setting its configuration (which names its role), passes the role to Lambda."""
        passes = change.action in CREATING or "configuration" in change.fields
        return super().permissions(ctx, change) + ([pass_role(self.role_arn, LAMBDA)] if passes else [])

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        config = _configuration(ctx, self.name)
        return None if config is None else _function_record(config)

    def create(self, ctx: Context) -> Record:
        client = ctx.aws.client("lambda")
        created = retry_until_role_usable(lambda: client.create_function(
            FunctionName=self.name,
            Runtime=RUNTIME,
            Role=self.role_arn,
            Handler=HANDLER,
            Code={"ZipFile": self.package},
            Description=self.description,
            Timeout=TIMEOUT_SECONDS,
            MemorySize=MEMORY_MB,
            Environment={"Variables": self.environment},
            Tags=ctx.settings.tags(),
        ))
        return _function_record(created)

    def wait(self, ctx: Context, record: Record) -> Record:
        _wait(ctx, "function_active_v2", record["id"])
        return record

    def drift(self, ctx: Context, record: Record) -> dict[str, Fix]:
        fixes: dict[str, Fix] = {}
        if record.get("code_sha256") != package_sha256(self.package):
            fixes["code"] = partial(self._update_code, ctx)
        if {k: record.get("config", {}).get(k) for k in self._wanted()} != self._wanted():
            fixes["configuration"] = partial(self._update_configuration, ctx)
        return fixes

    def _wanted(self) -> dict[str, Any]:
        return {
            "Runtime": RUNTIME, "Role": self.role_arn, "Handler": HANDLER, "Timeout": TIMEOUT_SECONDS,
            "MemorySize": MEMORY_MB, "Environment": self.environment, "Description": self.description,
        }

    def _update_code(self, ctx: Context) -> Record:
        client = ctx.aws.client("lambda")
        client.update_function_code(FunctionName=self.name, ZipFile=self.package)
        _wait(ctx, "function_updated_v2", self.name)
        return _function_record(client.get_function(FunctionName=self.name)["Configuration"])

    def _update_configuration(self, ctx: Context) -> Record:
        client = ctx.aws.client("lambda")
        wanted = {**self._wanted(), "Environment": {"Variables": self.environment}}
        retry_until_role_usable(lambda: client.update_function_configuration(FunctionName=self.name, **wanted))
        _wait(ctx, "function_updated_v2", self.name)
        return _function_record(client.get_function(FunctionName=self.name)["Configuration"])

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        ctx.aws.client("lambda").delete_function(FunctionName=record["id"])
        return None

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        config = _configuration(ctx, record["id"])
        return None if config is None else config.get("State", "Active")

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        name = ctx.settings.name("recommendations")
        found = cls.status(ctx, {"id": name})
        return [{"id": name, "name": name, "kind": cls.kind}] if found else []


def function_arn(ctx: Context, name: str) -> str:
    return ctx.aws.arn("lambda", f"function:{name}")


def _configuration(ctx: Context, name: str) -> dict[str, Any] | None:
    found = describe_or_none(ctx.aws.client("lambda").get_function, FunctionName=name)
    return None if found is None else found["Configuration"]


def _wait(ctx: Context, waiter: str, name: str) -> None:
    delay = max(1, int(ctx.settings.poll_seconds))
    ctx.aws.client("lambda").get_waiter(waiter).wait(
        FunctionName=name, WaiterConfig={"Delay": delay, "MaxAttempts": max(60, 300 // delay)}
    )


def _function_record(config: dict[str, Any]) -> Record:
    return {
        "id": config["FunctionName"],
        "name": config["FunctionName"],
        "arn": config["FunctionArn"],
        "code_sha256": config.get("CodeSha256"),
        "config": {
            "Runtime": config.get("Runtime"),
            "Role": config.get("Role"),
            "Handler": config.get("Handler"),
            "Timeout": config.get("Timeout"),
            "MemorySize": config.get("MemorySize"),
            "Environment": (config.get("Environment") or {}).get("Variables", {}),
            "Description": config.get("Description", ""),
        },
    }


class InvokePermission(Resource):
    """Lets API Gateway invoke the function, from one REST API's route only."""

    kind = "lambda-permission"
    record_fields = ("id", "function")
    reads = ("lambda:GetPolicy",)
    creates = ("lambda:AddPermission",)
    fixes = {"source": ("lambda:RemovePermission", "lambda:AddPermission")}

    def __init__(self, key: str, name: str, function_name: str, source_arn: str):
        super().__init__(key, name)
        self.function_name = function_name
        self.source_arn = source_arn

    def known_fields(self) -> Record:
        return {"id": self.name, "function": self.function_name}

    def arn(self, ctx: Context) -> str:
        return function_arn(ctx, self.function_name)

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        statement = _statement(ctx, self.function_name, self.name)
        if statement is None:
            return None
        source = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        return {"id": self.name, "name": self.name, "function": self.function_name, "source_arn": source}

    def create(self, ctx: Context) -> Record:
        ctx.aws.client("lambda").add_permission(
            FunctionName=self.function_name,
            StatementId=self.name,
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=self.source_arn,
        )
        return {"id": self.name, "name": self.name, "function": self.function_name, "source_arn": self.source_arn}

    def drift(self, ctx: Context, record: Record) -> dict[str, Fix]:
        if record.get("source_arn") == self.source_arn:
            return {}

        def replace_statement() -> Record:
            ctx.aws.client("lambda").remove_permission(FunctionName=self.function_name, StatementId=self.name)
            return self.create(ctx)

        return {"source": replace_statement}

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        ctx.aws.client("lambda").remove_permission(FunctionName=record["function"], StatementId=record["id"])
        return None

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        return "GRANTED" if _statement(ctx, record["function"], record["id"]) else None


def _statement(ctx: Context, function_name: str, sid: str) -> dict[str, Any] | None:
    found = describe_or_none(ctx.aws.client("lambda").get_policy, FunctionName=function_name)
    if found is None:
        return None
    policy = json.loads(found["Policy"])
    return next((s for s in policy.get("Statement", []) if s.get("Sid") == sid), None)
