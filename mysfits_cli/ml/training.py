"""A k-NN training job in the manner of SageMaker's built-in algorithm: hyperparameters,
channels of S3 objects in, model.tar.gz, metrics and log lines out."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mysfits_cli.ml import recordio
from mysfits_cli.ml.knn import HyperparameterError, KnnModel, check_index_type, check_predictor_type

RECORDIO, CSV = "application/x-recordio-protobuf", "text/csv"
REQUIRED = ("feature_dim", "k", "predictor_type", "sample_size")
DEFAULTS = {
    "index_type": "faiss.Flat", "index_metric": "L2", "mini_batch_size": "5000",
    "dimension_reduction_type": "", "dimension_reduction_target": "", "faiss_index_ivf_nlists": "auto",
    "faiss_index_pq_m": "",
}
CHANNELS = ("train", "test")
HOST = "algo-1"
SAMPLE_SEED = 0


class TrainingError(Exception):
    """The job cannot run with these hyperparameters or this data; a one-line reason."""


@dataclass
class TrainingResult:
    model_bytes: bytes
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    feature_dim: int
    k: int
    sample_size: int
    predictor_type: str
    index_type: str


def parse_hyperparameters(hyperparameters: dict[str, str]) -> Settings:
    """Check hyperparameters as the built-in algorithm does; TrainingError on the first problem."""
    given = {key: str(value) for key, value in hyperparameters.items() if not key.startswith(("_", "sagemaker_"))}
    unexpected = sorted(set(given) - set(REQUIRED) - set(DEFAULTS))
    if unexpected:
        raise TrainingError(f"Additional hyperparameters are not allowed ({unexpected[0]!r} was unexpected)")
    missing = [name for name in REQUIRED if name not in given]
    if missing:
        raise TrainingError(f"Missing required hyperparameter: {missing[0]}")
    values = DEFAULTS | given
    try:
        numbers = {name: _positive_int(name, values[name]) for name in ("feature_dim", "k", "sample_size", "mini_batch_size")}
        settings = Settings(
            feature_dim=numbers["feature_dim"], k=numbers["k"], sample_size=numbers["sample_size"],
            predictor_type=check_predictor_type(values["predictor_type"]),
            index_type=check_index_type(values["index_type"]),
        )
    except HyperparameterError as error:
        raise TrainingError(f"Invalid hyperparameter: {error}") from None
    if values["index_metric"] != "L2":
        raise TrainingError(f"Invalid hyperparameter: index_metric {values['index_metric']} is not supported here; use L2")
    if values["dimension_reduction_type"]:
        raise TrainingError("Invalid hyperparameter: dimension_reduction_type is not supported here")
    return settings


def _positive_int(name: str, value: str) -> int:
    if not re.fullmatch(r"\s*\+?\d+\s*", value) or int(value) < 1:
        raise HyperparameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def read_channel(name: str, objects: list[tuple[bytes, str]], feature_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Decode and stack a channel's objects; TrainingError unless they are labelled rows of feature_dim."""
    parts = []
    for number, (body, content_type) in enumerate(objects, start=1):
        media, _, params = (content_type or RECORDIO).partition(";")
        media = media.strip().lower()
        label_size = dict(p.strip().split("=", 1) for p in params.split(";") if "=" in p).get("label_size", "1")
        try:
            if media == RECORDIO:
                features, labels = recordio.decode(body)
            elif media == CSV:
                features, labels = recordio.decode_csv(body, label_size=int(label_size) if label_size.isdigit() else -1)
            else:
                raise TrainingError(f"{name} channel: content type {content_type!r} is not supported; use {RECORDIO} or {CSV}")
        except ValueError as error:
            raise TrainingError(f"{name} channel, object {number}: {error}") from None
        if len(features) == 0:
            continue
        if labels is None:
            raise TrainingError(f"{name} channel, object {number}: the records have no labels")
        if features.shape[1] != feature_dim:
            raise TrainingError(
                f"{name} channel, object {number}: the data have {features.shape[1]} features but feature_dim is {feature_dim}"
            )
        parts.append((features, labels))
    if not parts:
        raise TrainingError(f"{name} channel has no records")
    features = np.vstack([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if not (np.all(np.isfinite(features)) and np.all(np.isfinite(labels))):
        raise TrainingError(f"{name} channel: features and labels must be finite numbers")
    return features, labels


class _Log:
    """Lines stamped the way the built-in algorithms stamp theirs."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self.sink, self.thread = sink, threading.get_ident()

    def __call__(self, message: str, level: str = "INFO") -> None:
        self.sink(f"[{time.strftime('%m/%d/%Y %H:%M:%S')} {level} {self.thread}] {message}")


def run_training(
    hyperparameters: dict[str, str],
    channels: dict[str, list[tuple[bytes, str]]],
    log: Callable[[str], None],
) -> TrainingResult:
    """Train on channels["train"], score on channels["test"] if given; TrainingError on bad input."""
    started = time.perf_counter()
    stamp = _Log(log)
    settings = parse_hyperparameters(hyperparameters)
    stamp(f"Final configuration: {json.dumps(DEFAULTS | {k: str(v) for k, v in hyperparameters.items()}, sort_keys=True)}")
    unknown = sorted(set(channels) - set(CHANNELS))
    if unknown:
        raise TrainingError(f"Unsupported channel {unknown[0]!r}: k-NN reads only 'train' and 'test'")
    if not channels.get("train"):
        raise TrainingError("No data in the required 'train' channel")

    clock = time.perf_counter()
    features, labels = read_channel("train", channels["train"], settings.feature_dim)
    stamp(f"train channel: {len(features)} records of {features.shape[1]} features from "
          f"{len(channels['train'])} object(s), read in {time.perf_counter() - clock:.3f} s")
    sampled = min(settings.sample_size, len(features))
    stamp(f"Sampling {sampled} of {len(features)} training points (sample_size={settings.sample_size})")
    if settings.k > sampled:
        raise TrainingError(f"k ({settings.k}) is larger than the number of sampled training points ({sampled})")

    clock = time.perf_counter()
    model = KnnModel.fit(
        features, labels, k=settings.k, sample_size=settings.sample_size,
        predictor_type=settings.predictor_type, seed=SAMPLE_SEED, index_type=settings.index_type,
    )
    stamp(f"Built the {settings.index_type} index (L2) over {sampled} points in {time.perf_counter() - clock:.3f} s")

    metrics = {}
    if channels.get("test"):
        metrics = _score(model, settings, read_channel("test", channels["test"], settings.feature_dim), stamp)
    clock = time.perf_counter()
    model_bytes = model.to_bytes()
    stamp(f"Serialized the model ({len(model_bytes)} bytes) in {time.perf_counter() - clock:.3f} s")
    total_ms = (time.perf_counter() - started) * 1000
    log(f'#metrics {{"Metrics": {{"totaltime": {{"sum": {total_ms:.3f}, "count": 1, "min": {total_ms:.3f}, '
        f'"max": {total_ms:.3f}}}}}, "Dimensions": {{"Host": "{HOST}", "Operation": "training", "Algorithm": "kNN"}}}}')
    return TrainingResult(model_bytes=model_bytes, metrics=metrics)


def _score(model: KnnModel, settings: Settings, test: tuple[np.ndarray, np.ndarray], stamp: _Log) -> dict[str, float]:
    features, labels = test
    clock = time.perf_counter()
    predicted = model.predict(features)
    stamp(f"test channel: predicted {len(features)} records in {time.perf_counter() - clock:.3f} s")
    if settings.predictor_type == "classifier":
        name, value = "accuracy", float(np.mean(predicted == labels))
    else:
        name, value = "mse", float(np.mean((predicted - labels) ** 2))
    stamp.sink(f"#test_score ({HOST}) : ('{name}', {value})")
    stamp.sink(f"#quality_metric: host={HOST}, test {name} <score>={value}")
    return {f"test:{name}": value}
