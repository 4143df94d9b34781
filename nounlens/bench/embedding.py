"""Stage (b), embedding: photos/s of `nounlens index` end to end (decode pool + ONNX Runtime backbone +
ConSE + LMDB writes + FAISS), against the same model run eagerly in torch one photo at a time and batched,
on the same photos in the same run; the levers one at a time (threads, decode workers, int8); and top-1
on imagenet-sample, fp32 against int8, which decides whether int8 may be offered.
"""

from __future__ import annotations

import copy
import csv
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from nounlens.bench.report import loadavg, rate, ratio, table, timed_runs
from nounlens.data.errors import NounlensError
from nounlens.data.images import MODEL_SIZE, decode_job
from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.pipeline import default_workers, index_paths
from nounlens.models.backbone import Backbone, normalize, torch_model
from nounlens.models.embed import ModelStack

BATCH = 32
INT8_MAX_DROP = 0.5  # top-1 points int8 may lose on imagenet-sample and still be offered
TORCH_THREADS = 2


def with_backbone(models: ModelStack, runtime: str = "onnx", threads: int | None = None,
                  spin: bool | None = None, chunk: int | None = None) -> ModelStack:
    """The same stack (text encoder and noun table shared, already loaded) over another backbone set-up;
    None keeps the default."""
    out = copy.copy(models)
    out.runtime = runtime
    out.backbone = Backbone(models.backbone_name, runtime=runtime, threads=threads,
                            **{k: v for k, v in (("spin", spin), ("chunk", chunk)) if v is not None})
    return out


def warm(models: ModelStack) -> float:
    """Load everything `index` loads once per process (text encoder, noun table, ONNX session)."""
    t = time.perf_counter()
    models.describe()
    models.embed_pixels(np.zeros((1, models.backbone.size, models.backbone.size, 3), np.uint8))
    return time.perf_counter() - t


# ---- the real pipeline --------------------------------------------------------------------------------
def index_once(paths: list[str], models: ModelStack, workers: int | None = None) -> dict:
    """`nounlens index` into a fresh catalogue under a temporary folder; the Summary as a dict."""
    with tempfile.TemporaryDirectory(prefix="nounlens-bench-") as tmp:
        cat = Catalogue.open(Path(tmp) / "cat", create=True)
        try:
            summary = index_paths(cat, paths, models, workers=workers, batch_size=BATCH, progress=False,
                                  log=lambda msg: None)
        finally:
            cat.close()
    if summary.added != len(paths):
        raise NounlensError(f"bench index added {summary.added} of {len(paths)} photos")
    return summary.as_dict()


# ---- the baselines: the obvious torch code ------------------------------------------------------------
def naive_pixels(path: str) -> np.ndarray:
    """Full decode, plain resize of the short side, centre crop: what a first script does."""
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(Path(path).read_bytes()))).convert("RGB")
    w, h = img.size
    s = MODEL_SIZE / min(w, h)
    img = img.resize((max(MODEL_SIZE, round(w * s)), max(MODEL_SIZE, round(h * s))), Image.Resampling.BICUBIC)
    left, top = (img.width - MODEL_SIZE) // 2, (img.height - MODEL_SIZE) // 2
    return np.asarray(img.crop((left, top, left + MODEL_SIZE, top + MODEL_SIZE)), dtype=np.uint8)


def eager_one_by_one(paths: list[str], models: ModelStack) -> None:
    """torch, fp32, eager, one photo at a time; ConSE on each."""
    import torch

    net = torch_model(models.backbone_name)
    with torch.inference_mode():
        for p in paths:
            f, y = net(torch.from_numpy(normalize(naive_pixels(p)[None])))
            models.embedder(f.numpy(), y.numpy())


def channels_last_model(name: str):
    import torch

    return copy.deepcopy(torch_model(name)).to(memory_format=torch.channels_last).eval()


def torch_batched(paths: list[str], models: ModelStack, net) -> None:
    """torch, fp32, batches of 32 in channels-last memory order, decoding in the same process."""
    import torch

    with torch.inference_mode():
        for i in range(0, len(paths), BATCH):
            x = torch.from_numpy(normalize(np.stack([naive_pixels(p) for p in paths[i:i + BATCH]])))
            f, y = net(x.contiguous(memory_format=torch.channels_last))
            models.embedder(f.numpy(), y.numpy())


