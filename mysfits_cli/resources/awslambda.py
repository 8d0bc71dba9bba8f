"""Lambda: the function, its log group, and the permission that lets one REST API invoke it."""

from __future__ import annotations

import json
from typing import Any, Callable

from ..aws import error_code
from ..engine import Context, Record, Resource
from ..lambda_package import HANDLER, package_sha256

RUNTIME = "python3.13"
MEMORY_MB = 128
TIMEOUT_SECONDS = 30
LOG_RETENTION_DAYS = 14


class LogGroup(Resource):
    """The function's log group, created up front so its retention is set and teardown removes it."""

    kind = "log-group"

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        groups = ctx.aws.client("logs").describe_log_groups(logGroupNamePrefix=self.name)["logGroups"]
        match = next((g for g in groups if g["logGroupName"] == self.name), None)
        return {"id": self.name, "arn": match["arn"], "name": self.name} if match else None

    def create(self, ctx: Context) -> Record:
        logs = ctx.aws.client("logs")
        logs.create_log_group(logGroupName=self.name, tags=ctx.settings.tags())
        logs.put_retention_policy(logGroupName=self.name, retentionInDays=LOG_RETENTION_DAYS)
        return self.lookup(ctx, None) or {"id": self.name, "name": self.name}

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        ctx.aws.client("logs").delete_log_group(logGroupName=record["id"])

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        groups = ctx.aws.client("logs").describe_log_groups(logGroupNamePrefix=record["id"])["logGroups"]
        return "EXISTS" if any(g["logGroupName"] == record["id"] for g in groups) else None

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        name = f"/aws/lambda/{ctx.settings.name('recommendations')}"
        found = cls.status(ctx, {"id": name})
        return [{"id": name, "name": name, "kind": cls.kind}] if found else []


class Function(Resource):
    kind = "lambda-function"

    def __init__(
        self, key: str, name: str, *, role_arn: str, package: bytes, environment: dict[str, str],
        description: str, create_retry: Callable[[Callable[[], Any]], Any],
    ):
        super().__init__(key, name)
        self.role_arn = role_arn
        self.package = package
        self.environment = environment
        self.description = description
        self.create_retry = create_retry

    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        client = ctx.aws.client("lambda")
        try:
            return _function_record(client.get_function(FunctionName=self.name)["Configuration"])
        except client.exceptions.ResourceNotFoundException:
            return None

    def create(self, ctx: Context) -> Record:
        client = ctx.aws.client("lambda")
        created = self.create_retry(lambda: client.create_function(
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

    def converge(self, ctx: Context, record: Record) -> Record | None:
        client = ctx.aws.client("lambda")
        changed = False
        if record.get("code_sha256") != package_sha256(self.package):
            client.update_function_code(FunctionName=self.name, ZipFile=self.package)
            _wait(ctx, "function_updated_v2", self.name)
            changed = True
        wanted = {
            "Runtime": RUNTIME, "Role": self.role_arn, "Handler": HANDLER, "Timeout": TIMEOUT_SECONDS,
            "MemorySize": MEMORY_MB, "Environment": self.environment, "Description": self.description,
        }
        if {k: record.get("config", {}).get(k) for k in wanted} != wanted:
            wanted["Environment"] = {"Variables": self.environment}
            self.create_retry(lambda: client.update_function_configuration(FunctionName=self.name, **wanted))
            _wait(ctx, "function_updated_v2", self.name)
            changed = True
        if not changed:
            return None
        return _function_record(client.get_function(FunctionName=self.name)["Configuration"])

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        ctx.aws.client("lambda").delete_function(FunctionName=record["id"])

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        client = ctx.aws.client("lambda")
        try:
            config = client.get_function(FunctionName=record["id"])["Configuration"]
        except client.exceptions.ResourceNotFoundException:
            return None
        return config.get("State", "Active")

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        name = ctx.settings.name("recommendations")
        found = cls.status(ctx, {"id": name})
        return [{"id": name, "name": name, "kind": cls.kind}] if found else []


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

    def __init__(self, key: str, name: str, function_name: str, source_arn: str):
        super().__init__(key, name)
        self.function_name = function_name
        self.source_arn = source_arn

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

    def converge(self, ctx: Context, record: Record) -> Record | None:
        if record.get("source_arn") == self.source_arn:
            return None
        ctx.aws.client("lambda").remove_permission(FunctionName=self.function_name, StatementId=self.name)
        return self.create(ctx)

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        ctx.aws.client("lambda").remove_permission(FunctionName=record["function"], StatementId=record["id"])

    @classmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        return "GRANTED" if _statement(ctx, record["function"], record["id"]) else None


def _statement(ctx: Context, function_name: str, sid: str) -> dict[str, Any] | None:
    client = ctx.aws.client("lambda")
    try:
        policy = json.loads(client.get_policy(FunctionName=function_name)["Policy"])
    except client.exceptions.ResourceNotFoundException:
        return None
    except Exception as exc:  # noqa: BLE001 - a function without a policy answers differently on emulators
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return next((s for s in policy.get("Statement", []) if s.get("Sid") == sid), None)
