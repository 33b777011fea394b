"""TFRecord files and ``tf.train.Example`` records, read without TensorFlow.

A TFRecord file is a sequence of records, each framed as::

    uint64 length (little-endian) | uint32 masked crc32c(length bytes) | data | uint32 masked crc32c(data)

with ``masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2**32)``. :func:`scan_records`
walks the headers (checking each length's checksum and that the file holds every
record it announces) without reading the data; :func:`read_record` reads one record
and checks its data checksum. :func:`parse_example` decodes the protobuf wire format
of ``tf.train.Example`` by hand: ``Example{features=1}``, ``Features{map<string,
Feature> feature=1}``, ``Feature{bytes_list=1 | float_list=2 | int64_list=3}``, each
list ``{repeated value=1}``. Only uncompressed TFRecord files are read (those of the
BAIR robot pushing data set are).
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from vgpred.errors import VgpredError

_POLY = 0x82F63B78  # CRC-32C (Castagnoli), reflected
_MASK_DELTA = 0xA282EAD8
_HEADER = 12  # uint64 length + uint32 masked crc of it


def _table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_POLY), table >> 1).astype(np.uint32)
    return table


_TABLE = _table()
_TABLE_LIST = [int(x) for x in _TABLE]


def _crc_small(data: bytes, reg: int) -> int:
    for byte in data:
        reg = _TABLE_LIST[(reg ^ byte) & 0xFF] ^ (reg >> 8)
    return reg


def _shift_tables(nbytes: int) -> list[list[int]]:
    """Byte tables of the linear map "feed ``nbytes`` zero bytes to the CRC register".

    ``reg -> t[0][reg & 255] ^ t[1][(reg >> 8) & 255] ^ t[2][...] ^ t[3][reg >> 24]``.
    """
    columns = [_crc_small(bytes(nbytes), 1 << k) for k in range(32)]
    tables = []
    for j in range(4):
        t = [0] * 256
        for b in range(1, 256):
            low = b & -b
            t[b] = t[b ^ low] ^ columns[8 * j + low.bit_length() - 1]
        tables.append(t)
    return tables


_SHIFT_CACHE: dict[int, list[list[int]]] = {}


def crc32c(data: bytes | memoryview) -> int:
    """CRC-32C (Castagnoli) of ``data``, as TFRecord uses it; ``crc32c(b"123456789") == 0xE3069283``.

    Long inputs are cut into equal lanes whose CRCs numpy computes side by side; the CRC
    register is affine in its input, so the lanes combine exactly (the initial value is
    folded into the first four bytes, zero padding in front of the first lane is neutral).
    """
    n = len(data)
    if n < 256:
        return _crc_small(bytes(data), 0xFFFFFFFF) ^ 0xFFFFFFFF
    lanes = max(1, int((n / 4) ** 0.5))
    width = -(-n // lanes)
    buf = np.zeros(lanes * width, dtype=np.uint8)
    buf[lanes * width - n:] = np.frombuffer(data, dtype=np.uint8)
    buf[lanes * width - n: lanes * width - n + 4] ^= 0xFF  # initial register 0xFFFFFFFF
    chunks = buf.reshape(lanes, width)
    regs = np.zeros(lanes, dtype=np.uint32)
    for t in range(width):
        regs = _TABLE[(regs ^ chunks[:, t]) & 0xFF] ^ (regs >> 8)
    if width not in _SHIFT_CACHE:
        if len(_SHIFT_CACHE) > 64:
            _SHIFT_CACHE.clear()
        _SHIFT_CACHE[width] = _shift_tables(width)
    t0, t1, t2, t3 = _SHIFT_CACHE[width]
    reg = 0
    for lane in regs.tolist():
        reg = t0[reg & 0xFF] ^ t1[(reg >> 8) & 0xFF] ^ t2[(reg >> 16) & 0xFF] ^ t3[reg >> 24] ^ lane
    return reg ^ 0xFFFFFFFF


def masked_crc32c(data: bytes | memoryview) -> int:
    """The checksum TFRecord stores: CRC-32C rotated right by 15 bits plus 0xa282ead8."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def scan_records(path: Path) -> list[tuple[int, int]]:
    """``(offset of the data, length)`` of every record of a TFRecord file, from its headers alone.

    Raises a one-line error for a file that ends inside a record or whose length field
    fails its checksum (a damaged or non-TFRecord file).
    """
    size = path.stat().st_size
    records: list[tuple[int, int]] = []
    pos = 0
    with open(path, "rb") as f:
        while pos < size:
            if size - pos < _HEADER:
                raise VgpredError(f"{path}: truncated TFRecord file (ends inside the header of record "
                                  f"{len(records)} at byte {pos})")
            f.seek(pos)
            head = f.read(_HEADER)
            length, crc = struct.unpack("<QI", head)
            if masked_crc32c(head[:8]) != crc:
                raise VgpredError(f"{path}: not a TFRecord file or damaged (bad length checksum in record "
                                  f"{len(records)} at byte {pos})")
            end = pos + _HEADER + length + 4
            if end > size:
                raise VgpredError(f"{path}: truncated TFRecord file (record {len(records)} needs {end} bytes, "
                                  f"the file has {size})")
            records.append((pos + _HEADER, length))
            pos = end
    return records