def model_alone(pixels: np.ndarray, models: ModelStack, net_cl, runs: int, threads: int) -> dict:
    """The backbone alone on decoded pixels, batch 32 (torch eager also at batch 1): the bound on `index`."""
    import torch

    out = {}
    n = len(pixels)

    def torch_run(batch: int, net, channels_last: bool):
        with torch.inference_mode():
            for i in range(0, n, batch):
                x = torch.from_numpy(normalize(pixels[i:i + batch]))
                net(x.contiguous(memory_format=torch.channels_last) if channels_last else x)

    out["torch_eager_b1"] = rate(n, timed_runs(lambda: torch_run(1, torch_model(models.backbone_name), False), runs))
    out["torch_b32_channels_last"] = rate(n, timed_runs(lambda: torch_run(BATCH, net_cl, True), runs))
    for runtime in ("onnx", "onnx-int8"):
        for name, kw in (("", {}), ("_ort_defaults", {"spin": True, "chunk": BATCH})):
            bb = Backbone(models.backbone_name, runtime=runtime, threads=threads, **kw)
            bb(pixels[:BATCH])
            out[f"{runtime}_b32{name}"] = rate(n, timed_runs(
                lambda b=bb: [b(pixels[i:i + BATCH]) for i in range(0, n, BATCH)], runs))
    return out


# ---- accuracy: may int8 be offered? --------------------------------------------------------------------
def labelled_imagenet(data: Path, every: int = 1) -> tuple[list[str], np.ndarray]:
    folder = data / "imagenet-sample"
    with open(folder / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))[::every]
    return [str(folder / r["path"]) for r in rows], np.array([int(r["class_index"]) for r in rows])


def top1(paths: list[str], labels: np.ndarray, models: ModelStack, threads: int) -> dict:
    """Top-1 (%) of the fp32 and int8 backbones on the indexer's own pixels, and how alike their
    embeddings are (cosine of the ConSE vectors, which is what search compares)."""
    pixels = np.stack([decode_job(p, MODEL_SIZE)[2].pixels for p in paths])
    got = {}
    for runtime in ("onnx", "onnx-int8"):
        bb = Backbone(models.backbone_name, runtime=runtime, threads=threads)
        feats, logits = zip(*[bb(pixels[i:i + BATCH]) for i in range(0, len(pixels), BATCH)], strict=True)
        f, y = np.concatenate(feats), np.concatenate(logits)
        got[runtime] = (f, y, models.embedder(f, y))
    (_, y32, v32), (_, y8, v8) = got["onnx"], got["onnx-int8"]
    a32, a8 = 100 * float((y32.argmax(1) == labels).mean()), 100 * float((y8.argmax(1) == labels).mean())
    cos = (v32 * v8).sum(1)
    return {"photos": len(paths), "fp32": round(a32, 2), "int8": round(a8, 2), "drop": round(a32 - a8, 2),
            "agree": round(100 * float((y32.argmax(1) == y8.argmax(1)).mean()), 2),
            "cosine_mean": round(float(cos.mean()), 4), "cosine_min": round(float(cos.min()), 4),
            "int8_offered": bool(a32 - a8 <= INT8_MAX_DROP)}


