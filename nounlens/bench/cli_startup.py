"""`nounlens bench --stages cli`: the CLI as a user meets it, as whole processes (interpreter start,
imports, opening the catalogue and the models, the answer), before and after the fast CLI of issue 20.

"Before" is the code at BASELINE_REF, checked out into a temporary git worktree (or any source folder
given as `baseline`) and run with PYTHONPATH pointing at it; "after" is this package. Each indexes its own
copy of the demo gallery; then every command runs once untimed (page cache, .pyc files) and RUNS times
timed, the two versions interleaved so that a change in the machine's load hits both alike.

    nice -n 10 .venv/bin/python -m nounlens.bench.cli_startup [--baseline DIR] [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from nounlens.bench import report
from nounlens.data.demo import write_demo_gallery
from nounlens.data.errors import NounlensError

BASELINE_REF = "ffd91f8"  # the last commit before the fast CLI (issue 20, item 5)
RUNS, QUICK_RUNS = 10, 3
# (what the table calls it, the arguments, the target in seconds); {photo} is a photo outside the
# catalogue (so the backbone runs), {gallery} the indexed demo gallery
COMMANDS = (
    ("nounlens search okapi", ["search", "okapi"], 0.5),
    ('nounlens search "a red car"', ["search", "a red car"], 1.0),
    ("nounlens label PHOTO", ["label", "{photo}"], 1.0),
    ("nounlens label PHOTO (a catalogue photo)", ["label", "{gallery}/rocket.jpg"], None),
)
REPO = Path(__file__).resolve().parents[2]
Runs = dict[str, dict[str, list[tuple[float, float]]]]  # version -> command -> [(wall, CPU) seconds]


@contextmanager
def baseline_source(ref: str = BASELINE_REF):
    """A temporary worktree of `ref` (None where this is no git checkout or lacks the commit)."""
    where = Path(tempfile.mkdtemp(prefix="nounlens-cli-base-"))
    made = subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(where / "src"), ref],
                          capture_output=True, text=True).returncode == 0
    try:
        yield where / "src" if made else None
    finally:
        if made:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(where / "src")],
                           capture_output=True)
        shutil.rmtree(where, ignore_errors=True)


def _env(source: Path, home: Path) -> dict[str, str]:
    """The child's environment: the version's source first on PYTHONPATH (the processes run in a scratch
    folder, so the current directory cannot shadow it), .pyc files written (a user's installation has
    them), a scratch home."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", NOUNLENS_HOME=str(home), PYTHONPATH=str(source))
    return env


def _nounlens(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one `nounlens ARGS` process (python -m nounlens, as the
    console script runs it). CPU time hardly depends on what else the machine runs; wall time does."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "nounlens", *args], env=env, capture_output=True, text=True,
                          cwd=env["NOUNLENS_HOME"])
    seconds = time.perf_counter() - t
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime
    if done.returncode != 0:
        raise NounlensError(f"nounlens {' '.join(args)} failed: {(done.stderr.strip() or '?').splitlines()[-1]}")
    return seconds, cpu


def _check_source(source: Path, env: dict[str, str]) -> None:
    """The version under test is the one the child imports (not an installed or shadowing copy)."""
    found = subprocess.run([sys.executable, "-c", "import nounlens; print(nounlens.__file__)"], env=env,
                           cwd=env["NOUNLENS_HOME"], capture_output=True, text=True).stdout.strip()
    if not found or not Path(found).resolve().is_relative_to(source.resolve()):
        raise NounlensError(f"nounlens from {source} was not the one imported ({found or 'none'})")


def measure(versions: dict[str, Path], work: Path, runs: int) -> Runs:
    """{version: {command: [(wall, cpu) seconds]}} with each version's own catalogue of the demo gallery."""
    gallery = write_demo_gallery(work / "gallery")
    photo = work / "photo.jpg"  # not in any catalogue
    shutil.copyfile(gallery / "rocket.jpg", photo)
    calls = {}
    for version, source in versions.items():
        env = _env(source, work / f"home-{version}")
        Path(env["NOUNLENS_HOME"]).mkdir(parents=True, exist_ok=True)
        _check_source(source, env)
        cat = str(work / f"catalogue-{version}")
        _nounlens(["index", str(gallery), "--catalogue", cat, "--json"], env)
        for name, args, _ in COMMANDS:
            filled = [a.format(photo=photo, gallery=gallery) for a in args] + ["--catalogue", cat]
            calls[version, name] = (filled, env)
    for filled, env in calls.values():  # warm: page cache, .pyc files, any one-off cache
        _nounlens(filled, env)
    times: Runs = {v: {name: [] for name, _, _ in COMMANDS} for v in versions}
    for _ in range(runs):
        for (version, name), (filled, env) in calls.items():
            times[version][name].append(_nounlens(filled, env))
    return times


