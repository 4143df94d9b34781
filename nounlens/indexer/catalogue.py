"""The catalogue: one LMDB environment (the source of truth) and a manifest.json beside it.

Every write batch is one LMDB transaction that also bumps the generation counter, so a reader
always sees whole batches and a killed writer loses at most the batch in flight.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import lmdb
import numpy as np

from nounlens.data.errors import NounlensError
from nounlens.indexer.lmdb_file import check_size
from nounlens.indexer.manifest import FORMAT_VERSION, MANIFEST, mirror, now, read_manifest, rebuilt, write_json
from nounlens.indexer.writer_lock import LOCK_FILE, WriterLock

MAP_SIZE = 1 << 40  # address space only; the file grows as it fills
DBS = ("records", "paths", "features", "vectors", "thumbs", "meta", "changes", "evidence")
PER_PHOTO = ("records", "features", "vectors", "thumbs", "evidence")  # the databases keyed by photo id
_OPEN: dict[Path, list] = {}  # path -> [environment, users] for this process


@dataclass
class PhotoFile:
    """What the catalogue knows of a photo file: where it is, its stat, its bytes' hash, its size in pixels."""

    path: str
    size: int
    mtime_ns: int
    hash: str
    width: int
    height: int


@dataclass
class _Id:
    id: int


@dataclass
class Record(PhotoFile, _Id):
    """A catalogued photo. Fields run id, path, ..., height (dataclasses take the bases' fields from the
    last base first), so positional calls and the stored JSON keep that order."""


@dataclass
class Photo(PhotoFile):
    """A decoded, embedded photo ready to write."""

    features: np.ndarray  # (1280,) -> stored float16
    vector: np.ndarray  # (d,) unit, float32
    thumb: bytes
    evidence: bytes | None = None  # models.photo_evidence, packed; None: computed later (indexer.evidence)


def key(i: int) -> bytes:
    return struct.pack(">Q", i)  # big-endian so LMDB's byte order is id order


def unkey(b: bytes) -> int:
    return struct.unpack(">Q", b)[0]