# ---- the stage ------------------------------------------------------------------------------------------
def run(data: str | Path, quick: bool = False, photos: list[str] | None = None,
        labelled: tuple[list[str], np.ndarray] | None = None, sweep: bool | None = None) -> tuple[dict, str]:
    data = Path(data).expanduser()
    threads = os.cpu_count() or 1
    import torch

    torch.set_num_threads(min(TORCH_THREADS, threads))
    every = 10 if quick else 1  # the full run: all 1,000, so the pool's start-up is spread as in a real index
    paths = photos or labelled_imagenet(data, every=every)[0]
    runs = 3
    models = ModelStack()
    t0 = time.perf_counter()
    cold = warm(models)
    r: dict = {"photos": len(paths), "every": None if photos else every, "runs": runs,
               "cold_load_s": round(cold, 2), "workers": default_workers(),
               "onnx_threads": models.backbone.threads, "torch_threads": torch.get_num_threads()}

    # everything interleaved run by run, so load from other jobs falls on all alike
    net_cl = channels_last_model(models.backbone_name)
    m8 = with_backbone(models, "onnx-int8")
    warm(m8)
    torch_threads = sorted({1, min(TORCH_THREADS, threads)})
    secs: dict[str, list[float]] = {"index": [], "index_int8": [], "batched": []}
    secs |= {f"eager_t{t}": [] for t in torch_threads}
    parts: dict[str, list[dict]] = {"index": [], "index_int8": []}
    for _ in range(runs):
        for key, stack in (("index", models), ("index_int8", m8)):
            d = index_once(paths, stack)
            secs[key].append(d["seconds"])
            parts[key].append(d)
        for t in torch_threads:  # on a shared machine one OpenMP thread can beat two: the baseline gets the faster
            torch.set_num_threads(t)
            secs[f"eager_t{t}"] += timed_runs(lambda: eager_one_by_one(paths, models), 1)
        torch.set_num_threads(r["torch_threads"])
        secs["batched"] += timed_runs(lambda: torch_batched(paths, models, net_cl), 1)
    for key, s in secs.items():
        r[key] = rate(len(paths), s)
    r["eager"] = max((r[f"eager_t{t}"] for t in torch_threads), key=lambda e: e["per_s"])
    r["eager_threads"] = next(t for t in torch_threads if r[f"eager_t{t}"] is r["eager"])
    r["eager_thread_counts"] = torch_threads
    for key in ("index", "index_int8"):
        mid = parts[key][int(np.argsort(secs[key])[len(secs[key]) // 2])]
        r[key]["model_s"], r[key]["decode_cpu_s"] = mid["model_s"], mid["decode_s"]
    r["speedup_vs_eager"] = ratio(r["index"]["per_s"], r["eager"]["per_s"])
    r["speedup_vs_batched"] = ratio(r["index"]["per_s"], r["batched"]["per_s"])
    r["int8_speedup"] = ratio(r["index_int8"]["per_s"], r["index"]["per_s"])
    r["loadavg_main"] = loadavg()

    pixels = np.stack([decode_job(p, MODEL_SIZE)[2].pixels for p in paths[: 64 if quick else 128]])
    r["model_alone"] = model_alone(pixels, models, net_cl, runs, threads)

    if sweep if sweep is not None else not quick:
        r["levers"] = levers(paths, models, 2)
    r["top1"] = top1(*(labelled or labelled_imagenet(data, every=5 if quick else 1)), models, threads)
    r["loadavg_end"] = loadavg()
    r["seconds"] = round(time.perf_counter() - t0, 1)
    return r, markdown(r)


def levers(paths: list[str], models: ModelStack, runs: int) -> dict:
    """`index` end to end with one setting changed at a time: decoding workers (0 = no overlap with the
    model), ONNX Runtime intra-op threads, whether its idle threads spin, photos per ONNX Runtime run."""
    cores = os.cpu_count() or 1
    configs = {"default": (None, None, None, None),
               "decoding in the model's process (workers 0: no overlap)": (0, None, None, None),
               f"{cores} decoding workers": (cores, None, None, None),
               "ONNX Runtime: 1 intra-op thread": (None, 1, None, None),
               "ONNX Runtime: idle threads spin (its default)": (None, None, True, None),
               f"ONNX Runtime: {BATCH} photos per run": (None, None, None, BATCH)}
    stacks = {name: with_backbone(models, "onnx", t, s, c) for name, (_, t, s, c) in configs.items()}
    for s in stacks.values():
        warm(s)
    secs: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(runs):
        for name, (w, _, _, _) in configs.items():
            secs[name].append(index_once(paths, stacks[name], w)["seconds"])
    out = {name: rate(len(paths), s) for name, s in secs.items()}
    out["loadavg"] = loadavg()
    return out


def markdown(r: dict) -> str:
    n = r["photos"]
    rows = [["`nounlens index` (ONNX Runtime fp32, decode pool)", r["index"]["per_s"], f"**{r['speedup_vs_eager']}x**"],
            ["`nounlens index --int8`", r["index_int8"]["per_s"],
             f"**{ratio(r['index_int8']['per_s'], r['eager']['per_s'])}x**"],
            *[[f"torch eager, one photo at a time, fp32, {t} thread{'s' if t > 1 else ''}"
               + (" (**baseline**: the faster)" if t == r["eager_threads"] else ""), r[f"eager_t{t}"]["per_s"],
               f"{ratio(r[f'eager_t{t}']['per_s'], r['eager']['per_s'])}x"]
              for t in r["eager_thread_counts"]],
            ["torch batched (32, channels-last), fp32", r["batched"]["per_s"],
             f"{ratio(r['batched']['per_s'], r['eager']['per_s'])}x"]]
    lines = ["## (b) Embedding: `nounlens index` end to end", "",
             f"Photos/s from photo files to unit vectors, on the same {n} photos of imagenet-sample"
             + (f" (every {r['every']}th)" if (r.get("every") or 1) > 1 else "") + f", medians of {r['runs']} runs "
             "interleaved. `index` runs the real "
             f"pipeline (`indexer.pipeline.index_paths`) into a fresh catalogue in a temporary folder: walk, read "
             f"+ hash, decode in {r['workers']} spawned worker(s) overlapped with the model, EfficientNet-Lite0 in "
             f"ONNX Runtime ({r['onnx_threads']} intra-op threads, not spinning, 8 photos per run), ConSE, one LMDB "
             "transaction per 32 photos (records, float16 features, vectors, thumbnails) and the FAISS file; "
             f"models loaded before timing (cold load {r['cold_load_s']} s, once per process). Baselines: the same "
             f"model and ConSE in torch (one photo at a time: 1 and 2 threads, the faster is the baseline; batched: "
             f"{r['torch_threads']} threads) after plain-Pillow preprocessing in the same process; they make "
             "no thumbnails and write nothing, so the ratios understate the gain.", ""]
    lines += table(["pipeline", "photos/s", "vs eager"], rows)
    lines += ["", f"Split of the median `index` run: {r['index']['model_s']} s in the model (main process), "
                  f"{r['index']['decode_cpu_s']} CPU s decoding in workers, {n / r['index']['per_s']:.1f} s wall. "
                  f"Load average during these runs: {r['loadavg_main']}. Targets: ≥ 80 photos/s and "
                  "≥ 2.5x eager; ≥ 120 photos/s with int8.", ""]
    m = r["model_alone"]
    lines += ["### The model alone (decoded pixels in memory)", ""]
    lines += table(["backbone", "photos/s"], [
        ["torch eager, batch 1", m["torch_eager_b1"]["per_s"]],
        ["torch batch 32, channels-last", m["torch_b32_channels_last"]["per_s"]],
        ["ONNX Runtime fp32, batch 32, its defaults (threads spin)", m["onnx_b32_ort_defaults"]["per_s"]],
        ["ONNX Runtime fp32 as nounlens runs it (no spinning, 8 photos per run)", m["onnx_b32"]["per_s"]],
        ["ONNX Runtime int8, batch 32, its defaults", m["onnx-int8_b32_ort_defaults"]["per_s"]],
        ["ONNX Runtime int8 as nounlens runs it", m["onnx-int8_b32"]["per_s"]]])
    if "levers" in r:
        lv = r["levers"]
        base = lv["default"]["per_s"]
        lines += ["", "### Levers, one at a time (`index` end to end, fp32)", ""]
        lines += table(["setting", "photos/s", "vs default"],
                       [[k, v["per_s"], f"{ratio(v['per_s'], base)}x"] for k, v in lv.items() if k != "loadavg"])
        lines += ["", f"Default: {r['workers']} decoding worker(s), {r['onnx_threads']} ONNX Runtime intra-op threads "
                      "that do not spin, 8 photos per ONNX Runtime run (the LMDB batch stays 32). "
                      f"Load average after: {lv['loadavg']}."]
    t = r["top1"]
    verdict = "offered as `nounlens index --int8`" if t["int8_offered"] else "NOT offered (drop over 0.5 points)"
    lines += ["", "### int8: accuracy", "",
              "Static QDQ quantisation (onnxruntime.quantization: per-channel int8 weights, uint8 activations, "
              "percentile calibration on 100 Caltech-101 photos, none from imagenet-sample; the stem conv kept in "
              "float), built by `python -m nounlens.models.quantize` and shipped in nounlens/weights.", ""]
    lines += table(["imagenet-sample photos", "top-1 fp32", "top-1 int8", "drop (points)", "same top-1 class",
                    "cosine of ConSE vectors (mean / min)"],
                   [[t["photos"], t["fp32"], t["int8"], t["drop"], f"{t['agree']}%",
                     f"{t['cosine_mean']} / {t['cosine_min']}"]])
    lines += ["", f"Verdict: int8 is {verdict}; it stays opt-in."]
    return "\n".join(lines)
