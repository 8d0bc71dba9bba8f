"""RecordIO-protobuf, as SageMaker's built-in algorithms read it, written with numpy.

Each row becomes one ``aialgs.data.Record`` protobuf message::

    Record { features: map<string, Value> = 1; label: map<string, Value> = 2; ... }
    Value  { Float32Tensor float32_tensor = 2; Float64Tensor float64_tensor = 3; Int32Tensor int32_tensor = 7; }
    Tensor { repeated <type> values = 1 [packed]; repeated uint64 keys = 2; repeated uint64 shape = 3; }

with ``features["values"]`` holding the row and ``label["values"]`` the label, framed the
MXNet RecordIO way: magic 0xced7230a, a uint32 whose low 29 bits are the length and top
3 bits a continuation flag (always 0 here), the record, zero padding to 4 bytes.

`encode` is byte-identical to ``sagemaker.amazon.common.write_numpy_to_dense_tensor``
(SDK 2.x) for float64 and float32 arrays: every row of a given shape has the same byte
layout, so one template row is built and the float bytes are copied in with numpy.
Integer arrays are written as float64 (the SDK would write an Int32Tensor; the
workshop's data, read with ``np.loadtxt``, is float64).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import BinaryIO

import numpy as np

from mysfits_cli.ml import textio

MAGIC = 0xCED7230A
_LENGTH_MASK = (1 << 29) - 1
_TENSOR_FIELD = {np.dtype("<f4"): 2, np.dtype("<f8"): 3}  # Value.float32_tensor / float64_tensor
_FEATURES, _LABEL = 1, 2  # Record fields


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _float_dtype(array: np.ndarray) -> np.dtype:
    if array.dtype == np.float32:
        return np.dtype("<f4")
    return np.dtype("<f8")


def _records(features: Mapping[str, np.ndarray], label: Mapping[str, np.ndarray] | None) -> np.ndarray:
    """Framed records as an (n, record size) uint8 array; each map entry is (n, d) or (n,)."""
    columns = [(_FEATURES, key, value) for key, value in features.items()]
    columns += [(_LABEL, key, value) for key, value in (label or {}).items()]
    if not columns:
        raise ValueError("nothing to encode")
    arrays = []
    for _, key, value in columns:
        value = np.asarray(value)
        value = value.reshape(len(value), -1) if value.ndim == 1 else value
        if value.ndim != 2 or value.shape[1] == 0:
            raise ValueError(f"{key!r} must be a non-empty (n, d) or (n,) array, got shape {value.shape}")
        arrays.append(value.astype(_float_dtype(value), copy=False))
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"all arrays must have the same number of rows, got {[len(a) for a in arrays]}")

    record, spans = b"", []
    for (field, key, _), array in zip(columns, arrays):
        width = array.shape[1] * array.dtype.itemsize
        tensor = _length_delimited(1, bytes(width))
        value = _length_delimited(_TENSOR_FIELD[array.dtype], tensor)
        entry = _length_delimited(1, key.encode()) + _length_delimited(2, value)
        record += _length_delimited(field, entry)
        spans.append((8 + len(record) - width, 8 + len(record)))  # the values end the entry
    template = np.frombuffer(struct.pack("<II", MAGIC, len(record)) + record + bytes(-len(record) % 4), dtype=np.uint8)

    out = np.empty((n, len(template)), dtype=np.uint8)
    constant_from = 0
    for (start, end), array in zip(spans, arrays):
        out[:, constant_from:start] = template[constant_from:start]
        out[:, start:end] = np.ascontiguousarray(array).view(np.uint8).reshape(n, end - start)
        constant_from = end
    out[:, constant_from:] = template[constant_from:]
    return out


def encode_records(features: Mapping[str, np.ndarray], label: Mapping[str, np.ndarray] | None = None) -> bytes:
    """Encode n records; each map entry is an (n, d) or (n,) float array of the same n."""
    return _records(features, label).tobytes()


def _dense(features: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    features = np.asarray(features)
    if features.ndim != 2:
        raise ValueError(f"features must be a matrix, got shape {features.shape}")
    if labels is None:
        return _records({"values": features}, None)
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(features):
        raise ValueError(f"labels must be a vector of {len(features)} values, got shape {labels.shape}")
    return _records({"values": features}, {"values": labels})


def encode(features: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    """RecordIO-protobuf for (n, d) features and optional (n,) labels."""
    return _dense(features, labels).tobytes()


def write(file: BinaryIO, features: np.ndarray, labels: np.ndarray | None = None) -> int:
    """`encode` straight into a binary file object (like the SDK's write_numpy_to_dense_tensor); bytes written."""
    records = _dense(features, labels)
    file.write(records.reshape(-1).data)
    return records.size


# -- decoding -----------------------------------------------------------------


def split_records(data: bytes) -> list[bytes]:
    """The record payloads of a RecordIO stream (multi-part records are joined)."""
    records, parts = [], []
    view, offset = memoryview(data), 0
    while offset < len(data):
        if len(data) - offset < 8:
            raise ValueError(f"truncated RecordIO header at byte {offset}")
        magic, word = struct.unpack_from("<II", data, offset)
        if magic != MAGIC:
            raise ValueError(f"not RecordIO: bad magic 0x{magic:08x} at byte {offset}")
        length, flag = word & _LENGTH_MASK, word >> 29
        end = offset + 8 + length
        if end > len(data):
            raise ValueError(f"truncated RecordIO record at byte {offset}")
        payload = bytes(view[offset + 8 : end])
        offset = end + (-length % 4)
        if flag == 0:
            records.append(payload)
        elif flag == 1:
            parts = [payload]
        elif flag in (2, 3) and parts:
            parts.append(payload)
            if flag == 3:
                records.append(struct.pack("<I", MAGIC).join(parts))
                parts = []
        else:
            raise ValueError(f"bad RecordIO continuation flag {flag} at byte {offset}")
    if parts:
        raise ValueError("RecordIO stream ends inside a multi-part record")
    return records


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("malformed protobuf varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _fields(data: bytes, start: int = 0, end: int | None = None):
    """Yield (field number, wire type, value or (start, end) of a length-delimited payload)."""
    pos, end = start, len(data) if end is None else end
    while pos < end:
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        elif wire == 2:
            length, pos = _read_varint(data, pos)
            value, pos = (pos, pos + length), pos + length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > end:
            raise ValueError("protobuf field runs past the end of its message")
        yield field, wire, value


def _tensor(data: bytes, start: int, end: int, kind: int) -> tuple[np.ndarray, int]:
    """Values of a Float32/Float64/Int32 tensor and the byte offset of a packed value block."""
    dtype = {2: np.dtype("<f4"), 3: np.dtype("<f8")}.get(kind)
    values, packed_at = [], -1
    for field, wire, value in _fields(data, start, end):
        if field == 1:
            if wire == 2 and dtype is not None:
                block = np.frombuffer(data[value[0] : value[1]], dtype=dtype)
                packed_at = value[0] if not values else -1
                values.append(block.astype(np.float64))
            elif wire == 2:  # packed int32 varints
                pos, items = value[0], []
                while pos < value[1]:
                    item, pos = _read_varint(data, pos)
                    items.append(item - (1 << 64) if item >= 1 << 63 else item)
                values.append(np.array(items, dtype=np.float64))
            elif wire in (1, 5):
                values.append(np.frombuffer(value, dtype=dtype).astype(np.float64))
            else:
                values.append(np.array([value - (1 << 64) if value >= 1 << 63 else value], dtype=np.float64))
        elif field == 2:
            raise ValueError("sparse tensors (keys) are not supported")
    return (np.concatenate(values) if values else np.empty(0)), packed_at


def _map(data: bytes, start: int, end: int) -> dict[str, tuple[np.ndarray, int, int]]:
    """A map<string, Value>: key -> (values, tensor field, byte offset of the packed values)."""
    key, found = "", None
    for field, wire, value in _fields(data, start, end):
        if field == 1 and wire == 2:
            key = data[value[0] : value[1]].decode("utf-8", errors="replace")
        elif field == 2 and wire == 2:
            for kind, kind_wire, span in _fields(data, *value):
                if kind in (2, 3, 7) and kind_wire == 2:
                    values, at = _tensor(data, *span, kind)
                    found = (values, kind, at)
                elif kind == 9:
                    raise ValueError("Bytes values are not supported")
    if found is None:
        raise ValueError(f"map entry {key!r} holds no tensor")
    return {key: found}


def parse_record(record: bytes) -> tuple[dict, dict]:
    """(features, label) maps of one Record: key -> (values, tensor field, packed offset)."""
    features, label = {}, {}
    for field, wire, value in _fields(record):
        if field == _FEATURES and wire == 2:
            features.update(_map(record, *value))
        elif field == _LABEL and wire == 2:
            label.update(_map(record, *value))
    return features, label


def decode(data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """(features float64 (n, d), labels float64 (n,) or None when no record has a label)."""
    data = bytes(data)
    fast = _decode_uniform(data)
    if fast is not None:
        return fast
    rows, labels = [], []
    for index, record in enumerate(split_records(data)):
        features, label = parse_record(record)
        if "values" not in features:
            raise ValueError(f"record {index} has no features['values']")
        rows.append(features["values"][0])
        labels.append(label["values"][0] if "values" in label else None)
        if len(rows[-1]) != len(rows[0]):
            raise ValueError(f"record {index} has {len(rows[-1])} features, record 0 has {len(rows[0])}")
    if not rows:
        return np.empty((0, 0)), None
    if all(label is None for label in labels):
        return np.vstack(rows), None
    if any(label is None or len(label) != 1 for label in labels):
        raise ValueError("every record needs exactly one label value")
    return np.vstack(rows), np.concatenate(labels)


def _decode_uniform(data: bytes) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Vectorised decode when every record has the first record's byte layout."""
    if len(data) < 8:
        return None
    magic, word = struct.unpack_from("<II", data)
    size = 8 + word + (-word % 4)
    if magic != MAGIC or word >> 29 or len(data) % size or size > len(data):
        return None
    try:
        features, label = parse_record(data[8 : 8 + word])
    except ValueError:
        return None
    blocks = [("f", features.get("values")), ("l", label.get("values"))]
    if blocks[0][1] is None or len(features) != 1 or len(label) > 1 or (label and blocks[1][1] is None):
        return None
    rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, size)
    fixed = np.ones(size, dtype=bool)
    spans = {}
    for name, found in blocks:
        if found is None:
            continue
        values, kind, at = found
        if at < 0 or (name == "l" and len(values) != 1):
            return None
        itemsize = 4 if kind == 2 else 8 if kind == 3 else None
        if itemsize is None:
            return None
        start = 8 + at
        fixed[start : start + len(values) * itemsize] = False
        spans[name] = (start, len(values), np.dtype("<f4") if itemsize == 4 else np.dtype("<f8"))
    if not np.array_equal(rows[:, fixed], np.broadcast_to(rows[0, fixed], (len(rows), int(fixed.sum())))):
        return None
    out = []
    for name in ("f", "l"):
        if name not in spans:
            out.append(None)
            continue
        start, count, dtype = spans[name]
        block = np.ascontiguousarray(rows[:, start : start + count * dtype.itemsize])
        out.append(block.view(dtype).astype(np.float64).reshape(len(rows), count))
    return out[0], (None if out[1] is None else out[1][:, 0])


# -- text/csv -------------------------------------------------------------------


def encode_csv(features: np.ndarray, labels: np.ndarray) -> bytes:
    """text/csv training data: the label first, then the features (label_size=1)."""
    features, labels = np.asarray(features), np.asarray(labels)
    if features.ndim != 2 or labels.shape != (len(features),):
        raise ValueError(f"need (n, d) features and (n,) labels, got {features.shape} and {labels.shape}")
    if np.issubdtype(features.dtype, np.integer) and np.issubdtype(labels.dtype, np.integer):
        return textio.format_int_rows(np.column_stack([labels, features]))
    return textio.format_rows(np.column_stack([labels.astype(np.float64), features.astype(np.float64)]))


def decode_csv(data: bytes, label_size: int = 1) -> tuple[np.ndarray, np.ndarray | None]:
    """(features, labels) of text/csv data whose first `label_size` (0 or 1) columns are the label."""
    text = textio.normalise(bytes(data))
    if not text:
        return np.empty((0, 0)), None
    matrix = textio.parse_float_rows(text)
    if label_size == 0:
        return matrix, None
    if label_size != 1:
        raise ValueError(f"label_size must be 0 or 1, got {label_size}")
    if matrix.shape[1] < 2:
        raise ValueError("text/csv rows need a label and at least one feature")
    return matrix[:, 1:], matrix[:, 0]
