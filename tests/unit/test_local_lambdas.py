"""Lambda on the local cloud: the Invoke API and warm execution environments, under mock_aws."""

from __future__ import annotations

import base64
import io
import json
import os
import threading
import time
import zipfile

import pytest
from botocore.exceptions import ClientError

from mysfits_cli.local import lambdas
from tests.support.emulation import local_cloud

SOURCE = '''
import os, sys, time

INITS = int(os.environ.get("INITS", "0")) + 1   # module-level code: once per environment
CALLS = 0

def handler(event, context):
    global CALLS
    CALLS += 1
    print("event", event)
    if event.get("fail"):
        raise ValueError("bad input")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("exit"):
        sys.exit(3)
    if event.get("unserialisable"):
        return {1, 2}
    return {"pid": os.getpid(), "calls": CALLS, "greeting": os.environ.get("GREETING")}
'''
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}


def package(source: str = SOURCE, name: str = "app.py") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
    return buffer.getvalue()


@pytest.fixture
def cloud(tmp_path):
    with local_cloud(strict=False) as cloud:  # its end ends the environments too
        lambdas.configure(endpoint_url="http://127.0.0.1:1", cache_dir=tmp_path / "cache")
        yield cloud


@pytest.fixture
def lam(cloud):
    role = cloud.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    client = cloud.client("lambda")
    client.create_function(FunctionName="fn", Runtime="python3.12", Role=role, Handler="app.handler",
                           Code={"ZipFile": package()}, Timeout=1, Environment={"Variables": {"GREETING": "hi"}})
    return client


def call(lam, event=None, **kwargs):
    response = lam.invoke(FunctionName="fn", Payload=json.dumps(event or {}), **kwargs)
    return response, json.loads(response["Payload"].read() or b"null")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_invoke_answers_with_what_the_handler_returned(lam):
    response, payload = call(lam, {"x": 1})
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    assert payload["greeting"] == "hi"


def test_an_environment_is_reused_and_its_module_runs_once(lam):
    first = call(lam)[1]
    second = call(lam)[1]
    assert second["pid"] == first["pid"]
    assert (first["calls"], second["calls"]) == (1, 2)


