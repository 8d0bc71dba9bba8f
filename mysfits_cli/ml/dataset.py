"""The questionnaire data set: five answers (1-8) and the favourite mysfit's label (0-11).

A row is ``a1,a2,a3,a4,a5,label``. Rows are drawn from a naive-Bayes model whose
parameters all come from the attributes in ``mysfits.json``:

* Prior: mysfit ``y`` is picked with probability proportional to
  ``GOOD_EVIL_WEIGHT[goodevil] * LAW_CHAOS_WEIGHT[lawchaos]`` (good and chaotic
  mysfits are a little more popular).
* Answers are independent given the mysfit. Each mysfit has a preferred point
  ``c[y, q]`` on the 1-8 scale of question ``q``; the answer is
  ``P(v | y, q) = (1 - NOISE) * G(v; c[y, q], SPREAD) + NOISE / 8``, where ``G`` is a
  Gaussian bump over v = 1..8 normalised to sum to 1 and ``NOISE / 8`` is the chance
  of a uniformly random answer. The preferred points:

  - q1 "How old are you?": the mysfit's age rank among the twelve, spread
    evenly over 1..8 (the youngest mysfit is liked by the youngest answer);
  - q2 "occupation": lawchaos — Lawful 2, Neutral 4.5, Chaotic 7;
  - q3 "relaxing activity": goodevil — Good 2, Neutral 4.5, Evil 7;
  - q4 "colour" and q5 "extreme sport": ``1 + crc32(question id + species) % 8``,
    a fixed, arbitrary taste per species.

Neighbouring answers get similar probabilities, so Euclidean nearest neighbours are a
sensible classifier here; the Bayes-optimal accuracy is about 0.66 (12 classes,
chance is 0.083).
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from mysfits_cli import reference
from mysfits_cli.errors import MysfitsError
from mysfits_cli.ml import sizes, textio

N_QUESTIONS = 5
N_ANSWERS = 8
N_MYSFITS = 12
SPREAD = 1.5
NOISE = 0.1
GOOD_EVIL_WEIGHT = {"Good": 1.3, "Neutral": 1.0, "Evil": 0.8}
LAW_CHAOS_WEIGHT = {"Lawful": 0.9, "Neutral": 1.0, "Chaotic": 1.2}
_SCALE = {"Lawful": 2.0, "Good": 2.0, "Neutral": 4.5, "Chaotic": 7.0, "Evil": 7.0}


class DataFileError(MysfitsError):
    """A data file the user gave us is not a valid questionnaire CSV."""


@lru_cache(maxsize=1)
def _model() -> tuple[np.ndarray, np.ndarray]:
    """(prior (12,), answer probabilities (12, 5, 8)) of the generative model."""
    mysfits = sorted(reference.mysfits(), key=lambda m: m["label"])
    assert [m["label"] for m in mysfits] == list(range(N_MYSFITS))
    prior = np.array([GOOD_EVIL_WEIGHT[m["goodevil"]] * LAW_CHAOS_WEIGHT[m["lawchaos"]] for m in mysfits])
    prior /= prior.sum()

    age_rank = np.argsort(np.argsort([m["age"] for m in mysfits], kind="stable"), kind="stable")
    centres = np.empty((N_MYSFITS, N_QUESTIONS))
    centres[:, 0] = 1 + age_rank * (N_ANSWERS - 1) / (N_MYSFITS - 1)
    centres[:, 1] = [_SCALE[m["lawchaos"]] for m in mysfits]
    centres[:, 2] = [_SCALE[m["goodevil"]] for m in mysfits]
    for q, question in ((3, "color"), (4, "sport")):
        centres[:, q] = [1 + zlib.crc32(f"{question}{m['species']}".encode()) % N_ANSWERS for m in mysfits]

    values = np.arange(1, N_ANSWERS + 1)
    bump = np.exp(-((values - centres[:, :, None]) ** 2) / (2 * SPREAD**2))
    bump /= bump.sum(axis=-1, keepdims=True)
    probabilities = (1 - NOISE) * bump + NOISE / N_ANSWERS
    prior.flags.writeable = probabilities.flags.writeable = False
    return prior, probabilities


def prior() -> np.ndarray:
    """P(mysfit), shape (12,)."""
    return _model()[0]


def answer_probabilities() -> np.ndarray:
    """P(answer v | mysfit y, question q) at [y, q, v - 1], shape (12, 5, 8)."""
    return _model()[1]


def generate(rows: int, seed: int) -> np.ndarray:
    """Draw `rows` rows (answers then label) from the model; the same seed gives the same rows."""
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    pri, prob = _model()
    rng = np.random.default_rng(seed)
    labels = rng.choice(N_MYSFITS, size=rows, p=pri)
    uniform = rng.random((rows, N_QUESTIONS))
    out = np.empty((rows, N_QUESTIONS + 1), dtype=np.int64)
    out[:, -1] = labels
    cdf = np.cumsum(prob, axis=-1)
    cdf[..., -1] = 1.0
    for q in range(N_QUESTIONS):
        # Class y's CDF shifted by y, all twelve laid end to end: one searchsorted
        # samples every row from its own mysfit's distribution.
        shifted = (cdf[:, q, :] + np.arange(N_MYSFITS)[:, None]).ravel()
        index = np.searchsorted(shifted, labels + uniform[:, q], side="right")
        out[:, q] = index - labels * N_ANSWERS + 1
    return out


def _all_answers() -> np.ndarray:
    return np.array(list(itertools.product(range(1, N_ANSWERS + 1), repeat=N_QUESTIONS)))


def _log_joint(features: np.ndarray) -> np.ndarray:
    """log P(y) + sum_q log P(x_q | y), shape (n, 12)."""
    pri, prob = _model()
    x = np.asarray(features, dtype=np.int64) - 1
    if x.ndim != 2 or x.shape[1] != N_QUESTIONS or x.min(initial=0) < 0 or x.max(initial=0) >= N_ANSWERS:
        raise ValueError(f"features must be an (n, {N_QUESTIONS}) array of answers 1-{N_ANSWERS}")
    logp = np.log(prob)
    out = np.broadcast_to(np.log(pri), (len(x), N_MYSFITS)).copy()
    for q in range(N_QUESTIONS):
        out += logp[:, q, x[:, q]].T
    return out


def bayes_predict(features: np.ndarray) -> np.ndarray:
    """The Bayes-optimal label for each row of answers (ties go to the smaller label)."""
    return np.argmax(_log_joint(features), axis=1)


def bayes_optimal_accuracy() -> float:
    """Exact accuracy of `bayes_predict`: sum over all 8^5 answer rows of max_y P(y) P(x | y)."""
    joint = np.exp(_log_joint(_all_answers()))
    return float(joint.max(axis=1).sum())


def validate(rows: np.ndarray) -> np.ndarray:
    """Return `rows` as an int64 (n, 6) array, or raise ValueError if any value is out of range."""
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] != N_QUESTIONS + 1:
        raise ValueError(f"rows must have shape (n, {N_QUESTIONS + 1}), got {rows.shape}")
    if not np.issubdtype(rows.dtype, np.integer):
        if not np.array_equal(rows, np.round(rows)):
            raise ValueError("rows must hold integers")
    rows = rows.astype(np.int64, copy=False)
    answers, labels = rows[:, :N_QUESTIONS], rows[:, N_QUESTIONS]
    if answers.size and (answers.min() < 1 or answers.max() > N_ANSWERS):
        raise ValueError(f"answers must be 1-{N_ANSWERS}")
    if labels.size and (labels.min() < 0 or labels.max() >= N_MYSFITS):
        raise ValueError(f"labels must be 0-{N_MYSFITS - 1}")
    return rows


def write_csv(rows: np.ndarray, path: str | Path) -> None:
    """Write rows as CSV lines ``a1,a2,a3,a4,a5,label``; gzip-compressed when the name ends .gz."""
    rows = validate(rows)
    path = Path(path)
    opener = (lambda p: gzip.open(p, "wb", compresslevel=6)) if path.name.endswith(".gz") else (lambda p: open(p, "wb"))
    with opener(path) as out:
        for start in range(0, len(rows), 250_000):
            out.write(textio.format_int_rows(rows[start : start + 250_000]))


def file_sha256(path: str | Path) -> str:
    """The file's SHA-256: what identifies the data a training job was given."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise _unreadable(path, error) from None
    return digest.hexdigest()


