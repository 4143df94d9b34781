"""Read-only tables kept as memory-mapped numpy arrays (.npy files): strings, ragged lists and
sorted-key maps. A process opens them in microseconds and reads only the pages it touches, where
unpickling the same data built half a million Python objects at every start."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np


def ends_of(lengths: Iterable[int]) -> np.ndarray:
    """End offsets (int64) of consecutive items with these lengths; item i is [ends[i-1], ends[i])."""
    return np.cumsum(np.fromiter(lengths, dtype=np.int64), dtype=np.int64)


class _Spans(Sequence):
    """Items laid end to end: item i spans [ends[i-1], ends[i]) of what `_item` reads."""

    ends: np.ndarray

    def _item(self, start: int, end: int):
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self.ends)
        if not -n <= i < n:
            raise IndexError(i)
        i %= n
        return self._item(int(self.ends[i - 1]) if i else 0, int(self.ends[i]))

    def _pieces(self, whole) -> Iterator:
        """`whole` (everything, read once) cut into items: one pass without a read per item."""
        start = 0
        for end in self.ends.tolist():
            yield whole[start:end]
            start = end


class Strings(_Spans):
    """Strings as one UTF-8 blob plus end offsets."""

    def __init__(self, blob: np.ndarray, ends: np.ndarray):
        self.blob, self.ends = blob, ends

    @staticmethod
    def pack(items: Iterable[str]) -> dict[str, np.ndarray]:
        encoded = [s.encode("utf-8") for s in items]
        return {"blob": np.frombuffer(b"".join(encoded), dtype=np.uint8), "ends": ends_of(map(len, encoded))}

    def _item(self, start: int, end: int) -> str:
        return self.blob[start:end].tobytes().decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return (piece.decode("utf-8") for piece in self._pieces(self.blob.tobytes()))


class Ragged(_Spans):
    """Row i is the tuple values[ends[i-1]:ends[i]]; `values` is an array or a `Strings`."""

    def __init__(self, values: np.ndarray | Strings, ends: np.ndarray):
        self.values, self.ends = values, ends

    @staticmethod
    def pack(rows: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
        flat = [v for row in rows for v in row]
        return {"values": np.asarray(flat, dtype=np.int32), "ends": ends_of(map(len, rows))}

    def _item(self, start: int, end: int) -> tuple:
        part = self.values[start:end]
        return tuple(part.tolist() if isinstance(part, np.ndarray) else part)

    def row(self, i: int) -> list:
        """Row i (0 <= i < len) as a list of ints, without the checks: for graph walks over many rows."""
        return self.values[self.ends[i - 1] if i else 0:self.ends[i]].tolist()

    def __iter__(self) -> Iterator[tuple]:
        whole = list(self.values) if isinstance(self.values, Strings) else self.values.tolist()
        return (tuple(piece) for piece in self._pieces(whole))


class Fixed(Sequence[str]):
    """Short strings as one fixed-width bytes array (numpy "S" dtype): sorted, it is searched in C."""

    def __init__(self, array: np.ndarray):
        self.array = array

    @staticmethod
    def pack(items: Iterable[str]) -> np.ndarray:
        return np.array([s.encode("utf-8") for s in items], dtype=np.bytes_)

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [b.decode("utf-8") for b in self.array[i].tolist()]
        return self.array[i].decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return (b.decode("utf-8") for b in self.array.tolist())


class SortedKeys(Mapping[str, int]):
    """Key -> its position, by binary search over keys stored sorted (by UTF-8 bytes, as str sorts)."""

    def __init__(self, keys: Fixed):
        self.keys_ = keys

    def __getitem__(self, key: str) -> int:
        raw = key.encode("utf-8") if isinstance(key, str) else b""
        keys = self.keys_.array
        i = int(np.searchsorted(keys, raw)) if raw and len(raw) <= keys.dtype.itemsize else len(keys)
        if i == len(keys) or keys[i] != raw:
            raise KeyError(key)
        return i

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys_)

    def __len__(self) -> int:
        return len(self.keys_)


class SortedMap(Mapping[str, tuple]):
    """Key -> a ragged row, the keys stored in sorted order."""

    def __init__(self, keys: Fixed, rows: Ragged):
        self.position, self.rows = SortedKeys(keys), rows

    def __getitem__(self, key: str) -> tuple:
        return self.rows[self.position[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self.position)

    def __len__(self) -> int:
        return len(self.position)

    def items(self):  # one pass over both columns, not a search per key
        return zip(self.position.keys_, self.rows, strict=True)


def save_columns(directory: Path, columns: Mapping[str, np.ndarray]) -> None:
    """Write each array as NAME.npy into a fresh folder that replaces `directory` in one rename."""
    tmp = directory.with_name(f".{directory.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, array in columns.items():
        np.save(tmp / f"{name}.npy", np.ascontiguousarray(array))
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)


def load_columns(directory: Path) -> dict[str, np.ndarray]:
    """Every NAME.npy in `directory`, memory-mapped read-only, as plain arrays: np.memmap's own
    indexing costs microseconds per element, the plain view over the same pages does not."""
    return {p.stem: np.load(p, mmap_mode="r").view(np.ndarray) for p in sorted(directory.glob("*.npy"))}
