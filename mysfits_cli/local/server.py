"""The local cloud's server: moto's server app behind the execute-api data plane.

    python -m mysfits_cli.local.server --port P [--region us-east-1] [--no-seed] [--cache-dir DIR]

Binds 127.0.0.1 only. Applies the moto fixes and the SageMaker emulation, serves,
seeds what the workshop's earlier modules built, then prints one line
`mysfits local cloud ready at http://127.0.0.1:P (region R, pid N)`.
GET /_mysfits/health answers {"ready": true, ...} once seeding is done (503 before).
SIGTERM or SIGINT stops it cleanly.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

HOST = "127.0.0.1"
HEALTH_PATH = "/_mysfits/health"  # '_' cannot start an S3 bucket name, so no request to moto is shadowed

# The emulator must never act on the caller's AWS profile or endpoint settings.
_CALLER_AWS_SETTINGS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE",
                        "AWS_SHARED_CREDENTIALS_FILE")


class Health:
    """WSGI middleware answering the health path; the rest goes to `app`."""

    def __init__(self, app: Callable, region: str):
        self.app = app
        self.region = region
        self.ready = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        if environ.get("PATH_INFO") != HEALTH_PATH:
            return self.app(environ, start_response)
        ready = self.ready.is_set()
        body = json.dumps({"ready": ready, "pid": os.getpid(), "region": self.region}).encode()
        start_response("200 OK" if ready else "503 Service Unavailable",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def build_app(region: str, endpoint_url: str, cache_dir: Path | None = None) -> Health:
    """moto's server app wrapped by the data plane and the health check."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from .dataplane import DataPlane

    moto_app = DomainDispatcherApplication(create_backend_app)
    return Health(DataPlane(moto_app, endpoint_url=endpoint_url, cache_dir=cache_dir), region)


def install_emulation() -> None:
    """The moto fixes and our SageMaker training/endpoint emulation."""
    from . import patches, site_emulation

    patches.apply()
    site_emulation.install()
    try:
        sagemaker = importlib.import_module("mysfits_cli.local.sagemaker")
    except ModuleNotFoundError as exc:
        if exc.name != "mysfits_cli.local.sagemaker":
            raise
        print("warning: mysfits_cli.local.sagemaker is not installed yet: training jobs and endpoints "
              "keep moto's canned behaviour", file=sys.stderr, flush=True)
        return
    sagemaker.install()


def _skip_default_amis() -> None:
    """moto's EC2 otherwise parses and loads thousands of AMIs (a second of start-up) nobody here uses."""
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    if "MOTO_AMIS_PATH" not in os.environ:
        path = Path(tempfile.gettempdir()) / "mysfits-local-no-amis.json"
        if not path.exists():
            staging = path.with_name(f"{path.name}.{os.getpid()}")
            staging.write_text("[]")
            os.replace(staging, path)
        os.environ["MOTO_AMIS_PATH"] = str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mysfits_cli.local.server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--no-seed", dest="seed", action="store_false")
    parser.add_argument("--cache-dir", type=Path, default=None, help="where Lambda packages are extracted")
    args = parser.parse_args(argv)

    for name in _CALLER_AWS_SETTINGS:
        os.environ.pop(name, None)
    os.environ["MOTO_PORT"] = str(args.port)  # as moto's own server: backends that call back use it
    _skip_default_amis()

    from werkzeug.serving import make_server

    install_emulation()
    url = f"http://{HOST}:{args.port}"
    app = build_app(args.region, url, args.cache_dir)
    try:
        server = make_server(HOST, args.port, app, threaded=True)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"error: port {args.port} on {HOST} is already in use: choose another port", file=sys.stderr)
            return 2
        raise

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, name="serve", daemon=True)
    serving.start()
    try:
        if args.seed:
            from .seed import seed

            seed(args.region, endpoint_url=url)
        app.ready.set()
        print(f"mysfits local cloud ready at {url} (region {args.region}, pid {os.getpid()})", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        serving.join(timeout=5)
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