def _unreadable(path: str | Path, error: OSError) -> DataFileError:
    if isinstance(error, FileNotFoundError):
        return DataFileError(f"{path}: no such file")
    if isinstance(error, IsADirectoryError):
        return DataFileError(f"{path} is a folder: give the questionnaire CSV file itself")
    return DataFileError(f"{path}: cannot read: {error.strerror or error}")


@lru_cache(maxsize=2)
def read_csv_cached(path: str, sha256: str) -> np.ndarray:
    """`read_csv` once per file content: checked before anything is created, uploaded later in the same run."""
    rows = read_csv(path)
    if file_sha256(path) != sha256:
        raise DataFileError(f"{path} changed while it was read: run the command again")
    rows.setflags(write=False)
    return rows


def read_csv(path: str | Path) -> np.ndarray:
    """Read and check a questionnaire CSV (gzip when the name ends .gz); int64 array (n, 6).

    Raises DataFileError naming the file, the 1-based line and the problem.
    """
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise _unreadable(path, error) from None
    if name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            raise DataFileError(f"{name} ends in .gz but is not a whole gzip file: compress it with gzip, or drop "
                                ".gz from its name if it is plain CSV") from None

    text = textio.normalise(raw)
    if not text:
        raise DataFileError(f"{name}: the file is empty")
    rows = textio.parse_int_rows(text)
    if rows is not None and rows.shape[1] == N_QUESTIONS + 1:
        try:
            return validate(rows)
        except ValueError:
            pass
    return _read_slowly(name, text)


