import numpy as np
import pytest

from mysfits_cli.ml import dataset, recordio
from mysfits_cli.ml.knn import KnnModel
from mysfits_cli.ml.training import TrainingError, parse_hyperparameters, run_training

RECORDIO, CSV = "application/x-recordio-protobuf", "text/csv"
HYPERPARAMETERS = {"feature_dim": "5", "k": "10", "sample_size": "3000", "predictor_type": "classifier"}


@pytest.fixture(scope="module")
def split():
    return dataset.split(dataset.generate(5_000, seed=8), seed=8)


def shards(rows, content_type, parts=2):
    encode = recordio.encode if content_type == RECORDIO else recordio.encode_csv
    return [(encode(part[:, :5], part[:, 5]), content_type) for part in np.array_split(rows, parts)]


def test_trains_on_sharded_recordio_and_csv_and_scores_the_test_channel(split):
    train, test = split
    lines = []
    channels = {"train": shards(train[:2_000], RECORDIO) + shards(train[2_000:], CSV), "test": shards(test, RECORDIO, 3)}
    result = run_training(HYPERPARAMETERS, channels, lines.append)
    model = KnnModel.from_bytes(result.model_bytes)
    assert (model.k, model.feature_dim, len(model.features)) == (10, 5, 3_000)
    accuracy = float(np.mean(model.predict(test[:, :5]) == test[:, 5]))
    assert result.metrics == {"test:accuracy": pytest.approx(accuracy)}
    assert accuracy > 0.45
    text = "\n".join(lines)
    assert "train channel: 4500 records of 5 features from 4 object(s)" in text
    assert "Sampling 3000 of 4500 training points (sample_size=3000)" in text
    assert f"#test_score (algo-1) : ('accuracy', {result.metrics['test:accuracy']})" in lines
    assert f"#quality_metric: host=algo-1, test accuracy <score>={result.metrics['test:accuracy']}" in lines
    assert lines[-1].startswith('#metrics {"Metrics": {"totaltime"')


def test_regressor_reports_mse_and_no_test_channel_no_metrics(split):
    train, test = split
    result = run_training(
        HYPERPARAMETERS | {"predictor_type": "regressor"},
        {"train": shards(train, RECORDIO), "test": shards(test, CSV)},
        lambda line: None,
    )
    assert set(result.metrics) == {"test:mse"} and result.metrics["test:mse"] > 0
    assert run_training(HYPERPARAMETERS, {"train": shards(train, RECORDIO)}, lambda line: None).metrics == {}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"k": None}, "Missing required hyperparameter: k"),
        ({"feature_dim": None}, "Missing required hyperparameter: feature_dim"),
        ({"k": "0"}, "k must be a positive integer, got '0'"),
        ({"sample_size": "lots"}, "sample_size must be a positive integer"),
        ({"mini_batch_size": "-5"}, "mini_batch_size must be a positive integer"),
        ({"predictor_type": "ranker"}, "predictor_type must be classifier or regressor"),
        ({"index_type": "faiss.IVFFlat"}, "faiss.IVFFlat is not supported here; use faiss.Flat"),
        ({"index_type": "hnsw"}, "unknown index_type"),
        ({"index_metric": "COSINE"}, "index_metric COSINE is not supported"),
        ({"epochs": "3"}, r"Additional hyperparameters are not allowed \('epochs' was unexpected\)"),
    ],
)
def test_bad_hyperparameters(changes, message):
    hyperparameters = {k: v for k, v in (HYPERPARAMETERS | changes).items() if v is not None}
    with pytest.raises(TrainingError, match=message):
        parse_hyperparameters(hyperparameters)


def test_internal_hyperparameters_are_ignored():
    settings = parse_hyperparameters(HYPERPARAMETERS | {"_tuning_objective_metric": "test:accuracy", "index_type": "faiss.Flat"})
    assert (settings.k, settings.sample_size, settings.index_type) == (10, 3000, "faiss.Flat")


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        ({}, "No data in the required 'train' channel"),
        ({"train": [(b"1,1,2,3,4,5\n", CSV)], "validation": [(b"", CSV)]}, "Unsupported channel 'validation'"),
        ({"train": [(b"garbage!", RECORDIO)]}, "train channel, object 1: not RecordIO"),
        ({"train": [(b"1,2,3,4,5\n", "text/csv;label_size=0")]}, "object 1: the records have no labels"),
        ({"train": [(recordio.encode(np.ones((3, 5))), RECORDIO)]}, "the records have no labels"),
        ({"train": [(b"1,2,3,4,5\n", CSV)]}, "the data have 4 features but feature_dim is 5"),
        ({"train": [(b"1,2,3,4,5,x\n", CSV)]}, "'x' is not a number"),
        ({"train": [(b"{}", "application/json")]}, "content type 'application/json' is not supported"),
        ({"train": [(b"", RECORDIO)]}, "train channel has no records"),
        ({"train": [(b"0,1,2,3,4,5\n", CSV)]}, r"k \(10\) is larger than the number of sampled training points \(1\)"),
        (
            {"train": [(b"0,1,2,3,4,5\n" * 20, CSV)], "test": [(b"0,1,2,3\n", CSV)]},
            "test channel, object 1: the data have 3 features",
        ),
    ],
)
def test_bad_data_gives_a_one_line_reason(channels, message):
    with pytest.raises(TrainingError, match=message) as caught:
        run_training(HYPERPARAMETERS, channels, lambda line: None)
    assert "\n" not in str(caught.value)
