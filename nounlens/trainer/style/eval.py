"""`nounlens eval style`: every content photo restyled with every painting by pixel optimisation,
and with the shipped stylizer; content and style distances on a network the losses never see
(trainer/style/metric.py), against the unstyled photo's; seconds; a grid picture; and, with
`variants`, each of the course's tweaks measured on a few pairs."""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from nounlens.data.errors import NounlensError
from nounlens.data.images import square_photo
from nounlens.search.restyle.colour import to_ycbcr
from nounlens.search.restyle.optimise import GatysConfig, load_rgb, to_uint8, transfer
from nounlens.trainer.style.metric import StyleMetric

IMAGES = (".jpg", ".jpeg", ".png")
CELL = (176, 132)  # grid cell: width, height (4:3 centre crops)
TIMING_SIDE = 512
VARIANT_PAIRS = (("tubingen", "starry_night"), ("golden_gate", "irises"))
VARIANT_SIZE = 256
# name -> GatysConfig changes; "default" is GatysConfig() itself
VARIANTS = {
    "default": {},
    "start: the photo": {"init": "content"},
    "start: plain noise": {"init": "noise"},
    "style taps: block outputs (px b0 b2 b4 b7 b10)": {"style_taps": ("px", "b0", "b2", "b4", "b7", "b10")},
    "style taps: no pixel Gram (a0 a2 a4 a7 a10)": {"style_taps": ("a0", "a2", "a4", "a7", "a10"),
                                                     "style_weights": (1.0,) * 5},
    "layer weights: deeper heavier (1 1 1 1 2 2)": {"style_weights": (1.0, 1.0, 1.0, 1.0, 2.0, 2.0)},
    "Wang et al. softmax (T = 1)": {"softmax": 1.0},
    "content tap b6 (stride 16)": {"content_tap": "b6"},
    "no total variation": {"tv_weight": 0.0},
    "Adam (lr 0.02) instead of L-BFGS": {"optimizer": "adam", "lr": 0.02},
    "colour: luminance only": {"colour": "luminance"},
    "colour: histogram matched": {"colour": "histogram"},
}


def cached_transfer(photo: Path, painting: Path, cfg: GatysConfig, **extra) -> dict:
    """transfer(), remembered on disk (cache_dir()/style-eval) by its inputs and settings, so a re-run of
    the evaluation (after training a stylizer, or to rewrite the page) does not redo an hour of optimising.
    The seconds and load average are those of the run that made the entry."""
    from nounlens.data.paths import cache_dir

    settings = {k: v for k, v in asdict(cfg).items() if k != "threads"}  # the same result on any thread count
    key = json.dumps({"photo": _stamp(photo), "painting": _stamp(painting), "cfg": settings, "code": _code(),
                      **{k: _stamp(v) if isinstance(v, Path) else v for k, v in extra.items()}}, sort_keys=True)
    folder = cache_dir() / "style-eval" / hashlib.sha1(key.encode()).hexdigest()[:20]
    if (folder / "result.json").is_file():
        r = json.loads((folder / "result.json").read_text())
        return {**r, "cached": True, "image": np.asarray(Image.open(folder / "image.png").convert("RGB"))}
    load = os.getloadavg()[0]
    r = transfer(photo, painting, cfg, progress=False, **extra)
    r["load_1min"] = round(load, 2)
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(r["image"]).save(folder / "image.png")
    (folder / "result.json").write_text(json.dumps({k: v for k, v in r.items() if k != "image"}))
    return r


def _code() -> str:
    """The optimisation's own source: a change to the losses or the optimiser makes new cache entries."""
    from nounlens.models import style_losses
    from nounlens.search.restyle import colour, optimise

    return hashlib.sha1(b"".join(Path(m.__file__).read_bytes() for m in (style_losses, optimise, colour))
                        ).hexdigest()


def _stamp(path: Path) -> str:
    st = Path(path).stat()
    return f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}"


def find_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGES) if folder.is_dir() else []


def chroma_distance(result: np.ndarray, photo: np.ndarray) -> float:
    """Mean absolute Cb/Cr difference in grey levels (0-255)."""
    a, b = to_ycbcr(result.astype(np.float32) / 255.0), to_ycbcr(photo.astype(np.float32) / 255.0)
    return round(float(np.abs(a[..., 1:] - b[..., 1:]).mean() * 255), 2)


def optimise_all(photos: list[Path], paintings: list[Path], cfg: GatysConfig, metric: StyleMetric,
                 progress: bool) -> tuple[list[dict], dict]:
    rows, images = [], {}
    bar = tqdm(total=len(photos) * len(paintings), desc="eval style (optimising)", unit="image", disable=not progress)
    for photo in photos:
        p = load_rgb(photo, cfg.size)
        images[(photo.stem, None)] = to_uint8(p)
        for painting in paintings:
            s = load_rgb(painting, area=p.shape[0] * p.shape[1])
            r = cached_transfer(photo, painting, cfg)
            images[(photo.stem, painting.stem)] = r["image"]
            rows.append({"photo": photo.stem, "painting": painting.stem, "seconds": r["seconds"],
                         "threads": r["config"]["threads"], "load_1min": r.get("load_1min"),
                         "cached": bool(r.get("cached")),
                         "own": {k: round(v, 4) for k, v in r["losses"].items() if k != "layers"},
                         "metric": metric(r["image"], p, s), "unstyled": metric(to_uint8(p), p, s)})
            bar.update(1)
    bar.close()
    return rows, images


