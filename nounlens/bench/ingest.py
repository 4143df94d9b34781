"""Stage (a), ingest: photos/s for decode + orient + resize + crop + thumbnail, nounlens's own path
(data.images.decode_job in the indexer's decoding pool) against the obvious single-process code with stock
Pillow, on the same photos in the same run; and pillow-simd's own share, resize alone.

The naive baseline and resize alone live in plain_pillow.py, which runs under any Python with PIL: given
a second interpreter with the other Pillow (`--other-python`), both Pillows are timed in the same run.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from nounlens.bench.plain_pillow import naive, naive_all
from nounlens.bench.report import loadavg, loaded_pil, rate, ratio, table, timed_runs
from nounlens.data.errors import NounlensError
from nounlens.data.images import decode_job
from nounlens.indexer.pipeline import DECODE_CHUNK, decode_pool

__all__ = ["naive", "measure", "resize_share", "record_resize", "run", "markdown"]

SCRIPT = Path(__file__).with_name("plain_pillow.py")
RECORDED = Path(__file__).with_name("recorded_resize.json")  # both Pillows' resize run, for machines with one


def imagenet_photos(data: Path, every: int = 1) -> list[str]:
    folder = data / "imagenet-sample"
    paths = sorted(str(p) for p in folder.glob("*.JPEG"))
    if not paths:
        raise NounlensError(f"no photos in {folder}: give the shared data folder with --data")
    return paths[::every]


def highres_photos(data: Path) -> list[str]:
    """The 52 photos of imagenet-sample with a short side of at least 512 px (where draft mode pays)."""
    folder = data / "imagenet-sample"
    with open(folder / "highres_512.csv", newline="") as f:
        return [str(folder / row["path"]) for row in csv.DictReader(f)]


def _ours_in_process(paths: list[str]) -> None:
    for p in paths:
        if decode_job(p)[3] is not None:
            raise NounlensError(f"cannot decode {p}")


def _ours_pool(pool, paths: list[str]) -> None:
    for result in pool.imap_unordered(decode_job, paths, chunksize=DECODE_CHUNK):
        if result[3] is not None:
            raise NounlensError(f"cannot decode {result[0]}")


def _other(python: str, what: str, paths: list[str], runs: int) -> dict:
    """plain_pillow.py under another interpreter (its own environment: PYTHONPATH dropped), or under this
    one (environment kept, so it loads the PIL this process loaded)."""
    env = None if python == sys.executable else {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([python, str(SCRIPT), what, "--runs", str(runs), *paths], capture_output=True, text=True,
                          env=env, timeout=900)
    if proc.returncode:
        last = (proc.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise NounlensError(f"plain_pillow.py {what} under {python} failed: {last[0]}")
    return json.loads(proc.stdout)


def other_pil(other_python: str | None) -> str | None:
    """The Pillow flavour of the other interpreter, or None when there is none (or it is the same)."""
    if not other_python:
        return None
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = f"import runpy; print(runpy.run_path({str(SCRIPT)!r})['flavour']())"
    proc = subprocess.run([other_python, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    if proc.returncode:
        raise NounlensError(f"--other-python {other_python} cannot import PIL")
    flavour = proc.stdout.strip()
    return None if flavour == loaded_pil()["pil"] else flavour


def measure(paths: list[str], runs: int, workers: int, other_python: str | None = None) -> dict:
    """Naive (this PIL, and the other one when given), nounlens in one process, and nounlens in its decoding
    pool, interleaved run by run so a change in the machine's load hits all alike. The pool is started
    once (the indexer starts it once per run); its start-up is reported apart."""
    here = loaded_pil()["pil"]
    other = other_pil(other_python)
    for p in paths:  # the file cache warm for everyone
        Path(p).read_bytes()
    t = time.perf_counter()
    with decode_pool(workers) as pool:
        pool.map(decode_job, paths[: 2 * workers], chunksize=1)  # workers imported and running
        start = time.perf_counter() - t
        secs: dict[str, list[float]] = {f"naive_{here}": [], "one_process": [], "pool": []}
        if other:
            secs[f"naive_{other}"] = []
        for _ in range(runs):
            secs[f"naive_{here}"] += timed_runs(lambda: naive_all(paths), 1)
            if other:
                secs[f"naive_{other}"] += _other(other_python, "naive", paths, 1)["seconds"]
            secs["one_process"] += timed_runs(lambda: _ours_in_process(paths), 1)
            secs["pool"] += timed_runs(lambda: _ours_pool(pool, paths), 1)
    out = {name: rate(len(paths), s) for name, s in secs.items()}
    # the target's baseline is stock Pillow; without it (pillow-simd loaded, no other Python) the naive code
    # under pillow-simd stands in, which is the harder baseline
    base = out.get("naive_Pillow") or out[f"naive_{here}"]
    out |= {"pil": here, "workers": workers, "pool_start_s": round(start, 3),
            "baseline": "naive_Pillow" if "naive_Pillow" in out else f"naive_{here}",
            "speedup": ratio(out["pool"]["per_s"], base["per_s"]),
            "speedup_one_process": ratio(out["one_process"]["per_s"], base["per_s"]),
            "speedup_same_pil": ratio(out["pool"]["per_s"], out[f"naive_{here}"]["per_s"]),
            "loadavg": loadavg()}
    return out


# ---- pillow-simd's own share ----------------------------------------------------------------------------
def resize_share(paths: list[str], runs: int, other_python: str | None = None) -> dict:
    """Resize alone under this process's Pillow and the other one (a second interpreter, alternating, the
    faster of two calls each) or, failing that, against the recorded run of the other one."""
    names = [Path(p).name for p in paths]
    if other_python:
        this, other = [], []
        for _ in range(2):
            this.append(_other(sys.executable, "resize", paths, runs))
            other.append(_other(other_python, "resize", paths, runs))
        fast = {k: min(v, key=lambda r: r["ops"]["bicubic_224"]["ms_per_photo"]) for k, v in
                (("this", this), ("other", other))}
        if fast["this"]["pil"] == fast["other"]["pil"]:
            return {"source": f"not measured: {other_python} loads the same PIL ({fast['this']['pil']})",
                    "this": fast["this"]}
        by = {fast["this"]["pil"]: fast["this"], fast["other"]["pil"]: fast["other"]}
        source, recorded = f"measured now, {sys.executable} and {other_python}", None
    else:
        live = _other(sys.executable, "resize", paths, runs)
        if not RECORDED.exists():
            return {"source": "not measured (no --other-python and no recorded run)", "this": live}
        recorded = json.loads(RECORDED.read_text())
        if recorded.get("photos") != names:
            return {"source": "not measured (the recorded run used other photos)", "this": live}
        others = [r for flavour, r in recorded["runs"].items() if flavour != live["pil"]]
        by = {live["pil"]: live, **({others[0]["pil"]: others[0]} if others else {})}
        source = f"this PIL measured now, the other from the run recorded on {recorded['date']} ({RECORDED.name})"
    out = {"source": source, "runs": by}
    if "Pillow" in by and "pillow-simd" in by:
        stock, simd = by["Pillow"]["ops"], by["pillow-simd"]["ops"]
        out["ratios"] = {op: ratio(stock[op]["ms_per_photo"], simd[op]["ms_per_photo"]) for op in stock}
    if recorded:
        rr = recorded["runs"]
        out["recorded"] = {"date": recorded["date"], "loadavg": recorded.get("loadavg"),
                           "ratios": {op: ratio(rr["Pillow"]["ops"][op]["ms_per_photo"],
                                                rr["pillow-simd"]["ops"][op]["ms_per_photo"])
                                      for op in rr["Pillow"]["ops"]}}
    return out


def resize_photos(data: Path) -> list[str]:
    return imagenet_photos(data, every=20)  # 50 photos, the same in quick and full runs (and the recorded one)


def record_resize(data: Path, other_python: str, runs: int = 5) -> Path:
    """Store both Pillows' resize runs in the package, for `nounlens bench` on machines with only one:
    python -c "from nounlens.bench.ingest import *; record_resize(Path('../shared/data'), '/tmp/simdvenv/bin/python')"
    """
    paths = resize_photos(Path(data))
    share = resize_share(paths, runs, other_python)
    RECORDED.write_text(json.dumps({"date": date.today().isoformat(), "loadavg": loadavg(),
                                    "photos": [Path(p).name for p in paths], "runs": share["runs"]}, indent=1) + "\n")
    return RECORDED


# ---- the stage ------------------------------------------------------------------------------------------
def run(data: str | Path, quick: bool = False, other_python: str | None = None, workers: int | None = None,
        photos: list[str] | None = None, highres: list[str] | None = None) -> tuple[dict, str]:
    data = Path(data).expanduser()
    workers = workers or os.cpu_count() or 1
    sets = {"imagenet-sample": photos or imagenet_photos(data, every=5 if quick else 1),
            "highres_512": highres or highres_photos(data)}
    result: dict = {"workers": workers, "pil": loaded_pil(), "sets": {}}
    for name, paths in sets.items():
        result["sets"][name] = measure(paths, 3, workers, other_python)
    result["resize"] = resize_share(photos[:8] if photos else resize_photos(data), 3 if quick else 5, other_python)
    return result, markdown(result)


def markdown(r: dict) -> str:
    pil = r["pil"]
    rows = []
    for name, s in r["sets"].items():
        naive_stock = s.get("naive_Pillow", {}).get("per_s", "-")
        naive_simd = s.get("naive_pillow-simd", {}).get("per_s", "-")
        rows.append([f"{name} ({s['pool']['n']} photos)", naive_stock, naive_simd, s["one_process"]["per_s"],
                     f"{s['pool']['per_s']} ({s['workers']} workers)", f"**{s['speedup']}x**",
                     f"{s['speedup_one_process']}x", f"{s['speedup_same_pil']}x", s["loadavg"][0]])
    lines = ["## (a) Ingest: decode + orient + resize + crop + thumbnail", "",
             "Photos/s for what the indexer does to every photo before the model: read, hash, decode, EXIF "
             "orientation, RGB, resize the short side to 224 and centre-crop, and a 72-px JPEG thumbnail. "
             "*naive* (`bench/plain_pillow.py`): one process, full decode (no draft mode), resize straight from "
             "full size, thumbnail resized from the full photo; its target baseline is stock Pillow. *nounlens*: "
             f"`data.images.decode_job` under the loaded {pil['pil']} {pil['version']} (JPEG draft mode, one "
             "resampling of the full photo, the thumbnail from the 224-px copy), in one process and in the "
             "indexer's spawned decoding pool (started once; start-up below). Medians of 3 runs, interleaved.", ""]
    lines += table(["photos", "naive, Pillow /s", "naive, pillow-simd /s", "nounlens, 1 process /s",
                    "nounlens, pool /s", "speed-up vs naive Pillow", "(1 process)", f"vs naive on {pil['pil']}",
                    "load (1 min)"], rows)
    first = next(iter(r["sets"].values()))
    starts = ", ".join(f"{n}: {s['pool_start_s']} s" for n, s in r["sets"].items())
    lines += ["", f"Baseline of the speed-up: {first['baseline'].replace('naive_', 'naive on ')}. Pool start-up "
                  f"(paid once per `index` run): {starts}. Targets: ≥ 3x on imagenet-sample, ≥ 5x on the 52 "
                  "large photos."]
    rs = r["resize"]
    lines += ["", "### pillow-simd's own share: resize alone", ""]
    if "ratios" in rs:
        rows = []
        for op in rs["runs"]["Pillow"]["ops"]:
            stock, simd = rs["runs"]["Pillow"]["ops"][op], rs["runs"]["pillow-simd"]["ops"][op]
            rows.append([op.replace("_", " to "), stock["ms_per_photo"], simd["ms_per_photo"],
                         f"**{rs['ratios'][op]}x**"])
        lines += table(["resize (full decoded photo)", "Pillow ms/photo", "pillow-simd ms/photo",
                        "pillow-simd speed-up"], rows)
        versions = ", ".join(f"{k} {v['version']}" for k, v in rs["runs"].items())
        lines += ["", f"{rs['runs']['Pillow']['photos']} full-size photos of imagenet-sample, decoded first (not "
                      f"timed), resized without reducing_gap; each the faster of two calls, each call the median of "
                      f"its runs. {versions}. Source: {rs['source']}."]
        if "recorded" in rs:
            rec = rs["recorded"]
            lines.append(f"The recorded run alone (both Pillows on {rec['date']}, load {rec['loadavg']}): "
                         + ", ".join(f"{op} {v}x" for op, v in rec["ratios"].items()) + ".")
    else:
        lines.append(f"Not measured: {rs['source']}.")
    return "\n".join(lines)
