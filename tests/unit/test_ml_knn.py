import io
import tarfile

import numpy as np
import pytest

from mysfits_cli.ml import dataset
from mysfits_cli.ml.knn import HyperparameterError, KnnModel
from mysfits_cli.ml.neighbours import GroupedFlatIndex


def brute_force(points, queries, k):
    """Positions and squared distances of the k nearest points, by (distance, position)."""
    squared = ((queries[:, None, :].astype(np.float64) - points[None, :, :].astype(np.float64)) ** 2).sum(-1)
    positions = np.broadcast_to(np.arange(len(points)), squared.shape)
    order = np.lexsort((positions, squared), axis=-1)[:, :k]
    return order, np.take_along_axis(squared, order, axis=1)


def brute_force_vote(labels):
    """Majority label per row; a tie goes to the tied label met first (nearest)."""
    out = []
    for row in labels:
        values, counts = np.unique(row, return_counts=True)
        tied = set(values[counts == counts.max()])
        out.append(next(label for label in row if label in tied))
    return np.array(out)


@pytest.mark.parametrize(
    "make",
    [
        # small integers: every possible query is tabulated
        lambda rng: (rng.integers(1, 5, (400, 4)), rng.integers(0, 6, (150, 4))),
        # repeated real vectors: distinct vectors tabulated, other queries searched
        lambda rng: (np.repeat(rng.normal(size=(60, 3)), 5, axis=0), rng.normal(size=(150, 3))),
        # distinct real vectors: nothing tabulated
        lambda rng: (rng.normal(size=(300, 5)), rng.normal(size=(150, 5))),
    ],
    ids=["lattice", "duplicates", "continuous"],
)
@pytest.mark.parametrize("k", [1, 7, 40])
def test_neighbours_match_brute_force(make, k):
    rng = np.random.default_rng(k)
    points, queries = make(rng)
    queries = np.vstack([queries, queries[:10], points[:20]]).astype(np.float32)
    index = GroupedFlatIndex(points, k)
    ids, squared = index.search(queries)
    expected_ids, expected_squared = brute_force(index.points, queries, k)
    assert np.allclose(squared, expected_squared, atol=1e-4)
    if np.array_equal(points, np.round(points)):
        assert np.array_equal(ids, expected_ids)


@pytest.mark.parametrize("points", [
    np.array([[a, b] for a in range(1, 4) for b in range(1, 4)] * 3, dtype=np.float32),  # the lattice is tabulated
    np.repeat(np.array([[0.5, 1.5], [2.5, 0.25], [1.0, 1.0]], dtype=np.float32), 4, axis=0),  # distinct rows are
], ids=["lattice", "duplicates"])
def test_a_few_queries_are_looked_up_as_a_batch_finds_them(points):
    index = GroupedFlatIndex(points, 3)
    queries = np.vstack([points[:3], [[9, 9]], [[1.25, 0.75]]]).astype(np.float32)
    batch = index.search(np.repeat(queries, 30, axis=0))  # many queries: matched against every key at once
    for row, query in enumerate(queries):
        ids, squared = index.search(query[None, :])
        assert np.array_equal(ids[0], batch[0][row * 30]) and np.allclose(squared[0], batch[1][row * 30])


def test_stored_sample_keeps_all_points_grouped():
    points = np.array([[2, 1], [1, 1], [2, 1], [1, 0]], dtype=np.float32)
    index = GroupedFlatIndex(points, 1)
    assert index.points.tolist() == [[1, 0], [1, 1], [2, 1], [2, 1]]
    assert index.order.tolist() == [3, 1, 0, 2]


@pytest.mark.parametrize("k", [1, 5, 16])
def test_classifier_matches_brute_force_vote(k):
    rows = dataset.generate(3_000, seed=k)
    train, test = rows[:2_500], rows[2_500:]
    model = KnnModel.fit(train[:, :5], train[:, 5], k=k, sample_size=2_000, seed=1)
    ids, _ = brute_force(model.features, test[:, :5].astype(np.float32), k)
    expected = brute_force_vote(model.labels[ids])
    assert np.array_equal(model.predict(test[:, :5]), expected)
    labels, distances = model.kneighbors(test[:, :5])
    assert np.array_equal(labels, model.labels[ids])
    assert np.all(np.diff(distances, axis=1) >= 0)


