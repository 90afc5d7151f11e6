"""A job's arrays, read from its .npz: small ones whole, large ones row by row from the file.

`np.savez` stores each array uncompressed, as a .npy inside the zip, so the rows of a large one lie at a fixed
offset in the job's file. `Rows` reads the rows a batch or a prediction chunk needs with `os.pread`: the array
is neither loaded whole nor memory-mapped (mapped pages a job touched would count towards its memory), so a
training set of many gigabytes costs a job a batch, not the set (benchmarks/large_data.py measures it).
"""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path

import numpy as np

LAZY_BYTES = 256 << 20  # arrays at least this large are read row by row
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # a zip member's local file header (30 bytes)


class Rows:
    """Rows of a C-ordered array stored at `offset` in a file; x[i:j] and x[index_array] read just those rows."""

    def __init__(self, path: Path, offset: int, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.path, self.offset, self.shape, self.dtype = path, offset, tuple(shape), np.dtype(dtype)
        self.row_shape = self.shape[1:]
        self.row_bytes = self.dtype.itemsize * int(np.prod(self.row_shape, dtype=np.int64))
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return self.row_bytes * len(self)

    def __getitem__(self, key: slice | np.ndarray | list[int]) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise IndexError("Rows slices take step 1")
            return self._read(start, max(0, stop - start))
        index = np.asarray(key, dtype=np.int64).reshape(-1)
        if index.size and (index.min() < -len(self) or index.max() >= len(self)):
            raise IndexError(f"row index out of range for {len(self)} rows")
        out = np.empty((len(index), *self.row_shape), dtype=self.dtype)
        for i, row in enumerate(index % len(self)):
            out[i] = self._read(int(row), 1)[0]
        return out

    def _read(self, start: int, count: int) -> np.ndarray:
        data = os.pread(self._fd, count * self.row_bytes, self.offset + start * self.row_bytes)
        if len(data) != count * self.row_bytes:
            raise OSError(f"{self.path}: expected {count * self.row_bytes} bytes at row {start}, read {len(data)}")
        return np.frombuffer(data, dtype=self.dtype).reshape(count, *self.row_shape).copy()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


def load_arrays(path: Path, lazy_bytes: int | None = None) -> dict[str, np.ndarray | Rows]:
    """Every array of an .npz: whole when small (or compressed), as Rows when at least lazy_bytes (LAZY_BYTES)."""
    lazy_bytes = LAZY_BYTES if lazy_bytes is None else lazy_bytes
    out: dict[str, np.ndarray | Rows] = {}
    with zipfile.ZipFile(path) as zf, open(path, "rb") as raw:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            with zf.open(info) as member:
                if info.compress_type != zipfile.ZIP_STORED or info.file_size < lazy_bytes:
                    out[name] = np.lib.format.read_array(member, allow_pickle=False)
                    continue
                shape, fortran, dtype = _header(member)
                header = member.tell()
            if fortran or dtype.hasobject:
                raise ValueError(f"{path}: {name} must be a C-ordered array of numbers")
            out[name] = Rows(path, _data_offset(raw, info) + header, shape, dtype)
    return out


def _header(member) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(member)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return read(member)


def _data_offset(raw, info: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes begin: after its local header, file name and extra field."""
    raw.seek(info.header_offset)
    fields = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    if fields[0] != b"PK\x03\x04":
        raise ValueError(f"{info.filename}: not a zip local file header")
    return info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1]
