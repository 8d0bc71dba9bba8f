"""The recommendations Lambda handler, with its SageMaker runtime client replaced by a fake."""

import base64
import io
import json
import socket
import threading
from importlib import resources

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mysfits_cli.templates.recommendations import recommendations

MYSFITS = json.loads(resources.files("mysfits_cli.data").joinpath("mysfits.json").read_text())
ID_BY_LABEL = {m["label"]: m["mysfitId"] for m in MYSFITS["mysfits"]}
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Allow-Methods": "OPTIONS,POST",
}


class FakeRuntime:
    """Records invoke_endpoint calls; answers with a canned body or raises."""

    def __init__(self, body=b'{"predictions":[{"predicted_label": 3.0}]}', error=None):
        self.body = body
        self.error = error
        self.calls = []

    def invoke_endpoint(self, **kwargs):
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        return {"Body": io.BytesIO(self.body), "ContentType": "application/json"}


@pytest.fixture(autouse=True)
def handler_env(monkeypatch):
    monkeypatch.setenv("ENDPOINT_NAME", "knn-ml-m4-xlarge-test")
    monkeypatch.delenv("CONTENT_TYPE", raising=False)
    monkeypatch.setattr(recommendations, "_mysfit_ids", recommendations.label_table(MYSFITS))
    monkeypatch.setattr(recommendations, "runtime", FakeRuntime())


@pytest.fixture
def fake(monkeypatch):
    def install(**kwargs):
        runtime = FakeRuntime(**kwargs)
        monkeypatch.setattr(recommendations, "runtime", runtime)
        return runtime
    return install


def post(body, **extra):
    return {"httpMethod": "POST", "resource": "/recommendations", "body": body, **extra}


def call(event):
    response = recommendations.recommend(event, None)
    assert isinstance(response, dict)
    assert response["headers"]["Content-Type"] == "application/json"
    for name, value in CORS.items():
        assert response["headers"][name] == value
    return response["statusCode"], json.loads(response["body"])


def client_error(code, http_status=400):
    return ClientError(
        {"Error": {"Code": code, "Message": f"{code} happened"},
         "ResponseMetadata": {"HTTPStatusCode": http_status}},
        "InvokeEndpoint",
    )


# --- good requests -------------------------------------------------------------------------

def test_jsonlines_request_sends_one_features_line_and_maps_the_label(fake):
    runtime = fake()
    status, body = call(post(json.dumps({"entry": [1, 2, 3, 4, 5]})))
    assert status == 200
    assert body == {"recommendedMysfit": ID_BY_LABEL[3]}
    [sent] = runtime.calls
    assert sent["EndpointName"] == "knn-ml-m4-xlarge-test"
    assert sent["ContentType"] == "application/jsonlines"
    assert sent["Accept"] == "application/json"
    assert json.loads(sent["Body"]) == {"features": [1, 2, 3, 4, 5]}
    assert b"\n" not in sent["Body"].strip()


def test_csv_content_type_sends_comma_separated_answers(fake, monkeypatch):
    monkeypatch.setenv("CONTENT_TYPE", "text/csv")
    runtime = fake(body=b'{"predictions":[{"predicted_label": 11.0}]}')
    status, body = call(post('{"entry": [8, 7, 6, 5, 4]}'))
    assert (status, body) == (200, {"recommendedMysfit": ID_BY_LABEL[11]})
    assert runtime.calls[0]["ContentType"] == "text/csv"
    assert runtime.calls[0]["Body"] == b"8,7,6,5,4"


def test_base64_body_is_decoded():
    raw = base64.b64encode(b'{"entry": [1, 1, 1, 1, 1]}').decode()
    status, body = call(post(raw, isBase64Encoded=True))
    assert (status, body) == (200, {"recommendedMysfit": ID_BY_LABEL[3]})


