"""Reliability under faults (slow, not in CI): two writers indexing different folders into one catalogue
at once, one of them SIGKILLed at a random moment in each round (20 kills), one round where a decoding
worker is SIGKILLed instead (as the OOM killer would), and a reader searching throughout. After each
round the killed writer is run again, as a user would, and `nounlens check --all` must find the
catalogue clean with every photo found by its own vector. Writes docs/reliability.md.

    nice -n 10 .venv/bin/python -m nounlens.bench.reliability [--kills 20] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nounlens.bench.report import loadavg, machine, table
from nounlens.data.demo import write_demo_gallery
from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.writer_lock import active_writer

KILLS = 20
KILL_WINDOW = 1.3  # kills fall up to this many single-writer runs after both writers start
INDEXING_SHARE = 0.75  # how often the victim is the writer holding the lock (else either, at random)
STEPS_PER_ROUND = 2  # variants of each of the 18 demo photos added to each folder per round: 36 photos
QUERIES = ["cat", "coffee", "rocket", "astronaut", "horse", "clock", "moon", "coin", "motorcycle", "camera",
           "grass", "brick", "text", "galaxy", "dog + beach", "espresso - milk"]
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@dataclass
class Round:
    number: int
    fault: str  # "writer SIGKILL", "decode worker SIGKILL", or "none (the kill came too late)"
    victim: str = ""  # the folder whose writer (or a worker of it) was killed
    after_s: float = 0.0  # seconds after both writers started
    held_lock: bool = False  # the victim was the writer indexing (else it was waiting for the lock)
    committed_at_kill: int = 0  # photos in the catalogue right after the kill
    exits: dict = field(default_factory=dict)  # folder -> exit status of its writer
    photos: int = 0  # photos in the catalogue after the round
    expected: int = 0  # photo files in both folders
    lost: int = 0  # photos committed earlier, or on disk, that the catalogue no longer has
    clean: bool = False  # `nounlens check --all` found no problem
    found: int = 0  # photos found by their own vector in that check
    problems: list = field(default_factory=list)


class Stress:
    """The folders, the catalogue and the processes of one stress run."""

    def __init__(self, work: Path, seed: int):
        self.work, self.rng = work, random.Random(seed)
        self.cat = work / "cat"
        self.folders = {"A": work / "A", "B": work / "B"}
        self.source = write_demo_gallery(work / "source")
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.committed: set[str] = set()
        self.run_s = 5.0  # one writer's run, measured in the first round

    def nounlens(self, name: str, *args: str) -> subprocess.Popen:
        """`python -m nounlens ARGS`, its output to logs/NAME.{out,err}."""
        with open(self.logs / f"{name}.out", "w") as out, open(self.logs / f"{name}.err", "w") as err:
            return subprocess.Popen([sys.executable, "-m", "nounlens", *args], stdout=out, stderr=err,
                                    env={**os.environ, **ENV})

    def writer(self, folder: str, tag: str) -> subprocess.Popen:
        return self.nounlens(f"{tag}-{folder}", "index", str(self.folders[folder]), "--catalogue", str(self.cat),
                             "--batch-size", "8", "--json")

    def add_photos(self, number: int) -> None:
        """New photos in both folders: crops (3 px a step) and flips of the demo photos, each its own bytes."""
        from PIL import Image

        for k, folder in enumerate(self.folders.values()):
            folder.mkdir(exist_ok=True)
            for src in sorted(self.source.iterdir()):
                img = Image.open(src).convert("RGB")
                w, h = img.size
                for s in range(STEPS_PER_ROUND):
                    j = (number * STEPS_PER_ROUND + s) * 2 + k
                    v = img.crop((j, 2 * j % 7, w - 3 * j // 2, h - j))
                    v = v.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if j % 2 else v
                    v.save(folder / f"{src.stem}-{j}.jpg", quality=85 + j % 10)

    def files(self) -> set[str]:
        return {str(p) for f in self.folders.values() for p in f.iterdir()}

    def records(self) -> set[str]:
        cat = Catalogue.open(self.cat, readonly=True)
        try:
            return {r.path for r in cat.iter_records()}
        finally:
            cat.close()

    def check(self, r: Round) -> Round:
        """`nounlens check --all --json`, and what the catalogue holds against what it held and the disk."""
        out = subprocess.run([sys.executable, "-m", "nounlens", "check", "--all", "--json", "--catalogue",
                              str(self.cat)], capture_output=True, text=True, env={**os.environ, **ENV})
        report = json.loads(out.stdout)
        records = self.records()
        files = self.files()
        r.clean, r.found, r.photos, r.expected = report["clean"], report["lookups"], report["photos"], len(files)
        r.problems = [p["message"] for p in report["problems"]]
        r.lost = len((self.committed | files) - records)
        self.committed |= records
        return r


def worker_pids(pid: int) -> list[int]:
    """A writer's decoding workers: its children started by multiprocessing's spawn."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid and b"spawn_main" in (d / "cmdline").read_bytes():
                out.append(int(d.name))
        except (OSError, IndexError, ValueError):
            continue
    return out


