"""The local cloud's server: moto's server app behind the execute-api data plane.

    python -m mysfits_cli.local.server --port P [--region us-east-1] [--no-seed] [--cache-dir DIR]
        [--strict | --lenient] [--time-scale F] [--latency aws|none] [--codecommit open|closed]
        [--endpoint-delay SECONDS] [--account established|new]

Binds 127.0.0.1 only. Installs the emulation (moto fixes, SageMaker, and as the settings
say the strict rules and the latency model; see settings.py for the flags, their
environment variables and defaults), serves, seeds what the workshop's earlier modules
built, then prints one line
`mysfits local cloud ready at http://127.0.0.1:P (region R, <settings>, pid N)`.
GET /_mysfits/health answers {"ready": true, "settings": {...}, ...} once seeding is
done (503 before); POST /_mysfits/clock {"advance": seconds} moves the clock on (for
tests). SIGTERM or SIGINT stops it cleanly, ending the functions' execution environments with it.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from .settings import ACCOUNTS, CODECOMMIT_ACCESS, DEFAULT_TIME_SCALE, LATENCY_MODELS, CloudSettings, SettingsError

HOST = "127.0.0.1"
HEALTH_PATH = "/_mysfits/health"  # '_' cannot start an S3 bucket name, so no request to moto is shadowed
CLOCK_PATH = "/_mysfits/clock"

# The emulator must never act on the caller's AWS profile or endpoint settings.
_CALLER_AWS_SETTINGS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE",
                        "AWS_SHARED_CREDENTIALS_FILE")


class Health:
    """WSGI middleware answering the health path; the rest goes to `app`."""

    def __init__(self, app: Callable, region: str, settings: dict[str, Any] | None = None):
        self.app = app
        self.region = region
        self.settings = settings or {}
        self.ready = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        if environ.get("PATH_INFO") != HEALTH_PATH:
            return self.app(environ, start_response)
        ready = self.ready.is_set()
        return _json(start_response, "200 OK" if ready else "503 Service Unavailable",
                     {"ready": ready, "pid": os.getpid(), "region": self.region, "settings": self.settings})


class ClockControl:
    """WSGI middleware: POST {"advance": seconds} to the clock path moves the local cloud's clock on.

    For tests, like moto's own /moto-api: they run the server with a huge time scale, so
    time stands still, and cross each window of the strict rules or the latency model
    exactly when they mean to. No AWS client ever calls it.
    """

    def __init__(self, app: Callable):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        if environ.get("PATH_INFO") != CLOCK_PATH:
            return self.app(environ, start_response)
        from . import context

        clock = context.current().clock
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            seconds = float(json.loads(environ["wsgi.input"].read(length) or b"{}").get("advance", 0))
            if environ.get("REQUEST_METHOD") != "POST" or seconds < 0:
                raise ValueError("POST {\"advance\": seconds} with seconds >= 0")
        except (ValueError, TypeError, AttributeError) as exc:
            return _json(start_response, "400 Bad Request", {"message": str(exc)})
        clock.advance(seconds)
        return _json(start_response, "200 OK", {"now": clock.now()})


def _json(start_response: Callable, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def build_app(region: str, endpoint_url: str, cache_dir: Path | None = None,
              settings: CloudSettings | None = None) -> Health:
    """moto's server app wrapped by the data plane and the health check."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from .dataplane import DataPlane

    moto_app = DomainDispatcherApplication(create_backend_app)
    record = settings.to_record() if settings is not None else None
    return Health(ClockControl(DataPlane(moto_app, endpoint_url=endpoint_url, cache_dir=cache_dir)), region, record)


def parse_settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> CloudSettings:
    """The flags given, over the MYSFITS_LOCAL_* environment, over the defaults."""
    try:
        return CloudSettings.from_env(
            strict=args.strict, time_scale=args.time_scale, latency=args.latency,
            codecommit=args.codecommit, endpoint_delay=args.endpoint_delay, account=args.account,
        )
    except SettingsError as exc:
        parser.error(str(exc))
        raise  # parser.error exits; this keeps type checkers informed


def _add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--strict", dest="strict", action="store_true", default=None,
                      help="play AWS's rules that moto does not (the default)")
    mode.add_argument("--lenient", dest="strict", action="store_false", help="moto and our emulation only")
    parser.add_argument("--time-scale", type=float, default=None,
                        help=f"real seconds per AWS second of every rule and transition (default {DEFAULT_TIME_SCALE:g})")
    parser.add_argument("--latency", choices=LATENCY_MODELS, default=None,
                        help="aws: resources take AWS-like times (scaled); none: moto's instant transitions (default)")
    parser.add_argument("--codecommit", choices=CODECOMMIT_ACCESS, default=None,
                        help="closed: CreateRepository is refused as on accounts that never had a repository")
    parser.add_argument("--endpoint-delay", type=float, default=None,
                        help="InvokeEndpoint answers after this many real seconds (default 0)")
    parser.add_argument("--account", choices=ACCOUNTS, default=None,
                        help="new: Service Quotas answers with a new account's SageMaker quotas (default: established)")


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
    _add_settings_arguments(parser)
    args = parser.parse_args(argv)
    settings = parse_settings(parser, args)

    for name in _CALLER_AWS_SETTINGS:
        os.environ.pop(name, None)
    os.environ["MOTO_PORT"] = str(args.port)  # as moto's own server: backends that call back use it
    _skip_default_amis()

    import logging

    from werkzeug.serving import make_server

    # One line per request would grow the log without end; what matters (readiness, confirmation
    # codes, failures) is printed by the local cloud itself.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from . import emulation

    emulation.install(settings)
    url = f"http://{HOST}:{args.port}"
    app = build_app(args.region, url, args.cache_dir, settings)
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
        print(f"mysfits local cloud ready at {url} (region {args.region}, {settings.describe()}, pid {os.getpid()})",
              flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        serving.join(timeout=5)
        server.server_close()
        from . import lambdas

        lambdas.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