def _median(runs: list[tuple[float, float]], which: int) -> float:
    return statistics.median(r[which] for r in runs)


def summarise(times: Runs, runs: int, baseline: str | None) -> dict:
    rows, targets = [], []
    for name, _, target in COMMANDS:
        after, mine = _median(times["after"][name], 0), times["after"][name]
        before = _median(times["before"][name], 0) if "before" in times else None
        rows.append({"command": name, "before_s": None if before is None else round(before, 3),
                     "after_s": round(after, 3), "ratio": None if before is None else round(before / after, 1),
                     "before_cpu_s": None if before is None else round(_median(times["before"][name], 1), 3),
                     "after_cpu_s": round(_median(mine, 1), 3), "target_s": target,
                     "after_all_s": [round(t, 3) for t, _ in mine]})
        if target is not None:
            targets.append([f"`{name}`, whole process (median of {runs})", f"≤ {target} s", f"{after:.2f} s",
                            "met" if after <= target else "**not met**"])
    return {"runs": runs, "baseline": baseline, "rows": rows, "targets": targets}


def run(quick: bool = False, baseline: str | Path | None = None, runs: int | None = None) -> tuple[dict, str]:
    """Measure (see the module's docstring); `baseline`: a source folder to compare with (default: a
    worktree of BASELINE_REF)."""
    runs = runs or (QUICK_RUNS if quick else RUNS)
    load_start = report.loadavg()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nounlens-cli-")))
        source = Path(baseline) if baseline else stack.enter_context(baseline_source())
        versions = {"before": source, "after": REPO} if source is not None else {"after": REPO}
        times = measure(versions, work, runs)
    label = str(baseline) if baseline else (f"commit {BASELINE_REF}" if source is not None else None)
    results = summarise(times, runs, label) | {"loadavg": [load_start, report.loadavg()]}
    return results, markdown(results)


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f} s"


def markdown(r: dict) -> str:
    lines = ["## CLI start-up: whole processes", "",
             f"Each command is one `python -m nounlens ...` process on the demo catalogue (the 18 scikit-image "
             f"photos), timed from start to exit: the median of {r['runs']} runs after an untimed one (warm disk "
             f"cache, .pyc files written), before and after interleaved. Before: {r['baseline'] or 'not measured'}"
             ", run from its own source with its own catalogue; after: this version. The machine was shared: "
             f"load average {r['loadavg'][0]} at the start, {r['loadavg'][1]} at the end; the CPU time (user + "
             "system) depends far less on that than the wall time does. PHOTO is a copy of rocket.jpg outside "
             "the catalogue, so the backbone runs; a catalogue photo reuses its stored vector.", ""]
    rows = [[f"`{x['command']}`", _secs(x["before_s"]), _secs(x["after_s"]),
             "-" if x["ratio"] is None else f"{x['ratio']}x",
             f"{_secs(x.get('before_cpu_s'))} → {_secs(x.get('after_cpu_s'))}",
             "-" if x["target_s"] is None else f"≤ {x['target_s']} s"] for x in r["rows"]]
    lines += report.table(["command", "before", "after", "before / after", "CPU time, before → after",
                           "target (after)"], rows)
    lines += ["", "```", "nice -n 10 .venv/bin/nounlens bench --stages cli", "```"]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default=None, help=f"source folder of the version to compare with "
                                                      f"(default: a worktree of {BASELINE_REF})")
    ap.add_argument("--runs", type=int, default=RUNS)
    args = ap.parse_args()
    print(run(baseline=args.baseline, runs=args.runs)[1])


if __name__ == "__main__":
    main()