def kill_round(s: Stress, number: int) -> Round:
    """Both writers at once; at a random moment one SIGKILLed (mostly the one indexing); then it runs again."""
    s.add_photos(number)
    procs = {f: s.writer(f, f"r{number}") for f in s.folders}
    t0 = time.monotonic()
    time.sleep(s.rng.uniform(0.2, KILL_WINDOW * s.run_s))
    running = sorted(f for f, p in procs.items() if p.poll() is None)
    indexing = [f for f in running if active_writer(s.cat) == procs[f].pid]
    victim = indexing[0] if indexing and s.rng.random() < INDEXING_SHARE else s.rng.choice(running or [""])
    r = Round(number, "writer SIGKILL" if victim else "none (both writers had finished)", victim,
              round(time.monotonic() - t0, 2))
    if victim:
        r.held_lock = victim in indexing
        procs[victim].kill()
        r.committed_at_kill = len(s.records())
    r.exits = {f: p.wait() for f, p in procs.items()}
    if victim:
        r.exits[f"{victim} again"] = s.writer(victim, f"r{number}-again").wait()
    return s.check(r)


def worker_round(s: Stress, number: int) -> Round:
    """Both writers at once; a decoding worker of whichever is indexing SIGKILLed; both must complete."""
    s.add_photos(number)
    procs = {f: s.writer(f, f"r{number}") for f in s.folders}
    t0 = time.monotonic()
    r = Round(number, "none (no decoding worker was seen)")
    while any(p.poll() is None for p in procs.values()) and not r.victim:
        for f, p in procs.items():
            workers = worker_pids(p.pid)
            if workers:
                os.kill(workers[0], 9)
                r.fault, r.victim, r.after_s = "decode worker SIGKILL", f, round(time.monotonic() - t0, 2)
                r.held_lock = True  # a writer decodes only while it holds the lock
                break
        time.sleep(0.02)
    r.exits = {f: p.wait() for f, p in procs.items()}
    return s.check(r)


def start_reader(s: Stress) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nounlens.bench.reliability", "--reader", str(s.cat),
                             "--work", str(s.work)], env={**os.environ, **ENV, "OMP_NUM_THREADS": "1"})


def reader(cat: Path, work: Path) -> None:
    """Search throughout (an Engine reopened every 50 searches) until work/stop appears; counts to reader.json."""
    n, errors, messages, engine = 0, 0, {}, None
    while not (work / "stop").exists():
        try:
            engine = engine if engine is not None and n % 50 else _reopen(engine, cat)
            results = engine.search(QUERIES[n % len(QUERIES)], 5)
            if not results:
                raise RuntimeError("no results from a catalogue with photos")
            engine.similar_to(results[0].id, 3)
        except Exception as e:  # every failure is counted and named, none stops the reader
            errors += 1
            key = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            messages[key] = messages.get(key, 0) + 1
        n += 1
        time.sleep(0.05)
    (work / "reader.json").write_text(json.dumps({"searches": n, "errors": errors, "messages": messages}))


def _reopen(engine, cat: Path):
    from nounlens.search.engine import Engine

    if engine is not None:
        engine.catalogue.close()
    return Engine.open(cat)


def stress(work: Path, kills: int, seed: int) -> dict:
    s = Stress(work, seed)
    s.add_photos(0)
    t = time.monotonic()
    first = {f: s.writer(f, "r0").wait() for f in s.folders}
    s.run_s = (time.monotonic() - t) / 2
    rounds = [s.check(Round(0, "none (first index)", exits=first))]
    reader_proc = start_reader(s)
    t0, loads = time.monotonic(), [loadavg()]
    number = 1
    while sum(r.fault == "writer SIGKILL" for r in rounds) < kills and number <= 3 * kills:
        rounds.append(kill_round(s, number))
        print(*_row(rounds[-1]), sep=" | ", flush=True)
        if number == kills // 2:
            number += 1
            rounds.append(worker_round(s, number))
            print(*_row(rounds[-1]), sep=" | ", flush=True)
        number += 1
    (work / "stop").touch()
    reader_proc.wait()
    searched = json.loads((work / "reader.json").read_text())
    loads.append(loadavg())
    return {"rounds": [asdict(r) for r in rounds], "reader": searched, "minutes": (time.monotonic() - t0) / 60,
            "machine": machine(), "loadavg": loads, "seed": seed, "kills": kills, "date": time.strftime("%Y-%m-%d")}


