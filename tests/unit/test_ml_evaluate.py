import numpy as np
import pytest

from mysfits_cli.ml.evaluate import evaluate


def test_accuracy_latency_and_per_mysfit_summary():
    rows = np.array([[1, 1, 1, 1, 1, label] for label in [0, 0, 0, 1, 1, 2, 2, 2, 2, 5]])
    answers = iter([[0.0, 0.0], [1.0, 3.0], [1.0, 2.0], [2.0, 2.0], [2.0, 0.0]])
    calls = []

    def predict(batch):
        calls.append(len(batch))
        return np.array(next(answers))

    report = evaluate(predict, rows, batches=5, bayes_optimal=0.66)
    assert calls == [2, 2, 2, 2, 2]
    assert report.rows == 10 and report.batches == 5
    # predicted 0 0 1 3 1 2 2 2 2 0 for labels 0 0 0 1 1 2 2 2 2 5
    assert report.correct == 7 and report.accuracy == pytest.approx(0.7)
    assert 0 <= report.latency_p50_ms <= report.latency_p99_ms
    assert report.bayes_optimal == 0.66 and report.total_seconds >= 0
    by_label = {s.label: s for s in report.per_mysfit}
    assert len(report.per_mysfit) == 12
    assert (by_label[0].count, by_label[0].correct, by_label[0].predicted) == (3, 2, 3)
    assert (by_label[1].count, by_label[1].correct, by_label[1].recall) == (2, 1, 0.5)
    assert (by_label[3].count, by_label[3].predicted) == (0, 1)
    assert by_label[4].recall is None
    assert by_label[5].recall == 0.0


def test_fewer_rows_than_batches_and_bad_predictors():
    rows = np.array([[1, 2, 3, 4, 5, 3], [1, 2, 3, 4, 5, 3]])
    report = evaluate(lambda batch: np.full(len(batch), 3.0), rows, batches=100)
    assert report.batches == 2 and report.accuracy == 1.0
    with pytest.raises(ValueError, match="answered"):
        evaluate(lambda batch: np.zeros(len(batch) + 1), rows)
    with pytest.raises(ValueError):
        evaluate(lambda batch: batch[:, 0], rows[:0])
