"""The one place that makes boto3 sessions and clients."""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import socket
import threading
from functools import cached_property
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

import boto3
import botocore.exceptions
import botocore.loaders
import botocore.regions
import botocore.session
from botocore.config import Config
from botocore.configprovider import ConfigChainFactory, ConstantProvider

from . import __version__
from .config import Settings
from .errors import MysfitsError

T = TypeVar("T")


# Every call, to AWS or to an AWS-compatible endpoint (which throttles too), gets the same
# budget: botocore's standard mode backs off on throttling and transient errors.
# `total_max_attempts` counts attempts; `max_attempts` would count retries.
TOTAL_ATTEMPTS = 8
# A custom endpoint's first answer (the caller's identity) is waited for this long per attempt, over
# FIRST_ANSWER_ATTEMPTS attempts, saying so after FIRST_ANSWER_NOTICE seconds: a server that takes the
# connection and never answers would otherwise hold a command for botocore's whole budget (a 70 s read
# timeout over eight attempts: about nine minutes) without a word.
FIRST_ANSWER_TIMEOUT = 10.0
FIRST_ANSWER_ATTEMPTS = 3
FIRST_ANSWER_NOTICE = 3.0
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _client_config(loopback: bool, attempts: int = TOTAL_ATTEMPTS, read_timeout: float = 70) -> Config:
    """A server on this machine answers a connection at once or not at all: a short connect timeout."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        user_agent_extra=f"mysfits/{__version__}",
        connect_timeout=2 if loopback else 10,
        read_timeout=read_timeout,
    )


def _refuse_web_pages(endpoint: str) -> Callable[..., None]:
    """A before-parse handler: an answer that is a web page (a proxy, a web server at --endpoint-url) is one line
    saying so, not a parser's dump. Streamed bodies (an S3 object, an endpoint's answer) may be anything; a 5xx page
    is left to botocore's retries."""

    def check(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        if operation_model.has_streaming_output or response_dict.get("status_code", 0) >= 500:
            return
        body = response_dict.get("body")
        # told by the body, not the Content-Type header: some AWS stand-ins label their XML and JSON text/html
        if not isinstance(body, bytes) or not body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
            return
        title = _TITLE.search(body)
        page = f" (\"{' '.join(title.group(1).decode('utf-8', 'replace').split())[:60]}\")" if title else ""
        raise MysfitsError(f"{endpoint} answered {operation_model.name} with a web page{page}: it is not an AWS "
                           "endpoint; check --endpoint-url")

    return check


def _is_loopback(url: str | None) -> bool:
    host = urlsplit(url).hostname if url else None
    return host in {"localhost", "127.0.0.1", "::1"}


def check_reachable(url: str) -> None:
    """One connection to a custom endpoint before any call, so a server that is not there is one quick error."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=2 if _is_loopback(url) else 10).close()
    except OSError as exc:
        raise MysfitsError(
            f"Cannot reach {url} ({exc.strerror or exc}): check --endpoint-url, or that the server is running"
        ) from exc


class _ModelFiles(botocore.loaders.JSONFileLoader):
    """botocore's data files decoded into plain dicts, which keep their order as OrderedDicts do: twice as fast
    to decode (the SageMaker model alone takes 15 ms as OrderedDicts, 7 ms as dicts)."""

    def load_file(self, file_path: str) -> Any:
        for suffix, opener in ((".json", open), (".json.gz", gzip.open)):
            if os.path.isfile(file_path + suffix):
                with opener(file_path + suffix, "rb") as handle:
                    return json.loads(handle.read().decode("utf-8"))
        return None


@functools.cache
def _loader() -> botocore.loaders.Loader:
    """One loader for every session: each service model and the endpoints file are parsed once per process."""
    return botocore.loaders.Loader(file_loader=_ModelFiles())


@functools.cache
def known_regions() -> frozenset[str]:
    resolver = botocore.regions.EndpointResolver(_loader().load_data("endpoints"))
    return frozenset(
        region for partition in resolver.get_available_partitions()
        for region in resolver.get_available_endpoints("sts", partition)
    )


def check_region(region: str) -> str:
    """The region, if AWS has it; else the one-line error (no network call)."""
    if region not in known_regions():
        raise MysfitsError(f"Unknown AWS region '{region}': pass --region (or AWS_REGION) with a region such as us-east-1")
    return region


def _session(sealed: bool, **kwargs: Any) -> boto3.Session:
    """A boto3 session on the process's shared loader.

    `sealed`: it reads nothing from the environment or the AWS config and credentials files
    (profiles, keys, endpoints, config file paths), so an emulator never sees the user's settings.
    """
    core = botocore.session.Session()
    core.register_component("data_loader", _loader())
    if sealed:
        store, chains = core.get_component("config_store"), ConfigChainFactory(session=core, environ={})
        for name, (_config, _env, default, convert) in core.session_var_map.items():
            # what is set on the session itself (the region), else the default: no environment, no config file
            store.set_config_provider(name, chains.create_config_chain(
                instance_name=name, default=default, conversion_func=convert))
        for name in ("config_file", "credentials_file"):
            store.set_config_provider(name, ConstantProvider(os.devnull))
    session = boto3.Session(botocore_session=core, **kwargs)
    paths = _loader().search_paths  # each boto3 session appends its data folder to the shared loader
    paths[:] = list(dict.fromkeys(paths))
    return session


def has_aws_access(settings: Settings) -> bool:
    """Whether a region and credentials are at hand (or the calls go to an emulator), without a network call."""
    if settings.local or settings.endpoint_url:
        return True
    try:
        session = _session(False, profile_name=settings.profile, region_name=settings.region)
    except botocore.exceptions.ProfileNotFound:
        return False
    return bool(session.region_name) and session.get_credentials() is not None


class Aws:
    """boto3 clients for one account and region, all sent to the same endpoint URL."""

    def __init__(self, settings: Settings):
        self.settings = settings
        try:
            if settings.local:
                # The local cloud never sees real credentials, nor any profile or AWS setting of the environment.
                self.session = _session(True, aws_access_key_id="testing", aws_secret_access_key="testing",
                                        region_name=settings.region)
            else:
                self.session = _session(False, profile_name=settings.profile, region_name=settings.region)
            self.region = self._resolve_region()
            credentials = self.session.get_credentials()
        except botocore.exceptions.ProfileNotFound as exc:
            profile = exc.kwargs.get("profile") or settings.profile
            raise MysfitsError(
                f"AWS profile '{profile}' not found: check --profile / AWS_PROFILE, "
                f"run `aws configure --profile {profile}`, or try it locally with --local"
            ) from exc
        if credentials is None:
            raise MysfitsError(
                "No AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
                "run `aws configure`, or try it locally with --local"
            )
        if settings.endpoint_url:
            check_reachable(settings.endpoint_url)
        self.session.events.register("before-parse", _refuse_web_pages(settings.endpoint_url or "The AWS endpoint"))
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()  # a boto3 session may not make clients from several threads at once

    def _resolve_region(self) -> str:
        region = self.session.region_name
        if not region:
            raise MysfitsError(
                "No AWS region set: pass --region, set AWS_REGION, or set a region in your AWS profile "
                "(or try it locally with --local)"
            )
        return check_region(region)

    def client(self, service: str, attempts: int = TOTAL_ATTEMPTS):
        """The service's client; `attempts=1` for a caller that paces a quota itself, where botocore's
        silent back-off would hide the wait."""
        key = service if attempts == TOTAL_ATTEMPTS else f"{service}/{attempts}"
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.session.client(
                    service, endpoint_url=self.settings.endpoint_url,
                    config=_client_config(_is_loopback(self.settings.endpoint_url), attempts),
                )
            return self._clients[key]

    @cached_property
    def identity(self) -> dict[str, Any]:
        """Who the calls are made as (STS GetCallerIdentity: Account, Arn, UserId): the first call a command
        makes, so a custom endpoint's first answer."""
        if not self.settings.endpoint_url:
            return self.client("sts").get_caller_identity()
        return self._first_answer(self.settings.endpoint_url)

    @cached_property
    def account_id(self) -> str:
        return self.identity["Account"]

    def _first_answer(self, url: str) -> dict[str, Any]:
        """GetCallerIdentity from a custom endpoint, within a bounded wait that is said once it lasts."""
        from . import ui

        with self._lock:
            client = self.session.client("sts", endpoint_url=url, config=_client_config(
                _is_loopback(url), FIRST_ANSWER_ATTEMPTS, FIRST_ANSWER_TIMEOUT))
        bound = FIRST_ANSWER_TIMEOUT * FIRST_ANSWER_ATTEMPTS
        notice = threading.Timer(FIRST_ANSWER_NOTICE, ui.step, [
            f"Waiting for {url} to answer: it took the connection, but has not said anything yet "
            f"(giving up after {bound:.0f} s)"])
        notice.daemon = True
        notice.start()
        try:
            return client.get_caller_identity()
        except botocore.exceptions.ReadTimeoutError as exc:
            raise MysfitsError(f"{url} took the connection but did not answer in {bound:.0f} s: check --endpoint-url "
                               "(is it an AWS endpoint, and is it running well?)") from exc
        finally:
            notice.cancel()

    @cached_property
    def partition(self) -> str:
        return self.session.get_partition_for_region(self.region)

    @property
    def url_suffix(self) -> str:
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account_id if account else ''}:{resource}"
        )


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")


