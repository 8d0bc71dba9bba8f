"""A k-nearest-neighbours engine on faiss, in the manner of SageMaker's built-in k-NN.

Training keeps a random sample of `sample_size` training points (as SageMaker does) in
a flat L2 index. Prediction is a majority vote of the k nearest sample points
(classifier; a tie goes to the tied label seen nearest) or their mean (regressor).

Neighbours are exact and deterministic: points are ordered by (distance, position in
the stored sample), and the stored sample is sorted by feature vector, so equal
points sit next to each other (see `neighbours.GroupedFlatIndex`, which also explains
why this is fast on data with many duplicates, like the questionnaire's).
"""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np

from mysfits_cli.ml.neighbours import GroupedFlatIndex

PREDICTOR_TYPES = ("classifier", "regressor")
INDEX_TYPES = ("faiss.Flat",)
_OTHER_FAISS_INDEXES = ("faiss.IVFFlat", "faiss.IVFPQ")
_FORMAT = "mysfits-knn/1"
_MODEL_FILE, _PARAMS_FILE = "knn-model.npz", "hyperparameters.json"


class HyperparameterError(ValueError):
    """A k-NN hyperparameter is missing, malformed or not supported."""


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise HyperparameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_index_type(index_type: str) -> str:
    if index_type in INDEX_TYPES:
        return index_type
    if index_type in _OTHER_FAISS_INDEXES:
        raise HyperparameterError(f"index_type {index_type} is not supported here; use faiss.Flat")
    raise HyperparameterError(f"unknown index_type {index_type!r}; expected one of {', '.join(INDEX_TYPES + _OTHER_FAISS_INDEXES)}")


def check_predictor_type(predictor_type: str) -> str:
    if predictor_type not in PREDICTOR_TYPES:
        raise HyperparameterError(f"predictor_type must be classifier or regressor, got {predictor_type!r}")
    return predictor_type


