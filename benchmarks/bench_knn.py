"""k-NN prediction: our faiss engine against scikit-learn's kd-tree on the same sample.

    python benchmarks/bench_knn.py [--rows 1000000] [--repeat 3] [--min-speedup 10]
                                   [--max-accuracy-drop 0.005] [--max-memory-mb 1024]

The default data (1,000,000 generated rows, seeded 90/10 split: 900,000 train,
100,000 test). Ours: KnnModel.fit(k=10, sample_size=100000). scikit-learn:
KNeighborsClassifier(n_neighbors=10, algorithm="kd_tree") fitted on the very same
100,000 sampled rows. Both predict the 100,000 test rows (median of --repeat runs).
Our peak memory is the maximum resident set size of a separate process that
generates, splits, fits and predicts. Exits 1 if the speed-up is below
--min-speedup, our accuracy is more than --max-accuracy-drop below scikit-learn's,
or our peak memory is above --max-memory-mb.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import default_split, table, timed  # noqa: E402

from mysfits_cli.ml import dataset  # noqa: E402
from mysfits_cli.ml.knn import KnnModel  # noqa: E402

K, SAMPLE_SIZE = 10, 100_000


def fit_ours(train: np.ndarray) -> KnnModel:
    return KnnModel.fit(train[:, :5], train[:, 5], k=K, sample_size=SAMPLE_SIZE, seed=0)


def measure_memory(rows: int) -> dict:
    """Run generate + split + fit + predict in a fresh process; its peak RSS and timings."""
    start = time.perf_counter()
    train, test = default_split(rows)
    model = fit_ours(train)
    model.predict(test[:, :5])
    return {
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": time.perf_counter() - start,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--min-speedup", type=float, default=10.0)
    parser.add_argument("--max-accuracy-drop", type=float, default=0.005)
    parser.add_argument("--max-memory-mb", type=float, default=1024.0)
    parser.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_probe:
        print(json.dumps(measure_memory(args.rows)))
        return 0
    try:
        from sklearn.neighbors import KNeighborsClassifier
    except ImportError:
        sys.exit("needs the bench extra (scikit-learn): pip install -e '.[bench]'")

    train, test = default_split(args.rows)
    features, labels = test[:, :5], test[:, 5]

    fit_seconds, model = timed(lambda: fit_ours(train), 1)
    sklearn = KNeighborsClassifier(n_neighbors=K, algorithm="kd_tree")
    sklearn_fit_seconds, _ = timed(lambda: sklearn.fit(model.features.astype(np.float64), model.labels), 1)

    ours_seconds, ours_predicted = timed(lambda: model.predict(features), args.repeat)
    sklearn_seconds, sklearn_predicted = timed(lambda: sklearn.predict(features.astype(np.float64)), args.repeat)
    ours_accuracy = float(np.mean(ours_predicted == labels))
    sklearn_accuracy = float(np.mean(sklearn_predicted == labels))
    speedup = sklearn_seconds / ours_seconds

    probe = subprocess.run(
        [sys.executable, __file__, "--memory-probe", "--rows", str(args.rows)],
        capture_output=True, text=True, check=True,
    )
    memory = json.loads(probe.stdout.strip().splitlines()[-1])

    print(f"k-NN, k={K}, sample_size={SAMPLE_SIZE:,} of {len(train):,} train rows; {len(test):,} test rows; "
          f"predict time is the median of {args.repeat}")
    print(table([
        ("engine", "fit s", "predict s", "rows/s", "accuracy"),
        ("mysfits KnnModel (faiss.Flat)", f"{fit_seconds:.3f}", f"{ours_seconds:.3f}",
         f"{len(test) / ours_seconds:,.0f}", f"{ours_accuracy:.4f}"),
        ("scikit-learn kd_tree", f"{sklearn_fit_seconds:.3f}", f"{sklearn_seconds:.3f}",
         f"{len(test) / sklearn_seconds:,.0f}", f"{sklearn_accuracy:.4f}"),
    ]))
    print(f"speed-up: {speedup:.1f}x (target >= {args.min_speedup:g}x)")
    print(f"accuracy: ours - scikit-learn = {ours_accuracy - sklearn_accuracy:+.4f} (target >= {-args.max_accuracy_drop:+.4f}); "
          f"Bayes-optimal {dataset.bayes_optimal_accuracy():.4f}")
    print(f"our peak memory (generate, split, fit, predict in one process): {memory['peak_rss_mb']:.0f} MB "
          f"(target <= {args.max_memory_mb:g} MB)")

    failures = []
    if speedup < args.min_speedup:
        failures.append(f"speed-up {speedup:.1f}x is below {args.min_speedup:g}x")
    if ours_accuracy < sklearn_accuracy - args.max_accuracy_drop:
        failures.append(f"accuracy {ours_accuracy:.4f} is more than {args.max_accuracy_drop} below {sklearn_accuracy:.4f}")
    if memory["peak_rss_mb"] > args.max_memory_mb:
        failures.append(f"peak memory {memory['peak_rss_mb']:.0f} MB is above {args.max_memory_mb:g} MB")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
