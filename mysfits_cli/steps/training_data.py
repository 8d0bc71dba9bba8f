"""The training data as it goes to S3: rows read or generated, the seeded split, encoded, sharded.

Kept apart from the training step so that commands that only read the stack never import numpy.
"""

from __future__ import annotations

import numpy as np

from .. import ui
from ..errors import MysfitsError
from ..ml import dataset, recordio
from ..options import CSV
from .train import TrainingSpec


def read_rows(spec: TrainingSpec) -> np.ndarray:
    """The rows of the data file (read and checked once per content)."""
    return dataset.read_csv_cached(spec.data["file"], spec.data["sha256"])


def load_rows(spec: TrainingSpec) -> np.ndarray:
    """The rows (answers, label), read from the file or generated."""
    if "file" in spec.data:
        rows = read_rows(spec)
        ui.done(f"Read {len(rows):,} rows from {spec.data['file']}")
        return rows
    rows = dataset.generate(spec.data["rows"], spec.seed)
    ui.done(f"Generated {len(rows):,} rows (seed {spec.seed})")
    return rows


def encode(rows: np.ndarray, content_type: str) -> bytes:
    features, labels = rows[:, :-1], rows[:, -1]
    if content_type == CSV:
        return recordio.encode_csv(features, labels)
    return recordio.encode(features.astype(np.float64), labels.astype(np.float64))


def decode(body: bytes, content_type: str) -> np.ndarray:
    """Rows (answers, label) back from what `encode` wrote."""
    features, labels = recordio.decode_csv(body) if content_type == CSV else recordio.decode(body)
    return np.column_stack([features, labels]).astype(np.int64)


def shards(rows: np.ndarray, count: int, content_type: str) -> dict[str, bytes]:
    extension = "csv" if content_type == CSV else "rec"
    return {
        f"part-{index:04d}-of-{count:04d}.{extension}": encode(part, content_type)
        for index, part in enumerate(np.array_split(rows, count))
    }


def check_shape(rows: np.ndarray, spec: TrainingSpec) -> None:
    if spec.instance_count > 1 and len(rows) < 10 * spec.instance_count:
        raise MysfitsError(f"{len(rows):,} rows are too few to shard over {spec.instance_count} instances")


def split_objects(spec: TrainingSpec, prefix: str) -> dict[str, bytes]:
    """Every object under `<prefix>train/` and `<prefix>test/`: the seeded 90/10 split, encoded, sharded."""
    rows = load_rows(spec)
    check_shape(rows, spec)
    train_rows, test_rows = dataset.split(rows, spec.seed)
    ui.done(f"Split {len(train_rows):,} rows for training, {len(test_rows):,} for testing (seed {spec.seed})")
    made = {f"{prefix}train/{name}": body for name, body in shards(train_rows, spec.instance_count, spec.content_type).items()}
    made.update({f"{prefix}test/{name}": body for name, body in shards(test_rows, 1, spec.content_type).items()})
    return made