class KnnModel:
    """A fitted k-NN model; build it with `fit` or `from_bytes`."""

    def __init__(
        self,
        features: np.ndarray,
        labels: np.ndarray,
        *,
        k: int,
        predictor_type: str,
        index_type: str = "faiss.Flat",
        sample_size: int | None = None,
        seed: int = 0,
        table: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.k = _positive_int("k", k)
        self.predictor_type = check_predictor_type(predictor_type)
        self.index_type = check_index_type(index_type)
        features = np.ascontiguousarray(features, dtype=np.float32)
        labels = np.asarray(labels, dtype=np.float64)
        if features.ndim != 2 or features.shape[1] == 0 or labels.shape != (len(features),):
            raise ValueError(f"need (n, d) features and (n,) labels, got {features.shape} and {labels.shape}")
        if self.k > len(features):
            raise HyperparameterError(f"k ({self.k}) is larger than the number of sampled points ({len(features)})")
        self.sample_size = len(features) if sample_size is None else sample_size
        self.seed = seed

        self._search_index = GroupedFlatIndex(features, self.k, table)
        self.features = self._search_index.points
        self.labels = labels[self._search_index.order]
        self._classes, self._label_class = np.unique(self.labels, return_inverse=True)

    @property
    def feature_dim(self) -> int:
        return int(self.features.shape[1])

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        labels: np.ndarray,
        *,
        k: int,
        sample_size: int,
        predictor_type: str = "classifier",
        seed: int = 0,
        index_type: str = "faiss.Flat",
    ) -> KnnModel:
        """Keep a seeded random sample of `sample_size` points (all of them if fewer) and index it."""
        k, sample_size = _positive_int("k", k), _positive_int("sample_size", sample_size)
        check_predictor_type(predictor_type)
        check_index_type(index_type)
        features, labels = np.asarray(features), np.asarray(labels)
        if features.ndim != 2 or len(features) == 0 or features.shape[1] == 0:
            raise ValueError(f"features must be a non-empty (n, d) matrix, got shape {features.shape}")
        if labels.shape != (len(features),):
            raise ValueError(f"labels must have shape ({len(features)},), got {labels.shape}")
        if not (np.all(np.isfinite(features)) and np.all(np.isfinite(labels))):
            raise ValueError("features and labels must be finite numbers")
        if sample_size < len(features):
            chosen = np.random.default_rng(seed).choice(len(features), size=sample_size, replace=False)
            features, labels = features[chosen], labels[chosen]
        return cls(
            features, labels, k=k, predictor_type=predictor_type, index_type=index_type,
            sample_size=sample_size, seed=seed,
        )

    # -- search -------------------------------------------------------------------

    def _queries(self, features: np.ndarray) -> np.ndarray:
        queries = np.asarray(features, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.feature_dim:
            raise ValueError(f"expected rows of {self.feature_dim} features, got shape {np.shape(features)}")
        if not np.all(np.isfinite(queries)):
            raise ValueError("features must be finite numbers")
        return queries

    def _search(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._search_index.search(self._queries(features))

    def kneighbors(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(labels (n, k), Euclidean distances (n, k)) of each row's neighbours, nearest first."""
        return self.predict_verbose(features)[1:]

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predicted label (float64) per row."""
        ids, _ = self._search(features)
        return self._predict_from(ids)

    def predict_verbose(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(predictions (n,), neighbour labels (n, k), neighbour distances (n, k)) from one search."""
        ids, squared = self._search(features)
        return self._predict_from(ids), self.labels[ids], np.sqrt(np.maximum(squared.astype(np.float64), 0))

    def _predict_from(self, ids: np.ndarray) -> np.ndarray:
        if self.predictor_type == "regressor":
            return self.labels[ids].mean(axis=1)
        return self._classes[_vote(self._label_class[ids], len(self._classes))]

    # -- persistence --------------------------------------------------------------

    def hyperparameters(self) -> dict:
        return {
            "format": _FORMAT, "k": self.k, "predictor_type": self.predictor_type,
            "index_type": self.index_type, "feature_dim": self.feature_dim,
            "sample_size": self.sample_size, "seed": self.seed,
        }

    def to_bytes(self) -> bytes:
        """A model.tar.gz holding the sample (.npz) and the hyperparameters (.json)."""
        arrays = io.BytesIO()
        table = self._search_index.table
        extra = {} if table is None else {"neighbour_ids": table[0], "neighbour_distances": table[1]}
        np.savez(arrays, features=self.features, labels=self.labels, **extra)
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w:gz", compresslevel=1, format=tarfile.PAX_FORMAT) as archive:
            for name, payload in (
                (_PARAMS_FILE, json.dumps(self.hyperparameters(), indent=2).encode()),
                (_MODEL_FILE, arrays.getvalue()),
            ):
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(payload), 0o644
                archive.addfile(info, io.BytesIO(payload))
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> KnnModel:
        """Load a model written by `to_bytes`; ValueError if `data` is not one."""
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                params = json.loads(_member(archive, _PARAMS_FILE))
                with np.load(io.BytesIO(_member(archive, _MODEL_FILE)), allow_pickle=False) as arrays:
                    features, labels = arrays["features"], arrays["labels"]
                    table = None
                    if "neighbour_ids" in arrays.files and "neighbour_distances" in arrays.files:
                        table = (arrays["neighbour_ids"], arrays["neighbour_distances"])
        except (tarfile.TarError, OSError, EOFError, KeyError, json.JSONDecodeError) as error:
            raise ValueError(f"not a k-NN model archive: {error}") from None
        if not isinstance(params, dict) or params.get("format") != _FORMAT:
            raise ValueError(f"not a k-NN model archive: unknown format {params.get('format') if isinstance(params, dict) else params!r}")
        try:
            return cls(
                features, labels, k=params["k"], predictor_type=params["predictor_type"],
                index_type=params["index_type"], sample_size=params.get("sample_size"), seed=params.get("seed", 0),
                table=table,
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a k-NN model archive: missing or bad {error}") from None


def _member(archive: tarfile.TarFile, name: str) -> bytes:
    member = archive.extractfile(name)
    if member is None:
        raise KeyError(f"{name} is not a regular file")
    return member.read()


def _vote(classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Most frequent class per row of (n, k) class indices; ties go to the one met first."""
    n, k = classes.shape
    rows = np.arange(n)
    first_seen = np.full((n, n_classes), k, dtype=np.int64)
    for j in range(k - 1, -1, -1):  # nearer neighbours overwrite farther ones
        first_seen[rows, classes[:, j]] = j
    flat = (rows[:, None] * n_classes + classes).ravel()
    votes = np.bincount(flat, minlength=n * n_classes).reshape(n, n_classes)
    return np.argmax(votes * (k + 1) + (k - first_seen), axis=1)
