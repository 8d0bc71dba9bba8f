"""A fresh local-cloud server per test or module, in a subprocess on a free port.

    with start_server() as server:                       # strict, default time scale
        server.client("dynamodb").list_tables()
        subprocess.run(["mysfits", ...], env=server.env())
    with start_server(strict=False, latency="aws", time_scale=0.01) as server: ...

The settings are the server's (see mysfits_cli/local/settings.py): what is not given
comes from the MYSFITS_LOCAL_* environment, then the defaults.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mysfits_cli.local.manager import free_port
from mysfits_cli.local.server import CLOCK_PATH, HEALTH_PATH, HOST
from mysfits_cli.local.settings import CloudSettings

START_TIMEOUT_SECONDS = 60.0
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass
class ServerHandle:
    url: str
    port: int
    region: str
    settings: CloudSettings
    process: subprocess.Popen
    log_path: Path
    _workdir: tempfile.TemporaryDirectory = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def client(self, service: str, region: str | None = None, **config: Any) -> Any:
        """A boto3 client for this server, with fake credentials (`config`: botocore Config options)."""
        import boto3
        from botocore.config import Config

        return boto3.client(service, endpoint_url=self.url, region_name=region or self.region,
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=Config(**config) if config else None)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for a CLI subprocess that should talk to this server (via MYSFITS_ENDPOINT_URL)."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL")}
        env.update(FAKE_CREDENTIALS, AWS_REGION=self.region, AWS_DEFAULT_REGION=self.region,
                   MYSFITS_ENDPOINT_URL=self.url)
        env.update(extra)
        return env

    def advance(self, seconds: float) -> float:
        """Move the server's clock `seconds` AWS seconds on; its time afterwards."""
        request = urllib.request.Request(self.url + CLOCK_PATH, data=json.dumps({"advance": seconds}).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["now"]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._workdir.cleanup()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_server(seed: bool = True, region: str = "us-east-1", *, strict: bool | None = None,
                 time_scale: float | None = None, latency: str | None = None, codecommit: str | None = None,
                 endpoint_delay: float | None = None, account: str | None = None) -> ServerHandle:
    """Start `python -m mysfits_cli.local.server` and wait until it is ready (strict unless told otherwise)."""
    settings = CloudSettings.from_env(strict=strict, time_scale=time_scale, latency=latency,
                                      codecommit=codecommit, endpoint_delay=endpoint_delay, account=account)
    for _attempt in range(3):  # a free port can be taken between choosing and binding it
        handle = _launch(seed, region, settings)
        if _wait_ready(handle):
            return handle
        log = handle.log()
        handle.stop()
        if "already in use" not in log:
            raise RuntimeError(f"local cloud server did not start:\n{log}")
    raise RuntimeError("local cloud server found no free port")


def _launch(seed: bool, region: str, settings: CloudSettings) -> ServerHandle:
    port = free_port()
    workdir = tempfile.TemporaryDirectory(prefix="mysfits-server-")
    log_path = Path(workdir.name) / "server.log"
    command = [sys.executable, "-m", "mysfits_cli.local.server", "--port", str(port), "--region", region,
               "--cache-dir", str(Path(workdir.name) / "lambda-cache"), *settings.server_args()]
    if not seed:
        command.append("--no-seed")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return ServerHandle(f"http://{HOST}:{port}", port, region, settings, process, log_path, workdir)


def _wait_ready(handle: ServerHandle) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and handle.process.poll() is None:
        try:
            with urllib.request.urlopen(handle.url + HEALTH_PATH, timeout=1) as response:
                if json.loads(response.read()).get("ready"):
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.1)
    return False
