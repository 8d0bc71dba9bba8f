"""Shared bits of the benchmark scripts: the default data set and the reference libraries."""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np

from mysfits_cli.ml import dataset

ROWS, SEED = 1_000_000, 42  # what `mysfits train` generates and splits by default


def default_split(rows: int = ROWS, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    return dataset.split(dataset.generate(rows, seed), seed)


def sagemaker_sdk_writer() -> Callable:
    """SDK 2.x's write_numpy_to_dense_tensor, or exit 2 saying how to get it."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    logging.getLogger("sagemaker.config").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from sagemaker.amazon.common import write_numpy_to_dense_tensor
        except ImportError:
            sys.exit("needs the bench extra (SageMaker Python SDK 2.x): pip install -e '.[bench]'")
    return write_numpy_to_dense_tensor


def timed(function: Callable, repeat: int) -> tuple[float, object]:
    """(median wall seconds over `repeat` calls, the last result)."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
