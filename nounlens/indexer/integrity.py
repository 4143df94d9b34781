"""`nounlens check`, like `git fsck` or SQLite's `PRAGMA integrity_check`: data.mdb whole, every record
whole and found by its one path (integrity_records), FAISS holding exactly the catalogue's ids and vectors
with a stamp that matches (integrity_faiss), the manifest readable and naming the models, no temp file
left by a process that died. It holds the writer lock, so no indexer changes the catalogue under it.
`repair` rebuilds what is derived (FAISS, the manifest where LMDB kept its models), drops records that
cannot be whole again (the next `index` reads those photos afresh) and removes stale temp files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nounlens.data.errors import NounlensError
from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.integrity_faiss import check_faiss, rebuild_faiss
from nounlens.indexer.integrity_records import check_records, repair_records
from nounlens.indexer.manifest import MANIFEST, models_unknown, read_manifest
from nounlens.indexer.writer_lock import WriterLock, stale_temp_files

SAMPLE = 200  # photos looked up by their own vector (None: every one)


@dataclass
class Problem:
    part: str  # database, records, faiss, manifest, temp
    message: str
    repaired: bool = False

    def line(self) -> str:
        return f"{self.part}: {self.message}" + (" (repaired)" if self.repaired else "")


@dataclass
class Report:
    catalogue: str
    photos: int = 0
    generation: int = 0
    lookups: int = 0  # photos looked up in FAISS by their own vector
    problems: list[Problem] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return all(p.repaired for p in self.problems)

    def add(self, part: str, messages: list[str], repaired: bool = False) -> None:
        self.problems += [Problem(part, m, repaired) for m in messages]

    def lines(self) -> list[str]:
        left = sum(not p.repaired for p in self.problems)
        state = "clean" if not self.problems else (
            f"{len(self.problems) - left} problems repaired, clean" if not left else f"{left} problems")
        return [p.line() for p in self.problems] + [
            f"{self.catalogue}: {self.photos} photos, generation {self.generation}, {self.lookups} found by their "
            f"own vector: {state}"]

    def as_dict(self) -> dict:
        return asdict(self) | {"clean": self.clean}


def check_catalogue(path: str | Path, repair: bool = False, sample: int | None = SAMPLE, wait: bool = True,
                    log: Callable[[str], None] | None = None) -> Report:
    """Check the catalogue at `path` (and with `repair`, mend what can be), holding its writer lock."""
    path = Path(path).expanduser().absolute()
    if not (path / MANIFEST).exists() and not (path / "db" / "data.mdb").exists():
        raise NounlensError(f"no catalogue at {path}")
    report = Report(str(path))
    with WriterLock(path, wait, log):
        manifest = _manifest_problems(path)
        try:
            cat = Catalogue.open(path, readonly=not repair)
        except NounlensError as e:
            report.add("database", [str(e)])
            return report
        try:
            report.photos, report.generation = len(cat), cat.generation()
            _records(cat, report, repair)
            _manifest(cat, report, repair, manifest)
            _faiss(cat, report, repair, sample)
            _temp_files(path, report, repair)
            report.photos, report.generation = len(cat), cat.generation()
        finally:
            cat.close()
    return report


def _records(cat: Catalogue, report: Report, repair: bool) -> None:
    found = check_records(cat)
    if repair:
        repair_records(cat, found)
    report.add("records", found.problems, repaired=repair)


def _faiss(cat: Catalogue, report: Report, repair: bool, sample: int | None) -> None:
    problems, report.lookups = check_faiss(cat, sample)
    if not (problems and repair):
        report.add("faiss", problems)
        return
    why = rebuild_faiss(cat)
    after, report.lookups = check_faiss(cat, sample)
    report.add("faiss", problems, repaired=not (why or after))
    report.add("faiss", [f"rebuilt but not saved: {why}"] if why else after)


def _manifest_problems(path: Path) -> list[str]:
    """Read before the catalogue is opened: a lost manifest is rebuilt on first use."""
    return [] if read_manifest(path) is not None else [f"{MANIFEST} is missing or not JSON"]


def _manifest(cat: Catalogue, report: Report, repair: bool, problems: list[str]) -> None:
    data = cat.rebuild_manifest(save=repair) if problems else read_manifest(cat.path) or {}
    report.add("manifest", problems, repaired=repair)
    if len(cat) and not data.get("models"):
        report.add("manifest", [models_unknown(cat.path)])


def _temp_files(path: Path, report: Report, repair: bool) -> None:
    """Temp files whose writer (the PID in their name) is no longer running."""
    for f, pid in stale_temp_files(path):
        if repair:
            f.unlink(missing_ok=True)
        report.add("temp", [f"{f} was left by PID {pid}, which is no longer running"], repaired=repair)
