import base64
import importlib.util
import io
import struct

import numpy as np
import pytest

from mysfits_cli.ml import recordio

FEATURES = np.array([[1, 2, 3, 4, 5], [8, 7, 6, 5, 4], [1.5, -0.25, 0, 1e-300, -7]], dtype=np.float64)
LABELS = np.array([0, 11, 3.5])

# Written once by sagemaker.amazon.common.write_numpy_to_dense_tensor (SDK 2.257.7).
SDK_FLOAT64 = (
    "CiPXzlAAAAAKNgoGdmFsdWVzEiwaKgooAAAAAAAA8D8AAAAAAAAAQAAAAAAAAAhAAAAAAAAAEEAAAAAAAAAUQBIWCgZ2YWx1ZXMS"
    "DBoKCggAAAAAAAAAAAoj185QAAAACjYKBnZhbHVlcxIsGioKKAAAAAAAACBAAAAAAAAAHEAAAAAAAAAYQAAAAAAAABRAAAAAAAAA"
    "EEASFgoGdmFsdWVzEgwaCgoIAAAAAAAAJkAKI9fOUAAAAAo2CgZ2YWx1ZXMSLBoqCigAAAAAAAD4PwAAAAAAANC/AAAAAAAAAABZ"
    "8/jCH26lAQAAAAAAABzAEhYKBnZhbHVlcxIMGgoKCAAAAAAAAAxA"
)
SDK_FLOAT32_3COLS = (
    "CiPXzjAAAAAKGgoGdmFsdWVzEhASDgoMAACAPwAAAEAAAEBAEhIKBnZhbHVlcxIIEgYKBAAAAAAKI9fOMAAAAAoaCgZ2YWx1ZXMS"
    "EBIOCgwAAABBAADgQAAAwEASEgoGdmFsdWVzEggSBgoEAAAwQQoj184wAAAAChoKBnZhbHVlcxIQEg4KDAAAwD8AAIC+AAAAABIS"
    "CgZ2YWx1ZXMSCBIGCgQAAGBA"
)
SDK_NO_LABELS = (
    "CiPXzjgAAAAKNgoGdmFsdWVzEiwaKgooAAAAAAAA8D8AAAAAAAAAQAAAAAAAAAhAAAAAAAAAEEAAAAAAAAAUQAoj1844AAAACjYK"
    "BnZhbHVlcxIsGioKKAAAAAAAACBAAAAAAAAAHEAAAAAAAAAYQAAAAAAAABRAAAAAAAAAEEA="
)


def test_bytes_equal_the_sdk_reference():
    assert recordio.encode(FEATURES, LABELS) == base64.b64decode(SDK_FLOAT64)
    assert recordio.encode(FEATURES[:, :3].astype(np.float32), LABELS.astype(np.float32)) == base64.b64decode(
        SDK_FLOAT32_3COLS
    )
    assert recordio.encode(FEATURES[:2]) == base64.b64decode(SDK_NO_LABELS)


def test_write_to_a_file_object_gives_the_same_bytes():
    buffer = io.BytesIO()
    assert recordio.write(buffer, FEATURES, LABELS) == len(base64.b64decode(SDK_FLOAT64))
    assert buffer.getvalue() == base64.b64decode(SDK_FLOAT64)


def test_framing_is_magic_length_and_padding():
    data = recordio.encode(np.ones((1, 15)), np.array([2.0]))  # a 161-byte record
    magic, length = struct.unpack_from("<II", data)
    assert magic == 0xCED7230A
    assert len(data) == 8 + length + (-length % 4)
    assert len(data) % 4 == 0 and length % 4 != 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip(dtype):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 7)).astype(dtype)
    labels = rng.integers(0, 12, 200).astype(dtype)
    decoded_features, decoded_labels = recordio.decode(recordio.encode(features, labels))
    assert decoded_features.dtype == np.float64 and decoded_labels.dtype == np.float64
    assert np.array_equal(decoded_features, features.astype(np.float64))
    assert np.array_equal(decoded_labels, labels.astype(np.float64))


def test_integer_input_is_written_as_float64():
    rows = np.array([[1, 2, 3, 4, 5, 6]])
    assert recordio.encode(rows[:, :5], rows[:, 5]) == recordio.encode(rows[:, :5].astype(float), rows[:, 5].astype(float))


