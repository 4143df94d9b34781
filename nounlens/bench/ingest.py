"""Stage (a), ingest: photos/s for decode + orient + resize + crop + thumbnail, nounlens's own path
(data.images.decode_job in the indexer's decoding pool) against the obvious single-process Pillow code,
on the same photos in the same run; and pillow-simd's own share, resize alone.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from PIL import Image, ImageOps

from nounlens.bench.report import loadavg, loaded_pil, rate, ratio, table, timed_runs
from nounlens.data.images import MODEL_SIZE, THUMB_QUALITY, THUMB_SIDE, decode_job
from nounlens.indexer.pipeline import DECODE_CHUNK, decode_pool
from nounlens.settings import NounlensError

RESIZE_SCRIPT = Path(__file__).with_name("resize_micro.py")
RECORDED = Path(__file__).with_name("recorded_resize.json")  # the other Pillow's resize run, for machines without it


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


def naive(data: bytes) -> tuple[bytes, bytes]:
    """The obvious code: full decode, no draft mode, resize straight from full size, crop, and a thumbnail
    resized from the full photo. Same outputs as decode(): 224x224 RGB pixels and a 72-px JPEG."""
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    w, h = img.size
    s = MODEL_SIZE / min(w, h)
    big = img.resize((max(MODEL_SIZE, round(w * s)), max(MODEL_SIZE, round(h * s))), Image.Resampling.BICUBIC)
    left, top = (big.width - MODEL_SIZE) // 2, (big.height - MODEL_SIZE) // 2
    pixels = big.crop((left, top, left + MODEL_SIZE, top + MODEL_SIZE)).tobytes()
    s = THUMB_SIDE / min(w, h)
    thumb = img.resize((max(THUMB_SIDE, round(w * s)), max(THUMB_SIDE, round(h * s))), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=THUMB_QUALITY)
    return pixels, buf.getvalue()


def _naive_all(paths: list[str]) -> None:
    for p in paths:
        naive(Path(p).read_bytes())


def _ours_in_process(paths: list[str]) -> None:
    for p in paths:
        if decode_job(p)[3] is not None:
            raise NounlensError(f"cannot decode {p}")


def _ours_pool(pool, paths: list[str]) -> None:
    for result in pool.imap_unordered(decode_job, paths, chunksize=DECODE_CHUNK):
        if result[3] is not None:
            raise NounlensError(f"cannot decode {result[0]}")


def measure(paths: list[str], runs: int, workers: int) -> dict:
    """Naive, nounlens in one process, and nounlens in its decoding pool, interleaved run by run so a
    change in the machine's load hits all three alike. The pool is started once (the indexer starts it
    once per run); its start-up is reported apart."""
    for p in paths:  # the file cache warm for everyone
        Path(p).read_bytes()
    t = time.perf_counter()
    with decode_pool(workers) as pool:
        pool.map(decode_job, paths[: 2 * workers], chunksize=1)  # workers imported and running
        start = time.perf_counter() - t
        secs: dict[str, list[float]] = {"naive": [], "one_process": [], "pool": []}
        for _ in range(runs):
            secs["naive"] += timed_runs(lambda: _naive_all(paths), 1)
            secs["one_process"] += timed_runs(lambda: _ours_in_process(paths), 1)
            secs["pool"] += timed_runs(lambda: _ours_pool(pool, paths), 1)
    out = {name: rate(len(paths), s) for name, s in secs.items()}
    out["workers"] = workers
    out["pool_start_s"] = round(start, 3)
    out["speedup"] = ratio(out["pool"]["per_s"], out["naive"]["per_s"])
    out["speedup_one_process"] = ratio(out["one_process"]["per_s"], out["naive"]["per_s"])
    out["loadavg"] = loadavg()
    return out


# ---- pillow-simd's own share ----------------------------------------------------------------------------
def _resize_run(python: str, paths: list[str], runs: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} if python != sys.executable else None
    proc = subprocess.run([python, str(RESIZE_SCRIPT), "--runs", str(runs), *paths], capture_output=True,
                          text=True, env=env, timeout=600)
    if proc.returncode:
        raise NounlensError(f"resize benchmark under {python} failed: {(proc.stderr or '').strip().splitlines()[-1:]}")
    return json.loads(proc.stdout)


def resize_share(paths: list[str], runs: int, other_python: str | None = None) -> dict:
    """Resize alone under this process's Pillow and the other one (a second interpreter, run as a
    subprocess, alternating) or, failing that, against the recorded run of the other one."""
    names = [Path(p).name for p in paths]
    here = loaded_pil()["pil"]
    if other_python:
        this, other = [], []
        for _ in range(2):
            this.append(_resize_run(sys.executable, paths, runs))
            other.append(_resize_run(other_python, paths, runs))
        best = {"this": min(this, key=lambda r: r["ops"]["bicubic_224"]["ms_per_photo"]),
                "other": min(other, key=lambda r: r["ops"]["bicubic_224"]["ms_per_photo"])}
        if best["this"]["pil"] == best["other"]["pil"]:
            return {"source": f"not measured: {other_python} loads the same PIL ({best['this']['pil']})",
                    "this": best["this"]}
        by = {best["this"]["pil"]: best["this"], best["other"]["pil"]: best["other"]}
        source = f"measured now: {sys.executable} and {other_python}"
        recorded_at = None
    else:
        live = _resize_run(sys.executable, paths, runs)
        if not RECORDED.exists():
            return {"source": "not measured (no --other-python and no recorded run)", "this": live}
        rec = json.loads(RECORDED.read_text())
        if rec.get("photos") != names:
            return {"source": "not measured (the recorded run used other photos)", "this": live}
        others = [r for flavour, r in rec["runs"].items() if flavour != live["pil"]]
        by = {live["pil"]: live, **({others[0]["pil"]: others[0]} if others else {})}
        source = f"this PIL measured now; the other from the run recorded on {rec['date']} ({RECORDED.name})"
        recorded_at = rec
    out = {"source": source, "runs": by, "this_pil": here}
    if "Pillow" in by and "pillow-simd" in by:
        stock, simd = by["Pillow"]["ops"], by["pillow-simd"]["ops"]
        out["ratios"] = {op: ratio(stock[op]["ms_per_photo"], simd[op]["ms_per_photo"]) for op in stock}
    if recorded_at:
        rr = recorded_at["runs"]
        out["recorded"] = {"date": recorded_at["date"], "loadavg": recorded_at.get("loadavg"),
                           "ratios": {op: ratio(rr["Pillow"]["ops"][op]["ms_per_photo"],
                                                rr["pillow-simd"]["ops"][op]["ms_per_photo"])
                                      for op in rr["Pillow"]["ops"]}}
    return out


def record_resize(data: Path, other_python: str, runs: int = 5) -> Path:
    """Store both Pillows' resize runs in the package, for `nounlens bench` on machines with only one."""
    paths = resize_photos(data)
    share = resize_share(paths, runs, other_python)
    RECORDED.write_text(json.dumps({"date": date.today().isoformat(), "loadavg": loadavg(),
                                    "photos": [Path(p).name for p in paths], "runs": share["runs"]}, indent=1) + "\n")
    return RECORDED


def resize_photos(data: Path) -> list[str]:
    return imagenet_photos(data, every=20)  # 50 photos, the same in quick and full runs (and the recorded one)


# ---- the stage ------------------------------------------------------------------------------------------
def run(data: str | Path, quick: bool = False, other_python: str | None = None, workers: int | None = None,
        photos: list[str] | None = None, highres: list[str] | None = None) -> tuple[dict, str]:
    data = Path(data).expanduser()
    workers = workers or os.cpu_count() or 1
    runs = 3
    sets = {"imagenet-sample": photos or imagenet_photos(data, every=5 if quick else 1),
            "highres_512": highres or highres_photos(data)}
    result: dict = {"workers": workers, "sets": {}}
    for name, paths in sets.items():
        result["sets"][name] = measure(paths, runs, workers)
    resize_paths = photos[:8] if photos else resize_photos(data)
    result["resize"] = resize_share(resize_paths, 3 if quick else 5, other_python)
    return result, markdown(result)


def markdown(r: dict) -> str:
    rows = []
    for name, s in r["sets"].items():
        rows.append([f"{name} ({s['naive']['n']} photos)", s["naive"]["per_s"], s["one_process"]["per_s"],
                     f"{s['pool']['per_s']} ({s['workers']} workers)", f"**{s['speedup']}x**",
                     f"{s['speedup_one_process']}x", s["loadavg"][0]])
    lines = ["## (a) Ingest: decode + orient + resize + crop + thumbnail", "",
             "Photos/s for what the indexer does to every photo before the model: read, hash, decode, EXIF "
             "orientation, RGB, resize the short side to 224 and centre-crop, and a 72-px JPEG thumbnail. "
             "*naive*: plain Pillow in one process, full decode (no draft mode), resize straight from full size, "
             "thumbnail resized from the full photo. *nounlens*: `data.images.decode_job` (JPEG draft mode, "
             "reducing_gap), in one process and in the indexer's spawned decoding pool (started once, "
             "start-up listed below). Medians of 3 runs, interleaved.", ""]
    lines += table(["photos", "naive /s", "nounlens, 1 process /s", "nounlens, pool /s", "speed-up (pool)",
                    "speed-up (1 process)", "load (1 min)"], rows)
    starts = ", ".join(f"{n}: {s['pool_start_s']} s" for n, s in r["sets"].items())
    lines += ["", f"Pool start-up (paid once per `index` run): {starts}. Targets: ≥ 3x on imagenet-sample, "
                  "≥ 5x on the 52 large photos."]
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
                      f"timed), resized without reducing_gap; median of runs. {versions}. Source: {rs['source']}."]
        if "recorded" in rs:
            rec = rs["recorded"]
            lines.append(f"The recorded run alone (both Pillows on {rec['date']}, load {rec['loadavg']}): "
                         + ", ".join(f"{op} {v}x" for op, v in rec["ratios"].items()) + ".")
    else:
        lines.append(f"Not measured: {rs['source']}.")
    return "\n".join(lines)