def error_message(exc: Exception) -> str:
    """AWS's message of a ClientError on one line (the exception's text otherwise)."""
    response = getattr(exc, "response", None) or {}
    message = response.get("Error", {}).get("Message") or str(exc)
    return " ".join(str(message).split())


def retry_after(exc: Exception, default: float) -> float:
    """Seconds AWS asked to wait (the Retry-After header), else `default`."""
    headers = ((getattr(exc, "response", None) or {}).get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    try:
        return max(0.0, float(headers.get("retry-after", default)))
    except (TypeError, ValueError):
        return default


_NOT_FOUND_CODES = {
    "NotFoundException", "NoSuchEntity", "ResourceNotFoundException", "NoSuchBucket",
    "RepositoryDoesNotExistException", "ResourceNotFound", "404", "NotFound", "NoSuchKey",
}
# SageMaker says "not found" as a ValidationException; notebook instances say "RecordNotFound".
_NOT_FOUND_VALIDATION_MESSAGES = ("not found", "does not exist", "could not find", "recordnotfound")


def is_not_found(exc: Exception) -> bool:
    """Whether AWS answered that the thing asked about does not exist."""
    code = error_code(exc)
    if code == "ValidationException":
        message = str(exc).lower()
        return any(fragment in message for fragment in _NOT_FOUND_VALIDATION_MESSAGES)
    return code in _NOT_FOUND_CODES


def describe_or_none(call: Callable[..., T], **kwargs: Any) -> T | None:
    """`call(**kwargs)`, or None when AWS says the thing does not exist."""
    try:
        return call(**kwargs)
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise
