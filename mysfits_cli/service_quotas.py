"""SageMaker's quotas for this account and region, found by name in Service Quotas.

A quota is found by its name (`ml.m4.xlarge for endpoint usage`), never by a code kept here:
its applied value (ListServiceQuotas), else, where the account has none, AWS's default value
(ListAWSDefaultServiceQuotas), marked as such. SageMaker has thousands of quotas over many
pages, so what was read is kept for CACHE_SECONDS in CACHE_FILE beside the state file, per
endpoint, account and region; it is written only when that folder exists (`plan` makes no
folder). A value that would stop a command is read again by its code first (`fresh`), so a
quota raised a minute ago is never refused from the cache. The embedded local cloud is not
cached: it answers in milliseconds, and can be restarted as another account on the same port.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Context

SERVICE_CODE = "sagemaker"
CACHE_FILE = "service-quotas.json"
CACHE_SECONDS = 600.0
APPLIED, DEFAULTS = "applied", "defaults"


@dataclass(frozen=True)
class Quota:
    name: str
    code: str
    value: float
    default: bool = False  # AWS's default value: no value is applied to this account

    @property
    def limit(self) -> int:
        return int(self.value)

    def describe(self) -> str:
        return f"AWS default {self.limit} (none applied)" if self.default else f"applied {self.limit}"


class ServiceQuotas:
    """SageMaker's quotas by name, read at most once per kind (applied, defaults) and command."""

    def __init__(self, ctx: "Context", now: float | None = None):
        self.ctx = ctx
        self.now = time.time() if now is None else now
        self.cache_path = ctx.state.path.parent / CACHE_FILE
        self.caching = not ctx.settings.local
        endpoint = ctx.settings.endpoint_url or "aws"
        self.scope = f"{endpoint} {ctx.aws.account_id} {ctx.aws.region}"
        self._tables: dict[str, dict[str, list[Any]]] = {}

    def find(self, name: str) -> Quota | None:
        """The quota named `name`: its applied value, else AWS's default; None when Service Quotas has no such quota."""
        for kind in (APPLIED, DEFAULTS):
            found = self._table(kind).get(name)
            if found is not None:
                return Quota(name, found[0], float(found[1]), default=kind == DEFAULTS)
        return None

    def fresh(self, quota: Quota) -> Quota:
        """The quota read again by its code, now (and kept for the next commands)."""
        client = self.ctx.aws.client("service-quotas")
        read = client.get_aws_default_service_quota if quota.default else client.get_service_quota
        answer = read(ServiceCode=SERVICE_CODE, QuotaCode=quota.code)["Quota"]
        kind = DEFAULTS if quota.default else APPLIED
        self._table(kind)[quota.name] = [quota.code, answer["Value"]]
        self._save(kind)
        return Quota(quota.name, quota.code, float(answer["Value"]), quota.default)

    def _table(self, kind: str) -> dict[str, list[Any]]:
        if kind not in self._tables:
            cached = self._cached(kind)
            self._tables[kind] = cached if cached is not None else self._read(kind)
            if cached is None:
                self._save(kind)
        return self._tables[kind]

    def _read(self, kind: str) -> dict[str, list[Any]]:
        operation = "list_service_quotas" if kind == APPLIED else "list_aws_default_service_quotas"
        pages = self.ctx.aws.client("service-quotas").get_paginator(operation).paginate(
            ServiceCode=SERVICE_CODE, PaginationConfig={"PageSize": 100})
        return {quota["QuotaName"]: [quota["QuotaCode"], quota["Value"]] for page in pages for quota in page["Quotas"]}

    def _cached(self, kind: str) -> dict[str, list[Any]] | None:
        if not self.caching:
            return None
        entry = _load(self.cache_path).get(self.scope, {}).get(kind)
        if not entry or not 0 <= self.now - entry.get("read_at", 0) < CACHE_SECONDS:
            return None
        return entry.get("quotas")

    def _save(self, kind: str) -> None:
        """Kept beside the state file, when its folder exists; a cache that cannot be written is no loss."""
        folder = self.cache_path.parent
        if not self.caching or not folder.is_dir():
            return
        data = _load(self.cache_path)
        data.setdefault(self.scope, {})[kind] = {"read_at": self.now, "quotas": self._tables[kind]}
        temporary = self.cache_path.with_name(f".{CACHE_FILE}.{os.getpid()}")
        try:
            temporary.write_text(json.dumps(data))
            os.replace(temporary, self.cache_path)
        except OSError:
            temporary.unlink(missing_ok=True)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