def test_function_error_is_unhandled_with_the_runtime_payload(lam):
    response, payload = call(lam, {"fail": True})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError" and payload["errorMessage"] == "bad input"
    assert payload["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert any("raise ValueError" in frame for frame in payload["stackTrace"])
    assert call(lam)[1]["calls"] == 2  # an error the handler raised keeps the environment


def test_log_tail_is_the_invocation_log(lam):
    response, _ = call(lam, {"x": 7}, LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    lines = log.splitlines()
    assert lines[0].startswith("START RequestId: ") and "event {'x': 7}" in lines
    assert lines[-2].startswith("END RequestId: ")
    assert lines[-1].startswith("REPORT RequestId: ") and "Init Duration:" in lines[-1]
    again = base64.b64decode(call(lam, LogType="Tail")[0]["LogResult"]).decode()
    assert "Init Duration:" not in again  # a warm start has no init phase
    assert "LogResult" not in call(lam)[0]


def test_event_runs_later_and_dry_run_runs_nothing(lam, cloud):
    assert lam.invoke(FunctionName="fn", InvocationType="DryRun")["StatusCode"] == 204
    response = lam.invoke(FunctionName="fn", InvocationType="Event", Payload=b'{"async": true}')
    assert response["StatusCode"] == 202 and response["Payload"].read() == b""
    logs = cloud.client("logs")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName="/aws/lambda/fn")["events"]
        except logs.exceptions.ResourceNotFoundException:  # not written yet
            events = []
        if any("'async': True" in e["message"] for e in events):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the Event invocation never ran")
    assert call(lam)[1]["calls"] == 2  # the DryRun ran nothing


def _async_runs(cloud, marker: str) -> int:
    """How many times an Event invocation with `marker` in its payload has run so far (its log lines)."""
    logs = cloud.client("logs")
    try:
        events = logs.filter_log_events(logGroupName="/aws/lambda/fn")["events"]
    except logs.exceptions.ResourceNotFoundException:  # not written yet
        return 0
    return sum(1 for e in events if marker in e["message"] and e["message"].startswith("event "))


def _settled(cloud, marker: str, runs: int) -> int:
    """The count once it reaches `runs` (or after a second, when it does not)."""
    deadline = time.monotonic() + (10 if runs else 0.5)
    while time.monotonic() < deadline and _async_runs(cloud, marker) < runs:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more comes early
    return _async_runs(cloud, marker)


def test_a_failed_event_invocation_is_retried_after_a_minute_then_two(lam, cloud):
    lam.invoke(FunctionName="fn", InvocationType="Event", Payload=b'{"fail": true, "id": "retried"}')
    assert _settled(cloud, "retried", 1) == 1
    cloud.clock.advance(59)
    assert _settled(cloud, "retried", 0) == 1  # not before the minute
    cloud.clock.advance(1)
    assert _settled(cloud, "retried", 2) == 2
    cloud.clock.advance(119)
    assert _settled(cloud, "retried", 0) == 2
    cloud.clock.advance(1)
    assert _settled(cloud, "retried", 3) == 3
    cloud.clock.advance(3600)
    assert _settled(cloud, "retried", 0) == 3  # two retries, no more

    lam.put_function_event_invoke_config(FunctionName="fn", MaximumRetryAttempts=0)
    lam.invoke(FunctionName="fn", InvocationType="Event", Payload=b'{"fail": true, "id": "once"}')
    assert _settled(cloud, "once", 1) == 1
    cloud.clock.advance(600)
    assert _settled(cloud, "once", 0) == 1
    lam.invoke(FunctionName="fn", InvocationType="Event", Payload=b'{"id": "fine"}')
    assert _settled(cloud, "fine", 1) == 1  # a success is not run again


def test_payload_that_is_not_json_is_refused(lam):
    with pytest.raises(ClientError) as refused:
        lam.invoke(FunctionName="fn", Payload=b"{nope")
    assert refused.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_code_or_configuration_change_retires_environments(lam):
    before = call(lam)[1]["pid"]
    lam.update_function_configuration(FunctionName="fn", Environment={"Variables": {"GREETING": "hello"}})
    after_config = call(lam)[1]
    assert after_config["pid"] != before and after_config["greeting"] == "hello"
    assert not alive(before)
    lam.update_function_code(FunctionName="fn", ZipFile=package(SOURCE.replace("CALLS = 0", "CALLS = 100")))
    after_code = call(lam)[1]
    assert after_code["pid"] != after_config["pid"] and after_code["calls"] == 101


def test_timeout_ends_only_that_environment(lam):
    results = {}
    slow = threading.Thread(target=lambda: results.update(slow=call(lam, {"sleep": 3})))
    slow.start()
    time.sleep(0.5)
    quick = call(lam)[1]
    slow.join()
    response, payload = results["slow"]
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]
    assert call(lam)[1]["pid"] == quick["pid"]  # the other environment is still warm


def test_concurrent_invocations_get_more_environments_up_to_the_reserved_concurrency(lam, cloud):
    function = lambdas.find_function("fn", "123456789012", "us-east-1")
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(call(lam, {"sleep": 0.5})[1])) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({answer["pid"] for answer in answers}) == 3
    assert lambdas.environments().count(function) == 3

    lam.put_function_concurrency(FunctionName="fn", ReservedConcurrentExecutions=1)
    busy = threading.Thread(target=lambda: call(lam, {"sleep": 0.8}))
    busy.start()
    time.sleep(0.3)
    with pytest.raises(ClientError) as throttled:
        call(lam)
    busy.join()
    error = throttled.value.response
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_idle_environments_end(lam):
    shared = lambdas.environments()
    shared.idle_seconds = 0.2
    pid = call(lam)[1]["pid"]
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
    assert call(lam)[1]["pid"] != pid


def test_an_exit_or_an_unserialisable_result_is_the_runtime_error(lam):
    pid = call(lam)[1]["pid"]
    response, payload = call(lam, {"exit": True})
    assert response["FunctionError"] == "Unhandled" and payload["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in payload["errorMessage"]
    assert call(lam)[1]["pid"] != pid
    response, payload = call(lam, {"unserialisable": True})
    assert payload["errorType"] == "Runtime.MarshalError"


@pytest.mark.parametrize("handler, error_type", [("nothere.handler", "Runtime.ImportModuleError"),
                                                 ("app.missing", "Runtime.HandlerNotFound")])
def test_init_errors_are_the_runtime_errors(lam, handler, error_type):
    lam.update_function_configuration(FunctionName="fn", Handler=handler)
    response, payload = call(lam)
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == error_type


def test_closing_ends_every_environment(lam):
    pid = call(lam)[1]["pid"]
    lambdas.close()
    assert not alive(pid)
