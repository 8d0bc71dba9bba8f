"""How many rows the seeded split gives training and testing, and how many of them k-NN samples.

Plain arithmetic, without numpy: `plan` and `up` check k against it before any data is read,
generated or uploaded.
"""

from __future__ import annotations

TEST_FRACTION = 0.1


def test_rows(rows: int, test_fraction: float = TEST_FRACTION) -> int:
    """Rows the split keeps for testing: round(rows × test_fraction)."""
    return int(round(rows * test_fraction))


def training_rows(rows: int) -> int:
    return rows - test_rows(rows)


def rows_for_training(wanted: int) -> int:
    """The fewest rows whose split leaves at least `wanted` rows for training."""
    rows = max(wanted, int(wanted / (1 - TEST_FRACTION)) - 1)
    while training_rows(rows) < wanted:
        rows += 1
    return rows


def sampled_points(training: int, sample_size: int) -> int:
    """The points k-NN keeps in its index: `sample_size` of the training rows, or all of them when fewer."""
    return min(sample_size, training)