def _read_slowly(name: str, text: bytes) -> np.ndarray:
    """Check line by line; only reached when the fast parse found something wrong."""
    parsed = []
    for number, line in enumerate(text.decode("utf-8", errors="replace").split("\n"), start=1):
        problem, row = _check_line(line)
        if problem and number == 1 and _is_header(line):
            raise DataFileError(f"{name} starts with a header line ({line.strip()[:60]}): remove it; every line "
                                f"must be five answers 1-{N_ANSWERS} and a label 0-{N_MYSFITS - 1}, as a1,a2,a3,a4,a5,label")
        if problem:
            raise DataFileError(f"{name} line {number}: {problem}")
        parsed.append(row)
    return np.array(parsed, dtype=np.int64)


def _is_header(line: str) -> bool:
    """Names, not numbers: a line none of whose fields is a number."""
    fields = [field.strip().strip('"') for field in line.split(",")]
    return len(fields) > 1 and not any(textio.is_plain_int(field) for field in fields) and all(fields)


def _check_line(line: str) -> tuple[str | None, list[int]]:
    if not line.strip():
        return "blank line", []
    fields = line.split(",")
    if len(fields) != N_QUESTIONS + 1:
        return f"expected {N_QUESTIONS + 1} comma-separated integers, found {len(fields)}", []
    row = []
    for position, field in enumerate(fields, start=1):
        if not textio.is_plain_int(field):
            return f"field {position} is {field.strip()[:20]!r}, not an integer", []
        row.append(int(field))
    for question, value in enumerate(row[:N_QUESTIONS], start=1):
        if not 1 <= value <= N_ANSWERS:
            return f"answer {question} is {value}, expected 1-{N_ANSWERS}", []
    if not 0 <= row[-1] < N_MYSFITS:
        return f"label is {row[-1]}, expected 0-{N_MYSFITS - 1}", []
    return None, row


def split(rows: np.ndarray, seed: int, test_fraction: float = sizes.TEST_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle with `seed`, then cut into (train, test); test has round(n * test_fraction) rows."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    rows = np.asarray(rows)
    shuffled = rows[np.random.default_rng(seed).permutation(len(rows))]
    n_test = sizes.test_rows(len(rows), test_fraction)
    return shuffled[: len(rows) - n_test], shuffled[len(rows) - n_test :]