class Catalogue:
    def __init__(self, path: Path, env: lmdb.Environment, readonly: bool):
        self.path = path
        self.env = env
        self.readonly = readonly
        self.written = 0  # the generation this handle's last write made
        self.db = {}
        for name in DBS:
            try:
                self.db[name] = env.open_db(name.encode(), create=not readonly)
            except lmdb.NotFoundError:  # a catalogue written before this database existed, opened read-only
                self.db[name] = None

    # ---- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, create: bool = False, readonly: bool = False) -> Catalogue:
        """Open (or with `create`, make) a catalogue. data.mdb is checked against its header first (a short
        file is a one-line error, not SIGBUS); a lost manifest.json is made again from LMDB on first use."""
        path = Path(path).expanduser().absolute()
        if not (path / MANIFEST).exists() and not (path / "db" / "data.mdb").exists():
            if not create:
                raise NounlensError(f"no catalogue at {path}: run `nounlens index PHOTOS --catalogue {path}` first")
            _create(path)
        fmt = (read_manifest(path) or {}).get("format", FORMAT_VERSION)
        if fmt != FORMAT_VERSION:
            raise NounlensError(f"{path}: catalogue format {fmt}, this nounlens reads format {FORMAT_VERSION}")
        shared = _OPEN.get(path)
        if shared and (readonly or not shared[0].flags()["readonly"]):
            # LMDB allows one environment per file per process: share it (a writable one serves readers too)
            shared[1] += 1
            return cls(path, shared[0], readonly)
        if shared:
            raise NounlensError(f"catalogue {path} is already open read-only in this process; open it writable first")
        check_size(path / "db", path)
        try:
            env = lmdb.open(str(path / "db"), map_size=MAP_SIZE, max_dbs=len(DBS) + 1, readonly=readonly,
                            lock=True, readahead=False, meminit=False)
        except lmdb.Error as e:
            raise NounlensError(f"cannot open catalogue database in {path}: {e}") from None
        if readonly:
            with env.begin() as txn:
                if txn.get(b"meta") is None:  # a writer never created the named databases yet
                    env.close()
                    return cls.open(path, create=False, readonly=False)
        _OPEN[path] = [env, 1]
        return cls(path, env, readonly)

    def close(self) -> None:
        shared = _OPEN.get(self.path)
        if shared and shared[0] is self.env:
            shared[1] -= 1
            if shared[1] > 0:
                return
            del _OPEN[self.path]
        self.env.close()

    # ---- manifest ------------------------------------------------------------------------------
    @property
    def manifest(self) -> dict:
        return read_manifest(self.path) or self.rebuild_manifest()

    def update_manifest(self, **fields) -> dict:
        """Change manifest fields; a writer also keeps LMDB's copy of the lasting ones current."""
        data = self.manifest
        data.update(fields)
        if not self.readonly:
            with self.env.begin(write=True, db=self.db["meta"]) as txn:
                txn.put(b"manifest", mirror(data))
        write_json(self.path / MANIFEST, data)
        return data

    def rebuild_manifest(self, save: bool = True) -> dict:
        """manifest.json made again from LMDB (its copy of the lasting fields, the live counts) and, with
        `save`, saved where it can be; `manifest.models_unknown` words the error when LMDB never had the models."""
        with self.env.begin() as txn:
            kept = txn.get(b"manifest", db=self.db["meta"])
            cur = txn.cursor(db=self.db["vectors"])
            first = cur.value() if cur.first() else None
        data = rebuilt(kept, self.generation(), len(self), len(first) // 4 if first else None)
        try:
            if save:
                write_json(self.path / MANIFEST, data)
        except OSError:
            pass  # a read-only place: used from memory, made again next time
        return data

    # ---- reads ---------------------------------------------------------------------------------
    def generation(self) -> int:
        with self.env.begin(db=self.db["meta"]) as txn:
            raw = txn.get(b"generation")
        return int(raw) if raw else 0

    def __len__(self) -> int:
        with self.env.begin() as txn:
            return txn.stat(self.db["records"])["entries"]

    def record(self, i: int) -> Record | None:
        with self.env.begin(db=self.db["records"]) as txn:
            raw = txn.get(key(i))
        return Record(**json.loads(raw)) if raw else None

    def records(self, ids: Iterable[int]) -> list[Record | None]:
        with self.env.begin(db=self.db["records"]) as txn:
            raws = [txn.get(key(int(i))) for i in ids]
        return [Record(**json.loads(r)) if r else None for r in raws]

    def id_for_path(self, path: str) -> int | None:
        with self.env.begin(db=self.db["paths"]) as txn:
            raw = txn.get(os.fsencode(path))
        return unkey(raw) if raw else None

    def iter_records(self) -> Iterator[Record]:
        with self.env.begin(db=self.db["records"]) as txn:
            for _, raw in txn.cursor():
                yield Record(**json.loads(raw))

    def thumb(self, i: int) -> bytes | None:
        with self.env.begin(db=self.db["thumbs"]) as txn:
            return txn.get(key(i))

    def vectors(self, ids: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, unit vectors) for `ids`, or for the whole catalogue."""
        return self._arrays("vectors", np.float32, ids)[1:]

    def features(self, ids: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self._arrays("features", np.float16, ids)[1:]

    def evidence(self, ids: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, packed evidence rows, uint8) of the photos that have it (models.photo_evidence)."""
        if self.db["evidence"] is None:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.uint8)
        return self._arrays("evidence", np.uint8, ids)[1:]

    def missing_evidence(self) -> np.ndarray:
        """Ids of photos without stored evidence (an older catalogue, or a re-embedding interrupted)."""
        return np.setdiff1d(self.keys("records"), self.keys("evidence"))

    def snapshot_vectors(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(generation, ids, vectors) read in one transaction, so the three agree."""
        return self._arrays("vectors", np.float32, None)

    def changes_since(self, generation: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray] | None:
        """What changed after `generation`, read in one transaction: (generation now, ids present with
        their vectors, ids gone). None when the log no longer covers that span (pruned, or older format)."""
        if self.db["changes"] is None:
            return None
        with self.env.begin() as txn:
            gen = int(txn.get(b"generation", db=self.db["meta"]) or 0)
            if generation > gen:
                return None
            cur = txn.cursor(db=self.db["changes"])
            entries = []
            if cur.set_range(key(generation + 1)):
                entries = [np.frombuffer(v, dtype=np.int64) for _, v in cur]
            if len(entries) != gen - generation:
                return None
            changed = np.unique(np.concatenate(entries)) if entries else np.zeros(0, np.int64)
            found, vecs = self._read(txn, "vectors", np.float32, changed)
        return gen, found, vecs, np.setdiff1d(changed, found)

    def prune_changes(self, upto: int) -> None:
        """Forget the change log up to generation `upto` (a saved FAISS file covers it)."""
        with self.env.begin(write=True, db=self.db["changes"]) as txn:
            cur = txn.cursor()
            while cur.first() and unkey(cur.key()) <= upto:
                cur.delete()

    def _arrays(self, name: str, dtype, ids) -> tuple[int, np.ndarray, np.ndarray]:
        with self.env.begin() as txn:
            gen = int(txn.get(b"generation", db=self.db["meta"]) or 0)
            return (gen, *self._read(txn, name, dtype, ids))

    def _read(self, txn, name: str, dtype, ids) -> tuple[np.ndarray, np.ndarray]:
        out_ids, rows = [], []
        txn = _DbTxn(txn, self.db[name])
        if ids is None:
            for k, v in txn.cursor():
                out_ids.append(k)
                rows.append(v)
            out_ids = [unkey(k) for k in out_ids]
        else:
            for i in ids:
                v = txn.get(key(int(i)))
                if v is not None:
                    out_ids.append(int(i))
                    rows.append(v)
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=dtype)
        # one join, not a million small arrays (bytearray: the result stays writable)
        return np.array(out_ids, dtype=np.int64), np.frombuffer(bytearray().join(rows), dtype=dtype).reshape(
            len(rows), -1)

    # ---- writes: each call is one transaction that bumps the generation ------------------------
    def write(self, add: list[Photo] = (), replace: dict[int, Photo] | None = None,
              remove: list[int] = (), touch: dict[int, tuple[int, int]] | None = None) -> dict[int, Photo]:
        """Add new photos, replace changed ones (same id), remove gone ones, and refresh the stat of
        photos whose bytes did not change. Returns the ids given to `add` and `replace`."""
        written: dict[int, Photo] = {}
        with self.env.begin(write=True) as txn:
            meta = self.db["meta"]
            next_id = int(txn.get(b"next_id", db=meta) or 1)
            for i in remove:
                self._delete(txn, i)
            for i, photo in (replace or {}).items():
                self._put(txn, i, photo, old=self._get_record(txn, i))
                written[i] = photo
            for photo in add:
                existing = txn.get(os.fsencode(photo.path), db=self.db["paths"])
                i = unkey(existing) if existing else next_id
                if not existing:
                    next_id += 1
                self._put(txn, i, photo, old=None, append=not existing)
                written[i] = photo
            for i, (size, mtime_ns) in (touch or {}).items():
                rec = self._get_record(txn, i)
                if rec:
                    rec.size, rec.mtime_ns = size, mtime_ns
                    txn.put(key(i), json.dumps(asdict(rec)).encode(), db=self.db["records"])
            txn.put(b"next_id", str(next_id).encode(), db=meta)
            self._bump(txn, [*remove, *written])
        return written

    def _bump(self, txn, changed) -> None:
        """Next generation, with the ids whose vectors it changed (so FAISS can catch up). `written` is the
        generation this handle last wrote: FAISS moves to it only from the one before (faiss_sync.advance)."""
        gen = int(txn.get(b"generation", db=self.db["meta"]) or 0) + 1
        txn.put(b"generation", str(gen).encode(), db=self.db["meta"])
        txn.put(key(gen), np.asarray(list(changed), dtype=np.int64).tobytes(), db=self.db["changes"])
        self.written = gen

    def _get_record(self, txn, i: int) -> Record | None:
        raw = txn.get(key(i), db=self.db["records"])
        return Record(**json.loads(raw)) if raw else None

    def _put(self, txn, i: int, p: Photo, old: Record | None, append: bool = False) -> None:
        """`append`: i is a new id, larger than every key, so LMDB fills pages instead of splitting them
        in half (a 1.5-KB vector then takes 2 KB on disk, not 4)."""
        if old and old.path != p.path:
            txn.delete(os.fsencode(old.path), db=self.db["paths"])
        rec = Record(i, p.path, p.size, p.mtime_ns, p.hash, p.width, p.height)
        k = key(i)
        txn.put(k, json.dumps(asdict(rec)).encode(), db=self.db["records"], append=append)
        txn.put(os.fsencode(p.path), k, db=self.db["paths"])
        txn.put(k, np.asarray(p.features, dtype=np.float16).tobytes(), db=self.db["features"], append=append)
        txn.put(k, np.asarray(p.vector, dtype=np.float32).tobytes(), db=self.db["vectors"], append=append)
        txn.put(k, p.thumb, db=self.db["thumbs"], append=append)
        if p.evidence is not None:
            txn.put(k, p.evidence, db=self.db["evidence"], append=append)
        else:  # a replaced photo's old evidence must not outlive it
            txn.delete(k, db=self.db["evidence"])

    def _delete(self, txn, i: int) -> None:
        rec = self._get_record(txn, i)
        if rec:
            txn.delete(os.fsencode(rec.path), db=self.db["paths"])
        k = key(i)
        for name in PER_PHOTO:
            txn.delete(k, db=self.db[name])

    def replace_vectors(self, ids: np.ndarray, vectors: np.ndarray, evidence: list[bytes] | None = None) -> None:
        """Re-projection (`index --reembed`): new vectors for existing photos, and their evidence (which
        depends on the vectors), one transaction."""
        with self.env.begin(write=True) as txn:
            for j, (i, v) in enumerate(zip(ids, vectors, strict=True)):
                txn.put(key(int(i)), np.asarray(v, dtype=np.float32).tobytes(), db=self.db["vectors"])
                if evidence is not None:
                    txn.put(key(int(i)), evidence[j], db=self.db["evidence"])
            self._bump(txn, ids)

    def put_evidence(self, ids: Iterable[int], values: list[bytes]) -> None:
        """Evidence for existing photos (an upgrade), one transaction; no vector changed, so no new generation."""
        with self.env.begin(write=True) as txn:
            for i, v in zip(ids, values, strict=True):
                if txn.get(key(int(i)), db=self.db["records"]) is not None:
                    txn.put(key(int(i)), v, db=self.db["evidence"])

    def keys(self, name: str) -> np.ndarray:
        """The ids one named database holds (keys only, no values read)."""
        if self.db[name] is None:
            return np.zeros(0, dtype=np.int64)
        with self.env.begin(db=self.db[name]) as txn:
            raw = b"".join(txn.cursor().iternext(keys=True, values=False))
        return np.frombuffer(raw, dtype=">u8").astype(np.int64)

    def mend(self, drop: Iterable[int], paths: dict[str, int | None]) -> None:
        """`nounlens check --repair`, one transaction: every part of the `drop` ids goes (their path entries
        are left to `paths`), and each of `paths` is pointed at its id, or removed where None."""
        drop = [int(i) for i in drop]
        with self.env.begin(write=True) as txn:
            for i in drop:
                for name in PER_PHOTO:
                    txn.delete(key(i), db=self.db[name])
            for path, i in paths.items():
                if i is None:
                    txn.delete(os.fsencode(path), db=self.db["paths"])
                else:
                    txn.put(os.fsencode(path), key(i), db=self.db["paths"])
            self._bump(txn, drop)

    def disk_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())


class _DbTxn:
    """A read transaction bound to one named database (get and cursor), inside a wider snapshot."""

    def __init__(self, txn, db):
        self.txn, self.dbh = txn, db

    def get(self, k: bytes) -> bytes | None:
        return self.txn.get(k, db=self.dbh)

    def cursor(self) -> lmdb.Cursor:
        return self.txn.cursor(db=self.dbh)


def _create(path: Path) -> None:
    """A new, empty catalogue, made under the writer lock so two first runs do not trip over each other."""
    path.mkdir(parents=True, exist_ok=True)
    with WriterLock(path):
        if (path / MANIFEST).exists():
            return
        if any(p.name != LOCK_FILE for p in path.iterdir()):
            raise NounlensError(f"{path} is not empty and is not a nounlens catalogue")
        (path / "db").mkdir(exist_ok=True)
        write_json(path / MANIFEST, {"format": FORMAT_VERSION, "generation": 0, "created": now()})


__all__ = ["Catalogue", "FORMAT_VERSION", "Photo", "PhotoFile", "Record", "key", "now", "unkey"]