def test_integer_label_and_extra_keys_are_fine(fake):
    fake(body=b'{"predictions":[{"predicted_label": 0}]}')
    status, body = call(post('{"entry": [1, 2, 3, 4, 5], "source": "web"}'))
    assert (status, body) == (200, {"recommendedMysfit": ID_BY_LABEL[0]})


def test_http_api_v2_event_and_direct_invocation_are_posts():
    v2 = {"requestContext": {"http": {"method": "POST"}}, "body": '{"entry": [2,2,2,2,2]}'}
    assert call(v2)[0] == 200
    assert call({"body": '{"entry": [2,2,2,2,2]}'})[0] == 200


def test_options_preflight_answers_with_cors_and_never_calls_the_endpoint(fake):
    runtime = fake()
    assert call({"httpMethod": "OPTIONS", "body": None}) == (200, {})
    assert call({"requestContext": {"http": {"method": "options"}}}) == (200, {})
    assert runtime.calls == []


def test_options_works_even_without_endpoint_configuration(monkeypatch):
    monkeypatch.delenv("ENDPOINT_NAME")
    assert call({"httpMethod": "OPTIONS"})[0] == 200


def test_each_request_logs_one_line(capsys):
    call(post('{"entry": [1, 2, 3, 4, 5]}'))
    call(post("nope"))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    first, second = map(json.loads, lines)
    assert first["status"] == 200 and first["mysfit"] == ID_BY_LABEL[3]
    assert second["status"] == 400 and "JSON" in second["error"]


def test_runtime_client_is_created_once_and_reused(monkeypatch):
    made = []

    def client(service, **kwargs):
        made.append(service)
        return FakeRuntime()

    monkeypatch.setattr(recommendations, "runtime", None)
    monkeypatch.setattr(recommendations.boto3, "client", client)
    for _ in range(3):
        assert call(post('{"entry": [1, 2, 3, 4, 5]}'))[0] == 200
    assert made == ["sagemaker-runtime"]


# --- bad requests --------------------------------------------------------------------------

