"""Fast CSV text for numeric matrices: numpy formatting and parsing, no Python loop per row."""

from __future__ import annotations

import re

import numpy as np

_PLAIN_INT = re.compile(r"\s*-?\d+\s*")
_NEWLINE, _COMMA, _MINUS, _ZERO = 10, 44, 45, 48


def is_plain_int(field: str) -> bool:
    """True for an optionally signed run of decimal digits (surrounding blanks allowed)."""
    return _PLAIN_INT.fullmatch(field) is not None


def normalise(raw: bytes) -> bytes:
    """CRLF to LF, trailing blank lines and whitespace dropped."""
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n")
    return raw.rstrip(b" \t\r\n")


def format_int_rows(rows: np.ndarray) -> bytes:
    """``1,2,3\\n`` lines for an integer matrix."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.ndim != 2:
        raise ValueError("expected a 2-D array")
    if rows.size == 0:
        return b""
    magnitude = np.abs(rows)
    width = len(str(int(magnitude.max())))
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    cells = np.empty(rows.shape + (width + 2,), dtype=np.uint8)
    keep = np.empty(cells.shape, dtype=bool)
    cells[..., 0] = _MINUS
    keep[..., 0] = rows < 0
    cells[..., 1:-1] = (magnitude[..., None] // powers) % 10 + _ZERO
    keep[..., 1:-1] = (magnitude[..., None] >= powers) | (powers == 1)
    cells[..., -1] = _COMMA
    cells[:, -1, -1] = _NEWLINE
    keep[..., -1] = True
    return cells[keep].tobytes()


def format_rows(matrix: np.ndarray) -> bytes:
    """CSV lines for a numeric matrix: integers as integers, other values as shortest repr."""
    matrix = np.asarray(matrix)
    if np.issubdtype(matrix.dtype, np.integer):
        return format_int_rows(matrix)
    if np.all(np.isfinite(matrix)) and np.array_equal(matrix, np.round(matrix)) and np.abs(matrix).max(initial=0) < 2**53:
        return format_int_rows(matrix.astype(np.int64))
    return "".join(",".join(map(repr, row)) + "\n" for row in matrix.astype(np.float64).tolist()).encode()


def parse_int_rows(text: bytes, max_digits: int = 18) -> np.ndarray | None:
    """Parse strict integer CSV (no blanks, same field count on every line) into int64 (n, m).

    Returns None when the text is not exactly that, so the caller can look closer.
    """
    if not text:
        return None
    buf = np.frombuffer(text + b"\n", dtype=np.uint8)
    is_newline = buf == _NEWLINE
    is_sep = is_newline | (buf == _COMMA)
    seps = np.flatnonzero(is_sep)
    n_lines = int(is_newline.sum())
    if len(seps) % n_lines:
        return None
    kinds = is_newline[seps].reshape(n_lines, -1)
    if not kinds[:, -1].all() or kinds[:, :-1].any():
        return None

    starts = np.empty_like(seps)
    starts[0] = 0
    starts[1:] = seps[:-1] + 1
    negative = buf[starts] == _MINUS
    digit_starts = starts + negative
    lengths = seps - digit_starts
    if lengths.min() < 1 or lengths.max() > max_digits:
        return None
    allowed = ((buf >= _ZERO) & (buf <= _ZERO + 9)) | is_sep
    allowed[starts[negative]] = True
    if not allowed.all():
        return None

    values = np.zeros(len(seps), dtype=np.int64)
    for j in range(int(lengths.max())):
        has_digit = j < lengths
        digit = buf[np.minimum(digit_starts + j, len(buf) - 1)].astype(np.int64) - _ZERO
        values = np.where(has_digit, values * 10 + digit, values)
    values[negative] *= -1
    return values.reshape(n_lines, -1)


def parse_float_rows(text: bytes) -> np.ndarray:
    """Parse numeric CSV (same field count on every line) into float64 (n, m); ValueError if not."""
    ints = parse_int_rows(text)
    if ints is not None:
        return ints.astype(np.float64)
    lines = text.split(b"\n")
    width = lines[0].count(b",") + 1
    for number, line in enumerate(lines, start=1):
        if line.count(b",") + 1 != width:
            raise ValueError(f"line {number}: expected {width} comma-separated values, found {line.count(b',') + 1}")
    tokens = text.replace(b"\n", b",").split(b",")
    try:
        values = np.array([float(token) for token in tokens], dtype=np.float64)
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise ValueError(f"{bad.decode(errors='replace').strip()[:20]!r} is not a number") from None
    return values.reshape(len(lines), width)


def _is_float(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
