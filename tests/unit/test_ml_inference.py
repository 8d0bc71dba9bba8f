import json

import numpy as np
import pytest

from mysfits_cli.ml import dataset, recordio
from mysfits_cli.ml.inference import InferenceError, format_response, parse_request
from mysfits_cli.ml.knn import KnnModel

ROWS = [[1.0, 2.0, 3.0, 4.0, 5.0], [8.0, 8.0, 8.0, 8.0, 8.0]]


@pytest.fixture(scope="module")
def model():
    rows = dataset.generate(3_000, seed=1)
    return KnnModel.fit(rows[:, :5], rows[:, 5], k=4, sample_size=3_000)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"1,2,3,4,5\n8,8,8,8,8\n", "text/csv"),
        (b"1,2,3,4,5\r\n8,8,8,8,8", "text/csv; charset=utf-8"),
        (b"0,1,2,3,4,5\n9,8,8,8,8,8\n", "text/csv;label_size=1"),
        (b'{"instances": [{"features": [1, 2, 3, 4, 5]}, {"data": {"features": {"values": [8, 8, 8, 8, 8]}}}]}', "application/json"),
        (b'{"features": [1, 2, 3, 4, 5.0]}\n\n{"data": {"features": {"values": [8, 8, 8, 8, 8]}}}\n', "application/jsonlines"),
        (recordio.encode(np.array(ROWS)), "application/x-recordio-protobuf"),
    ],
)
def test_parse_request_reads_every_content_type(body, content_type):
    features = parse_request(body, content_type)
    assert features.dtype == np.float64 and features.tolist() == ROWS


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"1,2,3", "text/html", "unsupported content type"),
        (b"", "text/csv", "no rows"),
        (b"1,2,3\n1,2\n", "text/csv", "line 2"),
        (b"1,2,x\n", "text/csv", "'x' is not a number"),
        (b"1,2,3\n", "text/csv;label_size=2", "label_size"),
        (b"{nope", "application/json", "not valid JSON"),
        (b'{"rows": []}', "application/json", "instances"),
        (b'{"instances": []}', "application/json", "no rows"),
        (b'{"instances": [{"features": [1, "2"]}]}', "application/json", "finite numbers"),
        (b'{"instances": [{"features": [1, true]}]}', "application/json", "finite numbers"),
        (b'{"instances": [{"features": [1, 2]}, {"features": [1]}]}', "application/json", "same"),
        (b'{"values": [1]}', "application/jsonlines", "line 1 must be"),
        (b"garbage!", "application/x-recordio-protobuf", "bad application/x-recordio-protobuf"),
    ],
)
def test_parse_request_errors(body, content_type, message):
    with pytest.raises(InferenceError, match=message):
        parse_request(body, content_type)


def test_json_response(model):
    body, content_type = format_response(model, np.array(ROWS), "application/json")
    assert content_type == "application/json"
    predictions = json.loads(body)["predictions"]
    assert [p["predicted_label"] for p in predictions] == model.predict(np.array(ROWS)).tolist()
    assert all(set(p) == {"predicted_label"} for p in predictions)
    assert format_response(model, np.array(ROWS), None) == (body, content_type)
    assert format_response(model, np.array(ROWS), "*/*") == (body, content_type)


def test_verbose_json_response_lists_the_neighbours(model):
    body, _ = format_response(model, np.array(ROWS), "application/json; verbose=true")
    predictions = json.loads(body)["predictions"]
    labels, distances = model.kneighbors(np.array(ROWS))
    for prediction, row_labels, row_distances in zip(predictions, labels, distances):
        assert list(prediction) == ["predicted_label", "distances", "labels"]
        assert prediction["labels"] == row_labels.tolist()
        assert prediction["distances"] == pytest.approx(row_distances.tolist())
        assert prediction["distances"] == sorted(prediction["distances"])


def test_jsonlines_and_recordio_responses(model):
    expected = model.predict(np.array(ROWS)).tolist()
    body, content_type = format_response(model, np.array(ROWS), "application/jsonlines")
    assert content_type == "application/jsonlines"
    assert [json.loads(line)["predicted_label"] for line in body.decode().splitlines()] == expected
    body, content_type = format_response(model, np.array(ROWS), "application/x-recordio-protobuf; verbose=true")
    assert content_type == "application/x-recordio-protobuf"
    records = [recordio.parse_record(r) for r in recordio.split_records(body)]
    assert [label["predicted_label"][0].tolist() for _, label in records] == [[v] for v in expected]
    assert all(len(label["labels"][0]) == 4 and len(label["distances"][0]) == 4 for _, label in records)


def test_accept_lists_and_bad_requests(model):
    assert format_response(model, np.array(ROWS), "text/html, application/jsonlines")[1] == "application/jsonlines"
    with pytest.raises(InferenceError, match="unsupported accept type"):
        format_response(model, np.array(ROWS), "text/csv")
    with pytest.raises(InferenceError, match="takes 5 features per row, the request has 3"):
        format_response(model, np.ones((2, 3)), "application/json")
