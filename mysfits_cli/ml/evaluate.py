"""Send a test split through a predictor in batches: accuracy, latency and a per-mysfit summary.

Data only; rendering belongs to the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

N_MYSFITS = 12


@dataclass(frozen=True)
class MysfitSummary:
    label: int
    count: int  # rows of the test split whose favourite this mysfit is
    correct: int  # of those, predicted correctly
    recall: float | None  # correct / count, None when count is 0
    predicted: int  # how often the predictor answered this mysfit


@dataclass(frozen=True)
class EvaluationReport:
    rows: int
    batches: int
    correct: int
    accuracy: float
    latency_p50_ms: float
    latency_p99_ms: float
    total_seconds: float
    per_mysfit: list[MysfitSummary]
    bayes_optimal: float | None = None  # the best accuracy any model can expect, when known

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.total_seconds if self.total_seconds > 0 else float("inf")


def evaluate(
    predict_batch: Callable[[np.ndarray], np.ndarray],
    test_rows: np.ndarray,
    batches: int = 100,
    bayes_optimal: float | None = None,
) -> EvaluationReport:
    """Split `test_rows` (answers then label) into `batches` and time `predict_batch` on each."""
    test_rows = np.asarray(test_rows)
    if test_rows.ndim != 2 or test_rows.shape[1] < 2 or len(test_rows) == 0:
        raise ValueError(f"test_rows must be a non-empty (n, features + 1) array, got shape {test_rows.shape}")
    if batches < 1:
        raise ValueError(f"batches must be at least 1, got {batches}")
    features, labels = test_rows[:, :-1], test_rows[:, -1].astype(np.int64)
    predictions, latencies = [], []
    for batch in np.array_split(features, min(batches, len(features))):
        start = time.perf_counter()
        predicted = np.asarray(predict_batch(batch))
        latencies.append(time.perf_counter() - start)
        if predicted.shape != (len(batch),):
            raise ValueError(f"the predictor answered {predicted.shape[0] if predicted.ndim else 0} predictions for {len(batch)} rows")
        predictions.append(predicted)
    predicted = np.rint(np.concatenate(predictions).astype(np.float64)).astype(np.int64)
    hit = predicted == labels
    latency_ms = np.array(latencies) * 1000
    return EvaluationReport(
        rows=len(labels),
        batches=len(latencies),
        correct=int(hit.sum()),
        accuracy=float(hit.mean()),
        latency_p50_ms=float(np.percentile(latency_ms, 50)),
        latency_p99_ms=float(np.percentile(latency_ms, 99)),
        total_seconds=float(sum(latencies)),
        per_mysfit=_per_mysfit(labels, predicted, hit),
        bayes_optimal=bayes_optimal,
    )


def _per_mysfit(labels: np.ndarray, predicted: np.ndarray, hit: np.ndarray) -> list[MysfitSummary]:
    size = max(N_MYSFITS, int(labels.max()) + 1, int(predicted.max(initial=0)) + 1)
    counts = np.bincount(labels, minlength=size)
    correct = np.bincount(labels[hit], minlength=size)
    answered = np.bincount(predicted[predicted >= 0], minlength=size)
    return [
        MysfitSummary(
            label=label, count=int(counts[label]), correct=int(correct[label]),
            recall=float(correct[label] / counts[label]) if counts[label] else None, predicted=int(answered[label]),
        )
        for label in range(size)
    ]
