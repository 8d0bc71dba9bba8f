"""RecordIO-protobuf encoding: ours against the SageMaker SDK's write_numpy_to_dense_tensor.

    python benchmarks/bench_recordio.py [--rows 1000000] [--repeat 3] [--min-ratio 20]

Encodes the default data's train split (900,000 rows of five float64 answers and a
float64 label, as the workshop notebook's np.loadtxt data) with both, each into a fresh
io.BytesIO, in the same run; checks the bytes are identical; exits 1 if ours is less
than --min-ratio times faster.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import default_split, sagemaker_sdk_writer, table, timed  # noqa: E402

from mysfits_cli.ml import recordio  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows generated before the 90/10 split")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each encoder; the median counts")
    parser.add_argument("--min-ratio", type=float, default=20.0)
    args = parser.parse_args(argv)

    write_numpy_to_dense_tensor = sagemaker_sdk_writer()
    train, _ = default_split(args.rows)
    features, labels = train[:, :5].astype(np.float64), train[:, 5].astype(np.float64)

    def sdk() -> io.BytesIO:
        buffer = io.BytesIO()
        write_numpy_to_dense_tensor(buffer, features, labels)
        return buffer

    def ours() -> io.BytesIO:
        buffer = io.BytesIO()
        recordio.write(buffer, features, labels)
        return buffer

    ours_seconds, ours_buffer = timed(ours, args.repeat)
    sdk_seconds, sdk_buffer = timed(sdk, args.repeat)
    ours_bytes = ours_buffer.getvalue()
    identical = ours_bytes == sdk_buffer.getvalue()
    ratio = sdk_seconds / ours_seconds
    print(f"RecordIO-protobuf, {len(features):,} rows x {features.shape[1]} float64 features + float64 label, "
          f"{len(ours_bytes):,} bytes (median of {args.repeat})")
    print(table([
        ("encoder", "seconds", "rows/s"),
        ("sagemaker write_numpy_to_dense_tensor", f"{sdk_seconds:.3f}", f"{len(features) / sdk_seconds:,.0f}"),
        ("mysfits recordio.write", f"{ours_seconds:.3f}", f"{len(features) / ours_seconds:,.0f}"),
    ]))
    print(f"speed-up: {ratio:.1f}x (target >= {args.min_ratio:g}x); bytes identical: {identical}")
    if not identical:
        print("FAIL: the encodings differ", file=sys.stderr)
        return 1
    if ratio < args.min_ratio:
        print(f"FAIL: speed-up {ratio:.1f}x is below {args.min_ratio:g}x", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
