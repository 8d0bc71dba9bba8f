import gzip

import numpy as np
import pytest

from mysfits_cli.errors import MysfitsError
from mysfits_cli.ml import dataset
from mysfits_cli.ml.dataset import DataFileError


def test_generate_is_deterministic_and_well_formed():
    rows = dataset.generate(5_000, seed=3)
    assert rows.shape == (5_000, 6)
    assert np.issubdtype(rows.dtype, np.integer)
    assert np.array_equal(rows, dataset.generate(5_000, seed=3))
    assert not np.array_equal(rows, dataset.generate(5_000, seed=4))
    assert rows[:, :5].min() == 1 and rows[:, :5].max() == 8
    assert set(np.unique(rows[:, 5])) == set(range(12))
    assert dataset.generate(0, seed=1).shape == (0, 6)


def test_model_is_a_proper_naive_bayes_model():
    assert dataset.prior().shape == (12,)
    assert dataset.prior().sum() == pytest.approx(1)
    probabilities = dataset.answer_probabilities()
    assert probabilities.shape == (12, 5, 8)
    assert np.allclose(probabilities.sum(axis=-1), 1)
    assert (probabilities > 0).all()


def test_label_frequencies_follow_the_prior():
    rows = dataset.generate(60_000, seed=11)
    observed = np.bincount(rows[:, 5], minlength=12) / len(rows)
    assert np.allclose(observed, dataset.prior(), atol=0.006)


def test_bayes_optimal_accuracy_is_meaningful_and_matches_the_data():
    optimum = dataset.bayes_optimal_accuracy()
    assert 0.5 < optimum < 0.8
    rows = dataset.generate(40_000, seed=5)
    empirical = np.mean(dataset.bayes_predict(rows[:, :5]) == rows[:, 5])
    # 40,000 rows: standard error about 0.0024
    assert empirical == pytest.approx(optimum, abs=0.012)


def test_bayes_optimal_accuracy_is_the_exact_sum_over_all_answers():
    prior, probabilities = dataset.prior(), dataset.answer_probabilities()
    answers = np.indices((8,) * 5).reshape(5, -1).T
    joint = prior[None, :] * np.prod([probabilities[:, q, answers[:, q]].T for q in range(5)], axis=0)
    assert joint.sum() == pytest.approx(1)
    assert dataset.bayes_optimal_accuracy() == pytest.approx(joint.max(axis=1).sum(), rel=1e-12)
    assert np.array_equal(dataset.bayes_predict(answers + 1), joint.argmax(axis=1))


def test_bayes_predict_rejects_answers_out_of_range():
    with pytest.raises(ValueError):
        dataset.bayes_predict(np.array([[0, 1, 2, 3, 4]]))


@pytest.mark.parametrize("name", ["rows.csv", "rows.csv.gz"])
def test_csv_round_trip(tmp_path, name):
    rows = dataset.generate(3_000, seed=9)
    path = tmp_path / name
    dataset.write_csv(rows, path)
    raw = path.read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    assert raw.decode().splitlines()[0] == ",".join(map(str, rows[0]))
    assert np.array_equal(dataset.read_csv(path), rows)


