"""How the local cloud plays AWS: strict or lenient, how fast time runs, what it models.

| setting         | server flag                    | environment                    | default  |
|-----------------|--------------------------------|--------------------------------|----------|
| mode            | `--strict` / `--lenient`       | `MYSFITS_LOCAL_MODE`           | strict   |
| time scale      | `--time-scale F`               | `MYSFITS_LOCAL_TIME_SCALE`     | 0.0002   |
| latency model   | `--latency aws\\|none`          | `MYSFITS_LOCAL_LATENCY`        | none     |
| CodeCommit      | `--codecommit open\\|closed`    | `MYSFITS_LOCAL_CODECOMMIT`     | open     |
| endpoint delay  | `--endpoint-delay SECONDS`     | `MYSFITS_LOCAL_ENDPOINT_DELAY` | 0        |
| account         | `--account established\\|new`  | `MYSFITS_LOCAL_ACCOUNT`        | established |

Strict mode plays AWS's rules that moto does not (see `strict.py`); lenient mode is
moto plus our emulation only. Every duration of the strict rules and of the latency
model is in AWS seconds and lasts `time scale` times as long on the local clock: at
the default 0.0002 a 30-second quota window is 6 ms and a 10-minute notebook start
0.12 s, which keeps `mysfits demo` in strict mode within a few percent of lenient mode
(each status and refusal is still there for a client that looks at once; raise the
scale to give the rules more room). The endpoint delay is the one exception: it
is in real seconds, because what it exercises (the Lambda function's timeout and API
Gateway's 29-second integration cut) runs in real time. The account is whose SageMaker
quotas Service Quotas answers with (quotas.py): an established one, or a new one, whose applied
values are 0 for the workshop's own instance types.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

DEFAULT_TIME_SCALE = 0.0002
LATENCY_MODELS = ("none", "aws")
CODECOMMIT_ACCESS = ("open", "closed")
ACCOUNTS = ("established", "new")
MODES = ("strict", "lenient")

ENV_MODE = "MYSFITS_LOCAL_MODE"
ENV_TIME_SCALE = "MYSFITS_LOCAL_TIME_SCALE"
ENV_LATENCY = "MYSFITS_LOCAL_LATENCY"
ENV_CODECOMMIT = "MYSFITS_LOCAL_CODECOMMIT"
ENV_ENDPOINT_DELAY = "MYSFITS_LOCAL_ENDPOINT_DELAY"
ENV_ACCOUNT = "MYSFITS_LOCAL_ACCOUNT"


class SettingsError(ValueError):
    """A setting with a value the local cloud cannot use; the message names it."""


@dataclass(frozen=True)
class CloudSettings:
    strict: bool = True
    time_scale: float = DEFAULT_TIME_SCALE
    latency: str = "none"
    codecommit: str = "open"
    endpoint_delay: float = 0.0
    account: str = "established"

    def __post_init__(self) -> None:
        if not self.time_scale > 0:
            raise SettingsError(f"time scale must be greater than 0, not {self.time_scale}")
        if self.latency not in LATENCY_MODELS:
            raise SettingsError(f"latency must be one of {', '.join(LATENCY_MODELS)}, not {self.latency!r}")
        if self.codecommit not in CODECOMMIT_ACCESS:
            raise SettingsError(f"codecommit must be one of {', '.join(CODECOMMIT_ACCESS)}, not {self.codecommit!r}")
        if not self.endpoint_delay >= 0:
            raise SettingsError(f"endpoint delay must be 0 or more seconds, not {self.endpoint_delay}")
        if self.account not in ACCOUNTS:
            raise SettingsError(f"account must be one of {', '.join(ACCOUNTS)}, not {self.account!r}")

    @property
    def mode(self) -> str:
        return "strict" if self.strict else "lenient"

    @property
    def models_latency(self) -> bool:
        return self.latency == "aws"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> CloudSettings:
        """Defaults from the environment; `overrides` that are not None win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if env.get(ENV_MODE):
            values["strict"] = _choice(ENV_MODE, env[ENV_MODE], MODES) == "strict"
        if env.get(ENV_TIME_SCALE):
            values["time_scale"] = _number(ENV_TIME_SCALE, env[ENV_TIME_SCALE])
        if env.get(ENV_LATENCY):
            values["latency"] = _choice(ENV_LATENCY, env[ENV_LATENCY], LATENCY_MODELS)
        if env.get(ENV_CODECOMMIT):
            values["codecommit"] = _choice(ENV_CODECOMMIT, env[ENV_CODECOMMIT], CODECOMMIT_ACCESS)
        if env.get(ENV_ENDPOINT_DELAY):
            values["endpoint_delay"] = _number(ENV_ENDPOINT_DELAY, env[ENV_ENDPOINT_DELAY])
        if env.get(ENV_ACCOUNT):
            values["account"] = _choice(ENV_ACCOUNT, env[ENV_ACCOUNT], ACCOUNTS)
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)

    def server_args(self) -> list[str]:
        """The server's command-line flags for these settings."""
        return [
            "--strict" if self.strict else "--lenient",
            "--time-scale", repr(self.time_scale),
            "--latency", self.latency,
            "--codecommit", self.codecommit,
            "--endpoint-delay", repr(self.endpoint_delay),
            "--account", self.account,
        ]

    def describe(self) -> str:
        parts = [self.mode, f"time scale {self.time_scale:g}", f"latency {self.latency}"]
        if self.codecommit == "closed":
            parts.append("CodeCommit closed")
        if self.endpoint_delay:
            parts.append(f"endpoints answer after {self.endpoint_delay:g}s")
        if self.account == "new":
            parts.append("a new account")
        return ", ".join(parts)

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> CloudSettings:
        names = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in record.items() if key in names})


LENIENT = CloudSettings(strict=False)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    value = value.strip().lower()
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _number(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {value!r}") from None