def test_decode_without_labels_and_empty_input():
    features, labels = recordio.decode(base64.b64decode(SDK_NO_LABELS))
    assert labels is None and np.array_equal(features, FEATURES[:2])
    assert recordio.encode(np.empty((0, 5))) == b""
    assert recordio.decode(b"")[0].shape[0] == 0


def test_decode_handles_mixed_layouts_and_multipart_records():
    mixed = recordio.encode(FEATURES[:1], LABELS[:1]) + recordio.encode(
        FEATURES[1:].astype(np.float32), LABELS[1:].astype(np.float32)
    )
    features, labels = recordio.decode(mixed)
    assert np.allclose(features, FEATURES) and np.allclose(labels, LABELS)

    payload = recordio.split_records(recordio.encode(FEATURES[:1], LABELS[:1]))[0]
    first, second = payload[:10], payload[10:]

    def frame(part, flag):
        return struct.pack("<II", recordio.MAGIC, flag << 29 | len(part)) + part + bytes(-len(part) % 4)

    # a multi-part record is joined with the magic number between its parts
    magic = struct.pack("<I", recordio.MAGIC)
    assert recordio.split_records(frame(first, 1) + frame(second, 3)) == [first + magic + second]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x01\x02\x03\x04\x05\x06\x07", "bad magic"),
        (b"garbage!", "bad magic"),
        (struct.pack("<II", recordio.MAGIC, 100) + b"short", "truncated"),
        (struct.pack("<I", recordio.MAGIC) + b"\x01", "truncated"),
        (struct.pack("<II", recordio.MAGIC, 4) + b"\x0a\xff\xff\xff", "protobuf"),
    ],
)
def test_decode_rejects_garbage_with_value_error(data, message):
    with pytest.raises(ValueError, match=message):
        recordio.decode(data)


def test_decode_rejects_records_of_different_widths():
    data = recordio.encode(FEATURES[:1]) + recordio.encode(FEATURES[:1, :3])
    with pytest.raises(ValueError, match="record 1 has 3 features"):
        recordio.decode(data)


def test_encode_rejects_bad_shapes():
    with pytest.raises(ValueError):
        recordio.encode(np.zeros(5))
    with pytest.raises(ValueError):
        recordio.encode(np.zeros((3, 5)), np.zeros(2))


def test_csv_round_trip_puts_the_label_first():
    data = recordio.encode_csv(np.array([[1, 2, 3, 4, 5], [8, 8, 8, 8, 8]]), np.array([11, 0]))
    assert data == b"11,1,2,3,4,5\n0,8,8,8,8,8\n"
    features, labels = recordio.decode_csv(data)
    assert features.tolist() == [[1, 2, 3, 4, 5], [8, 8, 8, 8, 8]] and labels.tolist() == [11, 0]
    floats = recordio.encode_csv(np.array([[0.5, -1e-9]]), np.array([2.0]))
    assert recordio.decode_csv(floats)[0].tolist() == [[0.5, -1e-9]]
    features, labels = recordio.decode_csv(b"1.5,2\r\n3,4\r\n\r\n", label_size=0)
    assert features.tolist() == [[1.5, 2], [3, 4]] and labels is None


def test_decode_csv_rejects_ragged_or_non_numeric_text():
    with pytest.raises(ValueError, match="line 2"):
        recordio.decode_csv(b"1,2,3\n1,2\n")
    with pytest.raises(ValueError, match="'abc' is not a number"):
        recordio.decode_csv(b"1,2,abc\n")


@pytest.mark.skipif(importlib.util.find_spec("sagemaker") is None, reason="SageMaker Python SDK 2.x not installed")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_random_arrays_match_the_installed_sdk(dtype):
    try:
        from sagemaker.amazon.common import write_numpy_to_dense_tensor
    except ImportError:
        pytest.skip("this SageMaker SDK has no write_numpy_to_dense_tensor")
    rng = np.random.default_rng(42)
    for rows, columns in [(1, 1), (50, 5), (20, 33), (7, 300)]:
        features = (rng.normal(size=(rows, columns)) * 10.0 ** rng.integers(-30, 30, size=(rows, columns))).astype(dtype)
        labels = rng.integers(0, 1000, rows).astype(dtype)
        buffer = io.BytesIO()
        try:
            write_numpy_to_dense_tensor(buffer, features, labels)
        except NotImplementedError:
            pytest.skip("SageMaker SDK 3.x no longer writes RecordIO-protobuf")
        assert recordio.encode(features, labels) == buffer.getvalue()