def read_record(f: BinaryIO, path: Path, index: int, offset: int, length: int) -> bytes:
    """The data of one record found by :func:`scan_records`, its checksum checked."""
    f.seek(offset)
    data = f.read(length + 4)
    if len(data) != length + 4:
        raise VgpredError(f"{path}: truncated TFRecord file (record {index} ends early)")
    (crc,) = struct.unpack("<I", data[length:])
    body = data[:length]
    if masked_crc32c(body) != crc:
        raise VgpredError(f"{path}: damaged TFRecord file (record {index}: data checksum does not match)")
    return body


class _Malformed(Exception):
    pass


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise _Malformed("bad varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: memoryview):
    """``(field number, wire type, value)`` of one protobuf message; value is an int or a memoryview."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise _Malformed("field runs past the end of its message")
            value, pos = buf[pos: pos + size], pos + size
        elif wire in (1, 5):
            step = 8 if wire == 1 else 4
            if pos + step > len(buf):
                raise _Malformed("field runs past the end of its message")
            value, pos = buf[pos: pos + step], pos + step
        else:
            raise _Malformed(f"unsupported wire type {wire}")
        yield number, wire, value


_KINDS = {1: "bytes", 2: "float", 3: "int64"}


def parse_example(data: bytes, where: str) -> dict[str, tuple[str, memoryview]]:
    """The features of a serialized ``tf.train.Example``: ``{key: (kind, encoded list)}``.

    ``kind`` is 'bytes', 'float' or 'int64'; decode a bytes list with :func:`bytes_values`.
    ``where`` names the record in the one-line error raised for malformed data.
    """
    features: dict[str, tuple[str, memoryview]] = {}
    try:
        for number, wire, features_msg in _fields(memoryview(data)):
            if number != 1 or wire != 2:
                continue
            for n, w, entry in _fields(features_msg):
                if n != 1 or w != 2:
                    continue
                key, feature = None, memoryview(b"")
                for fn, fw, value in _fields(entry):
                    if fn == 1 and fw == 2:
                        key = bytes(value).decode("utf-8")
                    elif fn == 2 and fw == 2:
                        feature = value
                if key is None:
                    raise _Malformed("a feature without a key")
                kind, payload = "empty", memoryview(b"")
                for fn, fw, value in _fields(feature):
                    if fn in _KINDS and fw == 2:
                        kind, payload = _KINDS[fn], value
                features[key] = (kind, payload)
    except (_Malformed, UnicodeDecodeError) as err:
        raise VgpredError(f"{where}: not a tf.train.Example ({err})") from None
    return features


def bytes_values(payload: memoryview, where: str) -> list[memoryview]:
    """The values of an encoded ``BytesList``."""
    try:
        return [value for number, wire, value in _fields(payload) if number == 1 and wire == 2]
    except _Malformed as err:
        raise VgpredError(f"{where}: not a tf.train.Example ({err})") from None
