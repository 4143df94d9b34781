"""`nounlens eval sr`: x4 super-resolution against nearest and bicubic on held-out photos.

PSNR and SSIM on the Y channel (BT.601, `scale` border pixels cropped, as SR papers do), and a
perceptual distance on a network the training loss never saw: EfficientNet-Lite2's early blocks,
each tap unit-normalised along channels (as LPIPS does, but unweighted), squared distance averaged
over positions and summed over taps. Thumbnails are made by the indexer's own code (make_pair).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from nounlens.data.errors import NounlensError
from nounlens.data.pairs import HOLDOUT_CSV, Pair, holdout_paths, make_pair
from nounlens.search.upscale import PAGE, page_seconds

METRIC_NET = "efficientnet-lite2"
METRIC_TAPS = (0, 3, 6)  # ends of Lite2's stride-2, -4 and -8 stages
BICUBICS = ("bicubic (Pillow)", "bicubic (torch)")
TARGETS = {"psnr_gain_db": 0.5, "perceptual_drop": 0.15, "page_seconds": 1.0}


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 Y in [16, 235] from uint8 RGB, as float64."""
    x = rgb.astype(np.float64)
    return 16.0 + (65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]) / 255.0


def psnr_y(a: np.ndarray, b: np.ndarray, border: int = 4) -> float:
    ya, yb = (luma(im)[border:-border, border:-border] for im in (a, b))
    mse = float(np.mean((ya - yb) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def ssim_y(a: np.ndarray, b: np.ndarray, border: int = 4) -> float:
    """Wang et al. 2004 settings: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03."""
    from skimage.metrics import structural_similarity

    ya, yb = (luma(im)[border:-border, border:-border] for im in (a, b))
    return float(structural_similarity(ya, yb, data_range=255.0, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))


class PerceptualDistance:
    """Distance between two uint8 images in EfficientNet-Lite2's early features (0 for equal images)."""

    def __init__(self, name: str = METRIC_NET, taps: tuple[int, ...] = METRIC_TAPS):
        from nounlens.models.perceptual import EarlyBlocks

        self.net = EarlyBlocks(name, taps)

    def __call__(self, a: np.ndarray, b: np.ndarray) -> float:
        import torch

        from nounlens.models.perceptual import unit_distance

        x = torch.from_numpy(np.stack([a, b])).permute(0, 3, 1, 2).float().div_(255.0)
        with torch.inference_mode():
            return sum(float(unit_distance(f[:1], f[1:])) for f in self.net(x))


def upscalers(net) -> dict:
    """name -> function(uint8 thumbnail) -> uint8 image 4x its size."""
    import torch
    from torch.nn import functional as F

    from nounlens.models.sr import upscale

    def pil(method):
        return lambda lr: np.asarray(Image.fromarray(lr).resize((lr.shape[1] * 4, lr.shape[0] * 4), method))

    def torch_bicubic(lr):
        x = torch.from_numpy(lr.copy()).permute(2, 0, 1)[None].float()
        y = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
        return y[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()

    return {"nearest": pil(Image.Resampling.NEAREST), "bicubic (Pillow)": pil(Image.Resampling.BICUBIC),
            "bicubic (torch)": torch_bicubic, "sr": lambda lr: upscale(net, [lr])[0]}


def side_by_side(pairs: list[Pair], outputs: dict[str, list[np.ndarray]], path: Path, crop: int = 48) -> Path:
    """nearest | bicubic | SR | original, one row per photo, centre crops at 4x."""
    names = ["nearest", "bicubic (Pillow)", "sr"]
    rows = []
    for k, pair in enumerate(pairs):
        i, j = (pair.lr.shape[0] - crop) // 2 * 4, (pair.lr.shape[1] - crop) // 2 * 4
        cells = [outputs[n][k][i:i + crop * 4, j:j + crop * 4] for n in names]
        cells.append(pair.hr[i:i + crop * 4, j:j + crop * 4])
        gap = np.full((crop * 4, 4, 3), 255, np.uint8)
        rows.append(np.concatenate([c for cell in cells for c in (cell, gap)][:-1], axis=1))
    sep = np.full((4, rows[0].shape[1], 3), 255, np.uint8)
    grid = np.concatenate([r for row in rows for r in (row, sep)][:-1], axis=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path, quality=95) if path.suffix.lower() in (".jpg", ".jpeg") \
        else Image.fromarray(grid).save(path)
    return path


def evaluate(data: str | Path, weights: str | Path | None = None, picture: Path | None = None,
             progress: bool = True, show: tuple[str, ...] = ()) -> dict:
    """Every metric for every upscaler on the photos `data`/highres_512.csv lists."""
    from nounlens.models.sr import load_weights

    paths = holdout_paths([data])
    if not paths:
        raise NounlensError(f"no {HOLDOUT_CSV} in {data}: pass --data the imagenet-sample folder")
    net, trained = load_weights(weights)
    pairs = [make_pair(p) for p in tqdm(paths, desc="held-out pairs", unit="photo", disable=not progress)]
    ups = upscalers(net)
    metric = PerceptualDistance()
    outputs: dict[str, list[np.ndarray]] = {n: [] for n in ups}
    scores: dict[str, dict[str, list[float]]] = {n: {"psnr_y": [], "ssim_y": [], "perceptual": []} for n in ups}
    for pair in tqdm(pairs, desc="eval sr", unit="photo", disable=not progress):
        for name, fn in ups.items():
            out = fn(pair.lr)
            outputs[name].append(out)
            scores[name]["psnr_y"].append(psnr_y(out, pair.hr))
            scores[name]["ssim_y"].append(ssim_y(out, pair.hr))
            scores[name]["perceptual"].append(metric(out, pair.hr))
    table = {n: {m: round(float(np.mean(v)), 4) for m, v in s.items()} for n, s in scores.items()}
    # each figure against whichever bicubic does better on it (torch's on PSNR, Pillow's on the metric)
    best = {m: (min if m == "perceptual" else max)(BICUBICS, key=lambda n, m=m: table[n][m]) for m in table["sr"]}
    sr = table["sr"]
    bic = {m: table[best[m]][m] for m in best}
    thumbs = [p.lr for p in pairs[:PAGE]]
    page = page_seconds(net, thumbs)
    page_fp32 = page_seconds(net, thumbs, bf16=False) if page["bf16"] else page
    report = {"photos": len(pairs), "data": str(data), "table": table, "baseline": best,
              "psnr_gain_db": round(sr["psnr_y"] - bic["psnr_y"], 3),
              "ssim_gain": round(sr["ssim_y"] - bic["ssim_y"], 4),
              "perceptual_drop": round(1 - sr["perceptual"] / bic["perceptual"], 4),
              "sr_wins_psnr": int(sum(a > b for a, b in zip(scores["sr"]["psnr_y"], scores[best["psnr_y"]]["psnr_y"],
                                                            strict=True))),
              "page": page, "page_fp32": page_fp32, "trained": trained}
    report["targets"] = {"psnr": report["psnr_gain_db"] >= TARGETS["psnr_gain_db"],
                         "ssim": report["ssim_gain"] > 0,
                         "perceptual": report["perceptual_drop"] >= TARGETS["perceptual_drop"],
                         "page": page["median_s"] < TARGETS["page_seconds"]}
    if picture is not None:
        picks = [i for i, p in enumerate(pairs) if Path(p.name).name.startswith(tuple(show))] if show else []
        picks = (picks or [0, len(pairs) // 2, len(pairs) - 1])[:3]
        side_by_side([pairs[i] for i in picks], {n: [outputs[n][i] for i in picks] for n in outputs}, picture)
        report["picture"] = str(picture)
        report["picture_photos"] = [Path(pairs[i].name).name for i in picks]
    return report