BAD_BODIES = {
    "not json": "entry=1,2,3,4,5",
    "truncated json": '{"entry": [1, 2',
    "json array": "[1, 2, 3, 4, 5]",
    "json string": '"hello"',
    "json number": "42",
    "json null": "null",
    "missing entry": '{"answers": [1, 2, 3, 4, 5]}',
    "entry null": '{"entry": null}',
    "entry object": '{"entry": {"a": 1}}',
    "entry string": '{"entry": "1,2,3,4,5"}',
    "four items": '{"entry": [1, 2, 3, 4]}',
    "six items": '{"entry": [1, 2, 3, 4, 5, 6]}',
    "empty": '{"entry": []}',
    "zero": '{"entry": [0, 2, 3, 4, 5]}',
    "nine": '{"entry": [1, 2, 3, 4, 9]}',
    "negative": '{"entry": [1, -2, 3, 4, 5]}',
    "huge": '{"entry": [1, 2, 3, 4, 1' + "0" * 100 + "]}",
    "too many digits for int()": '{"entry": [' + "9" * 5000 + ", 1, 1, 1, 1]}",
    "strings": '{"entry": ["1", "2", "3", "4", "5"]}',
    "floats": '{"entry": [1.5, 2, 3, 4, 5]}',
    "integral floats": '{"entry": [3.0, 2, 3, 4, 5]}',
    "exponent": '{"entry": [1e0, 2, 3, 4, 5]}',
    "bools": '{"entry": [true, false, true, true, true]}',
    "nulls": '{"entry": [null, 2, 3, 4, 5]}',
    "nested lists": '{"entry": [[1], 2, 3, 4, 5]}',
    "nested objects": '{"entry": [{"v": 1}, 2, 3, 4, 5]}',
    "NaN": '{"entry": [NaN, 2, 3, 4, 5]}',
    "Infinity": '{"entry": [Infinity, 2, 3, 4, 5]}',
    "deeply nested": "[" * 30_000 + "]" * 30_000,
    "deeply nested and too large": "[" * 100_000 + "]" * 100_000,
    "empty body": "",
    "whitespace body": "   ",
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_bodies_are_400_with_a_message_and_never_reach_the_endpoint(body, fake):
    runtime = fake()
    status, answer = call(post(body))
    assert status == 400
    assert isinstance(answer["message"], str) and answer["message"]
    assert runtime.calls == []


@pytest.mark.parametrize("event", [
    None, [], "body", 42,
    {"httpMethod": "POST"},
    {"httpMethod": "POST", "body": None},
    {"httpMethod": "POST", "body": {"entry": [1, 2, 3, 4, 5]}},
    {"httpMethod": "POST", "body": b'{"entry": [1, 2, 3, 4, 5]}'},
    {"httpMethod": 7, "body": '{"entry": [1, 2, 3, 4, 5]}'},
    {"httpMethod": "POST", "body": "not base64!", "isBase64Encoded": True},
    {"httpMethod": "POST", "body": base64.b64encode(b"\xff\xfe").decode(), "isBase64Encoded": True},
    {"httpMethod": "POST", "body": "é" * 10, "isBase64Encoded": True},
    {"httpMethod": "POST", "body": " " * 70_000 + '{"entry": [1, 2, 3, 4, 5]}'},
], ids=repr)
def test_malformed_events_are_400(event):
    status, answer = call(event)
    assert status == 400
    assert answer["message"]


def test_messages_say_what_is_wrong():
    assert "exactly 5" in call(post('{"entry": [1, 2, 3, 4]}'))[1]["message"]
    assert "entry[4]" in call(post('{"entry": [1, 2, 3, 4, 9]}'))[1]["message"]
    assert "boolean" in call(post('{"entry": [true, 2, 3, 4, 5]}'))[1]["message"]
    assert "3.0" in call(post('{"entry": [3.0, 2, 3, 4, 5]}'))[1]["message"]
    assert "entry" in call(post('{"answers": []}'))[1]["message"]


def test_other_methods_are_405_with_allow():
    response = recommendations.recommend({"httpMethod": "GET", "body": None}, None)
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "OPTIONS, POST"
    assert call({"httpMethod": "delete"})[0] == 405


# --- endpoint and configuration failures ---------------------------------------------------

GOOD = post('{"entry": [1, 2, 3, 4, 5]}')


@pytest.mark.parametrize("code, http_status", [
    ("ValidationError", 400),
    ("ModelError", 424),
    ("InternalFailure", 500),
])
def test_endpoint_client_errors_are_502_with_the_detail_only_in_the_log(fake, capsys, code, http_status):
    fake(error=client_error(code, http_status))
    status, body = call(GOOD)
    assert (status, body) == (502, {"message": recommendations.FAILED})
    logged = json.loads(capsys.readouterr().out)
    assert code in logged["detail"] and logged["status"] == 502


SECRET_DETAIL = ("Endpoint arn:aws:sagemaker:us-east-1:123456789012:endpoint/knn-ml-m4-xlarge-test "
                 "at https://runtime.sagemaker.us-east-1.amazonaws.com not found")


@pytest.mark.parametrize("error", [
    ClientError({"Error": {"Code": "ValidationError", "Message": SECRET_DETAIL}}, "InvokeEndpoint"),
    ClientError({"Error": {"Code": "ThrottlingException", "Message": SECRET_DETAIL}}, "InvokeEndpoint"),
    EndpointConnectionError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/knn"),
])
def test_no_account_arn_url_or_endpoint_name_reaches_the_caller(fake, capsys, error):
    fake(error=error)
    response = recommendations.recommend(GOOD, None)
    assert response["statusCode"] in (502, 503)
    for secret in ("123456789012", "arn:", "https://", "amazonaws.com", "knn-ml-m4-xlarge-test"):
        assert secret not in response["body"]
    assert "amazonaws.com" in capsys.readouterr().out


@pytest.mark.parametrize("code, http_status", [
    ("ThrottlingException", 400),
    ("ServiceUnavailable", 503),
    ("ModelNotReadyException", 429),
    ("SomethingNew", 429),
])
def test_throttled_or_unavailable_endpoint_is_503(fake, code, http_status):
    fake(error=client_error(code, http_status))
    assert call(GOOD) == (503, {"message": recommendations.BUSY})


def test_unreachable_endpoint_is_502(fake):
    fake(error=EndpointConnectionError(endpoint_url="https://runtime.sagemaker.example"))
    assert call(GOOD) == (502, {"message": recommendations.FAILED})


@pytest.mark.parametrize("label", [12.0, -1.0, 99])
def test_unknown_label_is_502(fake, capsys, label):
    fake(body=json.dumps({"predictions": [{"predicted_label": label}]}).encode())
    assert call(GOOD) == (502, {"message": recommendations.FAILED})
    assert "label" in json.loads(capsys.readouterr().out)["detail"]


@pytest.mark.parametrize("raw", [
    b"", b"not json", b"[]", b"{}", b'{"predictions": []}', b'{"predictions": {}}',
    b'{"predictions": [{}]}', b'{"predictions": [{"label": 3}]}',
    b'{"predictions": [{"predicted_label": "3"}]}',
    b'{"predictions": [{"predicted_label": 3.5}]}',
    b'{"predictions": [{"predicted_label": true}]}',
    b'{"predictions": [{"predicted_label": null}]}',
    b'{"predictions": [{"predicted_label": NaN}]}',
    b'{"predictions": [{"predicted_label": Infinity}]}',
    b"\xff\xfe\x00",
])
def test_malformed_endpoint_answer_is_502(fake, raw):
    fake(body=raw)
    status, body = call(GOOD)
    assert status == 502
    assert body["message"]


def test_missing_endpoint_name_is_500(monkeypatch, fake, capsys):
    runtime = fake()
    monkeypatch.delenv("ENDPOINT_NAME")
    assert call(GOOD) == (500, {"message": recommendations.MISCONFIGURED})
    assert "ENDPOINT_NAME" in json.loads(capsys.readouterr().out)["detail"]
    assert runtime.calls == []


def test_unsupported_content_type_is_500(monkeypatch):
    monkeypatch.setenv("CONTENT_TYPE", "application/x-recordio-protobuf")
    assert call(GOOD)[0] == 500


def test_missing_label_table_is_500(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(recommendations, "_mysfit_ids", None)
    monkeypatch.setattr(recommendations, "MYSFITS_FILE", str(tmp_path / "absent.json"))
    assert call(GOOD) == (500, {"message": recommendations.MISCONFIGURED})
    assert "mysfits.json" in json.loads(capsys.readouterr().out)["detail"]


def test_label_table_is_read_from_the_file_once(monkeypatch, tmp_path):
    table = tmp_path / "mysfits.json"
    table.write_text(json.dumps(MYSFITS))
    monkeypatch.setattr(recommendations, "_mysfit_ids", None)
    monkeypatch.setattr(recommendations, "MYSFITS_FILE", str(table))
    assert call(GOOD) == (200, {"recommendedMysfit": ID_BY_LABEL[3]})
    table.unlink()
    assert call(GOOD) == (200, {"recommendedMysfit": ID_BY_LABEL[3]})


API_GATEWAY_CUT_SECONDS = 29
LAMBDA_TIMEOUT_SECONDS = 30


def test_the_endpoint_clients_worst_case_fits_inside_api_gateways_cut_with_margin():
    config = recommendations.client_config()
    attempts = config.retries["total_max_attempts"]
    assert config.retries["mode"] == "standard" and "max_attempts" not in config.retries
    worst = (attempts * (config.connect_timeout + config.read_timeout)
             + (attempts - 1) * recommendations.MAX_RETRY_DELAY)
    assert worst == recommendations.WORST_CASE_SECONDS
    assert worst <= API_GATEWAY_CUT_SECONDS - 5 < LAMBDA_TIMEOUT_SECONDS


class SilentEndpoint:
    """A TCP server on loopback that accepts connections and never answers them."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.accepted = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                self.accepted.append(self.listener.accept()[0])
            except (socket.timeout, OSError):
                continue

    def close(self):
        self.stopped.set()
        self.thread.join()
        for connection in self.accepted:
            connection.close()
        self.listener.close()


def test_a_silent_endpoint_gets_exactly_the_configured_attempts_then_a_generic_503(monkeypatch):
    silent = SilentEndpoint()
    try:
        # The configured client, only with a short read timeout so the test does not wait.
        config = recommendations.client_config().merge(Config(read_timeout=0.2))
        client = boto3.client("sagemaker-runtime", endpoint_url=f"http://127.0.0.1:{silent.port}",
                              region_name="us-east-1", config=config)
        monkeypatch.setattr(recommendations, "runtime", client)
        assert call(GOOD) == (503, {"message": recommendations.BUSY})  # too slow: try again later
    finally:
        silent.close()
    assert len(silent.accepted) == recommendations.ATTEMPTS == config.retries["total_max_attempts"]


def test_unexpected_failure_is_500_json(fake):
    fake(error=RuntimeError("surprise"))
    status, body = call(GOOD)
    assert status == 500
    assert body == {"message": "internal error"}


# --- properties ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=6)
    | st.dictionaries(st.text(max_size=8), children, max_size=6),
    max_leaves=25,
)
PROPERTY = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_client_answer(event):
    status, body = call(event)
    assert status == 200 or 400 <= status < 500, (status, body)
    if status == 200:
        assert body in ({}, {"recommendedMysfit": ID_BY_LABEL[3]})
    else:
        assert isinstance(body["message"], str)


@PROPERTY
@given(st.text())
def test_any_text_body_is_answered(body):
    assert_client_answer(post(body))


@PROPERTY
@given(st.binary())
def test_any_base64_body_is_answered(raw):
    assert_client_answer(post(base64.b64encode(raw).decode(), isBase64Encoded=True))


@PROPERTY
@given(json_values)
def test_any_json_body_is_answered(value):
    assert_client_answer(post(json.dumps(value)))


@PROPERTY
@given(json_values)
def test_any_entry_value_is_answered(entry):
    assert_client_answer(post(json.dumps({"entry": entry})))


@PROPERTY
@given(st.lists(st.integers() | st.floats() | st.booleans() | st.none(), min_size=5, max_size=5))
def test_any_five_numbers_are_answered(entry):
    assert_client_answer(post(json.dumps({"entry": entry})))


@PROPERTY
@given(st.dictionaries(
    st.sampled_from(["httpMethod", "body", "isBase64Encoded", "requestContext", "headers"])
    | st.text(max_size=10),
    json_values,
))
def test_any_event_dict_is_answered(event):
    assert_client_answer(event)


@PROPERTY
@given(st.lists(st.integers(min_value=1, max_value=8), min_size=5, max_size=5),
       st.sampled_from(sorted(ID_BY_LABEL)),
       st.sampled_from(["application/jsonlines", "text/csv"]))
def test_every_valid_entry_is_recommended_a_known_mysfit(entry, label, content_type):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONTENT_TYPE", content_type)
        patch.setattr(recommendations, "runtime",
                      FakeRuntime(body=json.dumps({"predictions": [{"predicted_label": float(label)}]}).encode()))
        status, body = call(post(json.dumps({"entry": entry})))
    assert status == 200
    assert body == {"recommendedMysfit": ID_BY_LABEL[label]}
    assert body["recommendedMysfit"] in ID_BY_LABEL.values()
