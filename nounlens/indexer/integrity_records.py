"""The LMDB half of `nounlens check`: every record has its path entry, features, vector and thumbnail; no
path is indexed twice; no part belongs to no record. Read in one transaction, so a writer cannot make a
problem appear that is not there. Repair drops what cannot be whole again (the next `index` reads those
photos afresh) and points each path at its one record."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field

from nounlens.indexer.catalogue import Catalogue, unkey

PARTS = {"features": "features", "vectors": "vector", "thumbs": "thumbnail"}
FEATURE_BYTES = 1280 * 2  # float16 backbone features
SHOWN = 5  # ids named in a line that counts many


@dataclass
class Found:
    """What the records check found: lines, and what a repair would change."""

    problems: list[str] = field(default_factory=list)
    drop: set[int] = field(default_factory=set)
    paths: dict[str, int | None] = field(default_factory=dict)


def _snapshot(cat: Catalogue) -> tuple[dict[int, str], dict[str, int], dict[str, dict[int, int]]]:
    """(record id -> path, path -> id from the path table, part -> {id: value length}), one transaction."""
    with cat.env.begin() as txn:
        records = {unkey(k): json.loads(v)["path"] for k, v in txn.cursor(db=cat.db["records"])}
        paths = {os.fsdecode(k): unkey(v) for k, v in txn.cursor(db=cat.db["paths"])}
        parts = {name: {unkey(k): len(v) for k, v in txn.cursor(db=cat.db[name])} for name in PARTS}
    return records, paths, parts


def check_records(cat: Catalogue) -> Found:
    """Every problem of the records, paths and parts, one line each."""
    records, paths, parts = _snapshot(cat)
    found = Found()
    dim_bytes = Counter(parts["vectors"].values()).most_common(1)[0][0] if parts["vectors"] else 0
    for i, path in records.items():
        lacking = [word for name, word in PARTS.items() if i not in parts[name]]
        if i in parts["vectors"] and parts["vectors"][i] != dim_bytes:
            lacking.append(f"vector of the catalogue's size ({parts['vectors'][i] // 4} numbers, not {dim_bytes // 4})")
        if i in parts["features"] and parts["features"][i] != FEATURE_BYTES:
            lacking.append("features of the backbone's size")
        if lacking:
            found.problems.append(f"record {i} ({path}) has no {', no '.join(lacking)}")
            found.drop.add(i)
            if paths.get(path) == i:
                found.paths[path] = None
    _check_paths(records, paths, found)
    orphans = sorted({i for part in parts.values() for i in part} - set(records))
    if orphans:
        found.problems.append(f"{len(orphans)} stored parts belong to no record (ids {_ids(orphans)})")
        found.drop.update(orphans)
    return found


def _check_paths(records: dict[int, str], paths: dict[str, int], found: Found) -> None:
    """No path indexed twice, every record findable by its path, every path entry pointing at its record."""
    by_path: dict[str, list[int]] = {}
    for i, path in records.items():
        by_path.setdefault(path, []).append(i)
    for path, ids in by_path.items():
        ids = [i for i in ids if i not in found.drop]
        if not ids:
            continue
        keep = paths[path] if paths.get(path) in ids else max(ids)
        if len(ids) > 1:
            found.problems.append(f"{path} is indexed {len(ids)} times (records {_ids(ids)}); keeping record {keep}")
            found.drop.update(i for i in ids if i != keep)
        if paths.get(path) != keep:
            found.problems.append(f"record {keep} ({path}) cannot be found by its path")
            found.paths[path] = keep
    for path, i in paths.items():
        if i not in records:
            found.problems.append(f"the path entry for {path} points to record {i}, which does not exist")
            found.paths[path] = None
        elif records[i] != path and path not in by_path:
            found.problems.append(f"the path entry for {path} points to record {i}, which is {records[i]}")
            found.paths[path] = None


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in sorted(ids)[:SHOWN])
    return shown + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")


def repair_records(cat: Catalogue, found: Found) -> None:
    if found.drop or found.paths:
        cat.mend(sorted(found.drop), found.paths)