def test_vote_ties_go_to_the_nearest_label():
    features = np.array([[0.0], [1.0], [1.1], [5.0]])
    model = KnnModel.fit(features, np.array([3.0, 1.0, 3.0, 1.0]), k=2, sample_size=4)
    # neighbours of 0.9: 1.0 (label 1) then 1.1 (label 3): one vote each, 1 is nearer
    assert model.predict(np.array([[0.9]])).tolist() == [1.0]
    assert model.predict(np.array([[1.2]])).tolist() == [3.0]


def test_regressor_predicts_the_mean_of_the_neighbours():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(500, 3))
    targets = features.sum(axis=1)
    model = KnnModel.fit(features, targets, k=6, sample_size=500, predictor_type="regressor")
    queries = rng.normal(size=(40, 3)).astype(np.float32)
    ids, _ = brute_force(model.features, queries, 6)
    assert np.allclose(model.predict(queries), model.labels[ids].mean(axis=1))


def test_sampling_is_seeded_and_bounded():
    rows = dataset.generate(5_000, seed=1)
    one = KnnModel.fit(rows[:, :5], rows[:, 5], k=3, sample_size=1_000, seed=4)
    two = KnnModel.fit(rows[:, :5], rows[:, 5], k=3, sample_size=1_000, seed=4)
    other = KnnModel.fit(rows[:, :5], rows[:, 5], k=3, sample_size=1_000, seed=5)
    assert len(one.features) == 1_000
    assert np.array_equal(one.features, two.features) and np.array_equal(one.labels, two.labels)
    assert not np.array_equal(one.labels, other.labels)
    everything = KnnModel.fit(rows[:50, :5], rows[:50, 5], k=3, sample_size=1_000)
    assert len(everything.features) == 50


def test_reaches_the_accuracy_the_data_allows():
    train, test = dataset.split(dataset.generate(60_000, seed=21), seed=21)
    model = KnnModel.fit(train[:, :5], train[:, 5], k=10, sample_size=20_000)
    accuracy = np.mean(model.predict(test[:, :5]) == test[:, 5])
    assert dataset.bayes_optimal_accuracy() - 0.08 < accuracy <= dataset.bayes_optimal_accuracy() + 0.02


@pytest.mark.parametrize("answers", [5, 2], ids=["sparse", "every-answer-tabulated"])
def test_save_and_load_give_the_same_predictions(answers):
    rows = dataset.generate(2_000, seed=3)
    rows[:, :5] = np.minimum(rows[:, :5], answers)
    model = KnnModel.fit(rows[:, :5], rows[:, 5], k=5, sample_size=1_500)
    data = model.to_bytes()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        assert sorted(archive.getnames()) == ["hyperparameters.json", "knn-model.npz"]
    loaded = KnnModel.from_bytes(data)
    assert loaded.hyperparameters() == model.hyperparameters()
    queries = dataset.generate(500, seed=4)[:, :5]
    assert np.array_equal(loaded.predict(queries), model.predict(queries))
    assert all(np.array_equal(a, b) for a, b in zip(loaded.kneighbors(queries), model.kneighbors(queries)))


def test_from_bytes_rejects_other_files():
    with pytest.raises(ValueError, match="not a k-NN model archive"):
        KnnModel.from_bytes(b"hello")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.addfile(tarfile.TarInfo("model_algo-1"), io.BytesIO(b""))
    with pytest.raises(ValueError, match="not a k-NN model archive"):
        KnnModel.from_bytes(buffer.getvalue())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be a positive integer"),
        ({"k": 2.5}, "k must be a positive integer"),
        ({"sample_size": -1}, "sample_size must be a positive integer"),
        ({"predictor_type": "ranker"}, "predictor_type must be classifier or regressor"),
        ({"index_type": "faiss.IVFPQ"}, "faiss.IVFPQ is not supported"),
        ({"index_type": "annoy"}, "unknown index_type"),
        ({"k": 11}, r"k \(11\) is larger than the number of sampled points \(10\)"),
    ],
)
def test_bad_hyperparameters(kwargs, message):
    arguments = {"k": 3, "sample_size": 10} | kwargs
    with pytest.raises(HyperparameterError, match=message):
        KnnModel.fit(np.zeros((10, 2)), np.zeros(10), **arguments)


def test_bad_data_and_queries():
    with pytest.raises(ValueError, match="finite"):
        KnnModel.fit(np.array([[np.nan, 1.0]]), np.array([0.0]), k=1, sample_size=1)
    model = KnnModel.fit(np.eye(3), np.arange(3), k=1, sample_size=3)
    with pytest.raises(ValueError, match="expected rows of 3 features"):
        model.predict(np.zeros((2, 4)))
    assert model.predict(np.empty((0, 3))).shape == (0,)