def stylizer_all(photos: list[Path], paintings: list[Path], model: str, metric: StyleMetric,
                 threads: int) -> tuple[dict, dict]:
    """The one-pass stylizer on each photo (512 px long side), scored against its own painting, and
    timed on a 512 x 512 photo: median of 5 after a warm-up."""
    from nounlens.search.restyle.restyler import Restyler

    restyler = Restyler(threads)
    first = restyler.fast(photos[0], model)
    name = first.trained.get("painting", {}).get("name")
    match = [p for p in paintings if p.stem == name]
    rows, images = [], {}
    for photo in photos:
        r = restyler.fast(photo, model, size=TIMING_SIDE)
        images[photo.stem] = r.image
        if match:
            p = load_rgb(photo, TIMING_SIDE)
            s = load_rgb(match[0], area=p.shape[0] * p.shape[1])
            rows.append({"photo": photo.stem, "painting": name, "seconds": r.seconds,
                         "metric": metric(r.image, p, s), "unstyled": metric(to_uint8(p), p, s)})
    square = square_photo(photos[0], TIMING_SIDE)
    load = os.getloadavg()[0]
    times = [restyler.fast(square, model, size=None).seconds for _ in range(6)][1:]
    timing = {"pixels": f"{square.shape[1]}x{square.shape[0]}", "threads": threads,
              "median_s": round(statistics.median(times), 3), "best_s": round(min(times), 3),
              "load_1min": round(load, 2), "weights_bytes": _weights_bytes(model)}
    return {"rows": rows, "timing": timing, "painting": name, "trained": first.trained}, images


def _weights_bytes(model: str) -> int:
    from nounlens.models.stylizer import resolve

    return resolve(model).stat().st_size


def variants(data: Path, cfg: GatysConfig, metric: StyleMetric, progress: bool) -> dict:
    """Each tweak against the default on VARIANT_PAIRS at VARIANT_SIZE px (same steps)."""
    pairs = [(data / "content" / f"{c}.jpg", data / f"{s}.jpg") for c, s in VARIANT_PAIRS]
    pairs = [(c, s) for c, s in pairs if c.is_file() and s.is_file()]
    out = {}
    bar = tqdm(total=len(VARIANTS) * len(pairs), desc="eval style (variants)", unit="image", disable=not progress)
    for name, change in VARIANTS.items():
        v = replace(cfg, size=VARIANT_SIZE, **change)
        rows = []
        for photo, painting in pairs:
            p = load_rgb(photo, v.size)
            s = load_rgb(painting, area=p.shape[0] * p.shape[1])
            r = cached_transfer(photo, painting, v)
            rows.append({"pair": f"{photo.stem} / {painting.stem}", "seconds": r["seconds"],
                         "metric": metric(r["image"], p, s), "chroma": chroma_distance(r["image"], to_uint8(p)),
                         "start": r["start"], "own": {k: round(x, 4) for k, x in r["losses"].items() if k != "layers"}})
            bar.update(1)
        out[name] = {"rows": rows, **mean_of(rows)}
    bar.close()
    return out


def tweaks_picture(data: Path, cfg: GatysConfig, path: Path) -> dict:
    """One photo with each of the tweaks that change the picture: colour modes, a mask, two paintings."""
    photo, irises, starry = data / "content" / "tubingen.jpg", data / "irises.jpg", data / "starry_night.jpg"
    if not (photo.is_file() and irises.is_file() and starry.is_file()):
        return {}
    shots = {"photo": to_uint8(load_rgb(photo, cfg.size))}
    runs = {"Starry Night": ({}, {}), "luminance only": ({"colour": "luminance"}, {}),
            "histogram matched": ({"colour": "histogram"}, {}), "mask: left half": ({}, {"mask": "left"}),
            "Irises left, Starry Night right": ({}, {"mask": "left", "style2": starry})}
    out = {}
    for label, (change, extra) in runs.items():
        style = irises if "style2" in extra else starry
        r = cached_transfer(photo, style, replace(cfg, **change), **extra)
        shots[label] = r["image"]
        out[label] = {"seconds": r["seconds"], "chroma": chroma_distance(r["image"], shots["photo"])}
        if "mask" in extra and "style2" not in extra:
            half = r["image"].shape[1] // 2 + int(0.05 * max(r["image"].shape[:2]))
            out[label]["unstyled_max_diff"] = int(np.abs(r["image"][:, half:].astype(int)
                                                         - shots["photo"][:, half:].astype(int)).max())
    strip = [cell(a, (CELL[0] * 2, CELL[1] * 2)) for a in shots.values()]
    grid = np.concatenate([np.concatenate(strip[:3], axis=1), np.concatenate(strip[3:], axis=1)], axis=0)
    Image.fromarray(grid).save(path, quality=88)
    return {"labels": list(shots), "runs": out, "picture": str(path)}


