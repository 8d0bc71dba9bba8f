"""The local cloud's emulation in-process (under `mock_aws`), on a clock that only moves when told.

    with local_cloud() as cloud:                   # strict; local_cloud(strict=False, latency="aws") ...
        role = cloud.client("iam").create_role(...)["Role"]["Arn"]
        cloud.clock.advance(10)                    # IAM has spread the role
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator

import boto3
from botocore.config import Config
from moto import mock_aws

from mysfits_cli.local import emulation
from mysfits_cli.local.clock import Clock
from mysfits_cli.local.settings import CloudSettings

FROZEN = 1e9  # real seconds per AWS second: time stands still until advanced
NO_RETRIES = Config(retries={"total_max_attempts": 1})


@dataclass
class Cloud:
    clock: Clock
    region: str

    def client(self, service: str, region: str | None = None) -> Any:
        """A client that reports the first answer, without botocore's retries."""
        return boto3.client(service, region_name=region or self.region, config=NO_RETRIES)


def open_cloud(region: str = "us-east-1", **settings: Any) -> Cloud:
    """Install the emulation with `settings` (strict by default) on a frozen clock; uninstall it afterwards."""
    clock = Clock(FROZEN)
    emulation.install(CloudSettings(time_scale=FROZEN, **settings), clock)
    return Cloud(clock, region)


@contextlib.contextmanager
def local_cloud(region: str = "us-east-1", **settings: Any) -> Iterator[Cloud]:
    """moto in-process with the local cloud's emulation (strict unless told otherwise) on a frozen clock."""
    with mock_aws():
        try:
            yield open_cloud(region, **settings)
        finally:
            emulation.uninstall()