def test_read_csv_accepts_crlf_and_trailing_blank_lines(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes(b"1,2,3,4,5,11\r\n8,8,8,8,8,0\r\n\r\n\n")
    assert dataset.read_csv(path).tolist() == [[1, 2, 3, 4, 5, 11], [8, 8, 8, 8, 8, 0]]


def test_write_csv_refuses_rows_it_could_not_read_back(tmp_path):
    with pytest.raises(ValueError):
        dataset.write_csv(np.array([[1, 2, 3, 4, 9, 0]]), tmp_path / "x.csv")


GOOD = "1,2,3,4,5,6"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([GOOD, "1,2,3,4"], "line 2: expected 6 comma-separated integers, found 4"),
        ([GOOD, GOOD, "1,2,3,4,5,6,7"], "line 3: expected 6 comma-separated integers, found 7"),
        (["1,2,x,4,5,6"], "line 1: field 3 is 'x', not an integer"),
        ([GOOD, "1,2,3.5,4,5,6"], "line 2: field 3 is '3.5', not an integer"),
        ([GOOD, "1,2,3,4,5,"], "line 2: field 6 is '', not an integer"),
        ([GOOD, "1,9,3,4,5,6"], "line 2: answer 2 is 9, expected 1-8"),
        (["0,2,3,4,5,6"], "line 1: answer 1 is 0, expected 1-8"),
        ([GOOD, GOOD, "1,2,3,4,5,12"], "line 3: label is 12, expected 0-11"),
        (["1,2,3,4,5,-1"], "line 1: label is -1, expected 0-11"),
        ([GOOD, "", GOOD], "line 2: blank line"),
    ],
)
def test_read_csv_names_file_line_and_problem(tmp_path, lines, message):
    path = tmp_path / "train.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFileError) as caught:
        dataset.read_csv(path)
    assert str(caught.value) == f"{path} {message}"
    assert isinstance(caught.value, MysfitsError)


def test_read_csv_finds_the_bad_line_in_a_big_file(tmp_path):
    rows = dataset.generate(20_000, seed=2)
    path = tmp_path / "big.csv.gz"
    dataset.write_csv(rows, path)
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    lines[17_316] = "1,2,3,4"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    with pytest.raises(DataFileError, match=r"big.csv.gz line 17317: expected 6 comma-separated integers, found 4"):
        dataset.read_csv(path)


def test_read_csv_empty_missing_and_corrupt_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(DataFileError, match="empty.csv: the file is empty"):
        dataset.read_csv(empty)
    with pytest.raises(DataFileError, match="nope.csv: no such file"):
        dataset.read_csv(tmp_path / "nope.csv")
    corrupt = tmp_path / "corrupt.csv.gz"
    corrupt.write_bytes(b"not gzip at all")
    with pytest.raises(DataFileError, match="corrupt.csv.gz ends in .gz but is not a whole gzip file: compress it"):
        dataset.read_csv(corrupt)
    truncated = tmp_path / "truncated.csv.gz"
    truncated.write_bytes(gzip.compress(b"1,2,3,4,5,0\n" * 100)[:-8])
    with pytest.raises(DataFileError, match="truncated.csv.gz ends in .gz but is not a whole gzip file"):
        dataset.read_csv(truncated)
    with pytest.raises(DataFileError, match=f"{tmp_path} is a folder: give the questionnaire CSV file itself"):
        dataset.read_csv(tmp_path)


@pytest.mark.parametrize("header", ["a1,a2,a3,a4,a5,label", '"age","occupation","relax","color","sport","mysfit"'])
def test_a_header_line_is_named_as_one(tmp_path, header):
    path = tmp_path / "with-header.csv"
    path.write_text(f"{header}\n1,2,3,4,5,0\n")
    with pytest.raises(DataFileError, match=r"with-header.csv starts with a header line \(.*\): remove it; every line "
                                            r"must be five answers 1-8 and a label 0-11"):
        dataset.read_csv(path)
    path.write_text("1,2,3,4,5,0\na,b,c,d,e,f\n")  # names further down are a bad line, not a header
    with pytest.raises(DataFileError, match="line 2: field 1 is 'a', not an integer"):
        dataset.read_csv(path)


def test_split_is_seeded_90_10_and_a_partition():
    rows = np.column_stack([dataset.generate(1_000, seed=1)[:, :5], np.arange(1_000) % 12])
    rows = np.column_stack([rows, np.arange(1_000)])  # an id column to follow rows
    train, test = dataset.split(rows, seed=7)
    assert len(train) == 900 and len(test) == 100
    assert sorted(np.concatenate([train, test])[:, -1].tolist()) == list(range(1_000))
    again_train, _ = dataset.split(rows, seed=7)
    other_train, _ = dataset.split(rows, seed=8)
    assert np.array_equal(train, again_train)
    assert not np.array_equal(train, other_train)
    assert len(dataset.split(rows, seed=1, test_fraction=0.25)[1]) == 250
    with pytest.raises(ValueError):
        dataset.split(rows, seed=1, test_fraction=1.0)