def mean_of(rows: list[dict]) -> dict:
    if not rows:
        return {}
    return {"content": round(float(np.mean([r["metric"]["content"] for r in rows])), 4),
            "style": round(float(np.mean([r["metric"]["style"] for r in rows])), 4),
            "colour": round(float(np.mean([r["metric"]["colour"] for r in rows])), 2),
            "median_s": round(float(np.median([r["seconds"] for r in rows])), 2)}


def cell(image: np.ndarray, size: tuple[int, int] = CELL) -> np.ndarray:
    """A 4:3 centre crop at `size`."""
    h, w = image.shape[:2]
    cw, ch = (w, round(w * 3 / 4)) if w * 3 / 4 <= h else (round(h * 4 / 3), h)
    i, j = (h - ch) // 2, (w - cw) // 2
    return np.asarray(Image.fromarray(image[i:i + ch, j:j + cw]).resize(size, Image.Resampling.LANCZOS))


def grid_picture(photos: list[Path], paintings: list[Path], images: dict, fast: dict, size: int, path: Path) -> Path:
    """Header row: the paintings; then one row per photo: the photo, each painting by optimisation,
    and the one-pass stylizer at the end."""
    gap = 3
    blank = np.full((CELL[1], CELL[0], 3), 255, np.uint8)
    header = [blank] + [cell(to_uint8(load_rgb(p, size))) for p in paintings] + [blank]
    rows = [header]
    for photo in photos:
        rows.append([cell(images[(photo.stem, None)])] + [cell(images[(photo.stem, s.stem)]) for s in paintings]
                    + [cell(fast[photo.stem]) if photo.stem in fast else blank])

    def join(parts, axis):
        shape = list(parts[0].shape)
        shape[axis] = gap
        sep = np.full(shape, 255, np.uint8)
        return np.concatenate([x for part in parts for x in (part, sep)][:-1], axis=axis)

    grid = join([join(r, 1) for r in rows], 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path, quality=88)
    return path


def evaluate(data: str | Path, model: str = "irises", size: int = 384, steps: int = 150, threads: int = 2,
             with_variants: bool = False, picture: Path | None = None, progress: bool = True) -> dict:
    """Everything `nounlens eval style` measures, on torch `threads` threads (put back afterwards)."""
    from nounlens.models.threads import torch_threads

    data = Path(data).expanduser()
    paintings, photos = find_images(data), find_images(data / "content")
    if not paintings or not photos:
        raise NounlensError(f"{data} needs paintings (*.jpg, *.png) and photos in {data / 'content'}")
    with torch_threads(threads):
        return measure(data, photos, paintings, model, GatysConfig(size=size, steps=steps, threads=threads),
                       with_variants, picture, progress)


def measure(data: Path, photos: list[Path], paintings: list[Path], model: str, cfg: GatysConfig,
            with_variants: bool, picture: Path | None, progress: bool) -> dict:
    """The report: every optimisation, the stylizer, the pictures and (with_variants) the tweaks."""
    metric = StyleMetric()
    start = time.perf_counter()
    rows, images = optimise_all(photos, paintings, cfg, metric, progress)
    fast, fast_images = stylizer_all(photos, paintings, model, metric, cfg.threads)
    report = {"data": str(data), "photos": [p.stem for p in photos], "paintings": [p.stem for p in paintings],
              "config": {k: v for k, v in cfg.__dict__.items() if k != "extra"}, "rows": rows, "stylizer": fast,
              "summary": {"unstyled": {**mean_of([{**r, "metric": r["unstyled"]} for r in rows]), "median_s": 0.0},
                          "optimisation": mean_of(rows)},
              "load_1min": round(os.getloadavg()[0], 2)}
    if fast["rows"]:
        report["summary"][f"stylizer ({fast['painting']})"] = {**mean_of(fast["rows"]),
                                                               "median_s": fast["timing"]["median_s"]}
        report["summary"][f"unstyled vs {fast['painting']}"] = {
            **mean_of([{**r, "metric": r["unstyled"]} for r in fast["rows"]]), "median_s": 0.0}
    if picture is not None:
        report["picture"] = str(grid_picture(photos, paintings, images, fast_images, cfg.size, picture))
        tweaks = picture.with_name(picture.stem.replace("grid", "tweaks") + picture.suffix)
        report["tweaks"] = tweaks_picture(data, cfg, tweaks)
    if with_variants:
        report["variants"] = variants(data, cfg, metric, progress)
    report["minutes"] = round((time.perf_counter() - start) / 60, 1)
    return report