def _row(r: Round) -> list:
    exits = ", ".join(f"{f}: {c}" for f, c in r.exits.items())
    when = f"{r.after_s:.1f} s, " + ("indexing" if r.held_lock else "before it held the lock") if r.victim else ""
    state = "clean" if r.clean else "; ".join(r.problems) or "not clean"
    return [r.number, r.fault, r.victim, when, r.committed_at_kill if r.fault == "writer SIGKILL" else "", exits,
            f"{r.photos} / {r.expected}", r.found, r.lost, state]


def markdown(res: dict) -> str:
    rounds, reader_ = [Round(**r) for r in res["rounds"]], res["reader"]
    kills = [r for r in rounds if r.fault == "writer SIGKILL"]
    workers = [r for r in rounds if r.fault == "decode worker SIGKILL"]
    m, last = res["machine"], rounds[-1]
    summary = [
        ("faults injected", f"{len(kills)} writer SIGKILLs ({sum(r.held_lock for r in kills)} while indexing, "
                            f"{sum(not r.held_lock for r in kills)} while starting or waiting for the lock), "
                            f"{len(workers)} decoding-worker SIGKILL"),
        ("rounds", f"{len(rounds)} (the first index, then one fault each)"),
        ("photos at the end", f"{last.photos} in the catalogue, {last.expected} files in the two folders"),
        ("photos lost", sum(r.lost for r in rounds)),
        ("checks clean", f"{sum(r.clean for r in rounds)} of {len(rounds)}; every photo found by its own vector in "
                         f"{sum(r.found == r.photos == r.expected for r in rounds)}"),
        ("searches run", f"{reader_['searches']:,} (each a search and a similar-photos look-up)"),
        ("search errors", reader_["errors"]),
    ]
    lines = ["# Reliability", "",
             f"Written by `python -m nounlens.bench.reliability --kills {res['kills']} --seed {res['seed']}` on "
             f"{res['date']} ({res['minutes']:.1f} min) on {m['cpu']}, {m['cores']} cores; load average "
             f"{res['loadavg'][0]} at the start, {res['loadavg'][-1]} at the end. Not run in CI.",
             "", *table(["figure", "value"], summary), "", METHOD, "",
             *table(["round", "fault", "victim", "when", "photos when killed", "exit statuses", "photos / files",
                     "found by own vector", "lost", "check"], [_row(r) for r in rounds])]
    if reader_["messages"]:
        lines += ["", "Search errors: " + "; ".join(f"{k} ({v}x)" for k, v in reader_["messages"].items())]
    return "\n".join(lines) + "\n"


METHOD = """Each round adds 36 new photos (crops and flips of scikit-image's demo photos, each with bytes of its own)
to each of two folders, A and B, and starts `nounlens index A` and `nounlens index B` on the one catalogue at
the same moment: one indexes, the other waits for the writer lock. After a random delay (up to 1.3 times
one writer's run in the first round) one of them is SIGKILLed: three times in four the one indexing (loading, decoding,
embedding, writing a batch or saving FAISS, wherever the moment falls), else either at random (perhaps one
still starting, or the one waiting). The other runs to its end; then the killed one is run again, as a user
would. In one round a decoding worker of the indexing writer is SIGKILLed instead, and both writers must finish
(exit status 0) with every photo. A reader process searches throughout (`Engine.search` and
`Engine.similar_to`, an Engine reopened every 50 searches). After each round `nounlens check --all` must find
the catalogue clean, every record whole, FAISS holding exactly its ids, and every photo found by its own
vector; a photo counts as lost if the catalogue once held it, or its file is in a folder, and it no longer
has it. Exit status -9 is the SIGKILLed writer."""


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=KILLS, help="writer SIGKILLs to inject")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=None, help="folder for the photos and catalogue (default: a temp one)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "docs" / "reliability.md")
    ap.add_argument("--reader", type=Path, default=None, help=argparse.SUPPRESS)  # the searching process
    args = ap.parse_args(argv)
    if args.reader:
        reader(args.reader, args.work)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="nounlens-reliability-"))
    res = stress(work, args.kills, args.seed)
    (work / "results.json").write_text(json.dumps(res, indent=2))
    args.out.write_text(markdown(res))
    print(f"wrote {args.out}; photos lost {sum(r['lost'] for r in res['rounds'])}, "
          f"search errors {res['reader']['errors']}")


if __name__ == "__main__":
    main()
