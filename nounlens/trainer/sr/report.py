"""docs/sr.md: the super-resolution measurements, the side-by-side picture and how the shipped weights
were trained, written from one `nounlens eval sr` run."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from nounlens.trainer.sr.eval import METRIC_NET, METRIC_TAPS, TARGETS, evaluate

SHOW = ("n01622779", "n02095314", "n04149813")  # owl feathers, terrier fur, scoreboard lettering


def _yes(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def render(r: dict, picture_name: str) -> str:
    t, tr = r["table"], r.get("trained", {})
    cfg = tr.get("config", {})
    w, taps = cfg.get("width", {}), cfg.get("taps", (0, 2))
    tap_words = f", weighted {', '.join(f'{x:g}' for x in cfg['tap_weights'])}" if cfg.get("tap_weights") else ""
    loss_words = ("by the mean squared difference (Johnson et al.)" if cfg.get("feature_loss", "mse") == "mse" else
                  "by the squared difference of features unit-normalised along channels, averaged over "
                  "positions (LPIPS without learned weights: the perceptual metric below does the same on "
                  "another network)")
    rows = "\n".join(f"| {name} | {m['psnr_y']:.2f} | {m['ssim_y']:.4f} | {m['perceptual']:.4f} |"
                     for name, m in t.items())
    hist = "\n".join(f"| {h['step']} | {h['val_psnr']:.2f} | {h['bicubic_psnr']:.2f} | {h['val_loss']:.4f} |"
                     for h in tr.get("history", []))
    page = r["page"]
    base = r["baseline"]
    fp32 = r.get("page_fp32", page)
    precision = (f", convolutions in bfloat16 (native on this CPU; float32: median {fp32['median_s']:.2f} s, "
                 f"load average {fp32.get('load_1min', '?')})" if page.get("bf16")
                 else ", float32 (no native bfloat16 here)")
    return f"""# Thumbnail super-resolution (x4)

The catalogue stores 72-px thumbnails; results are shown at 288 px by a small CNN trained with a
perceptual loss (Johnson, Alahi & Fei-Fei 2016). Written by `nounlens eval sr` from
{r['photos']} held-out photos ({r['data']}, `highres_512.csv`: short side >= 512 px, never trained on).
Each thumbnail is made by the indexer's own code (JPEG draft decode, Lanczos to a 72-px short side,
JPEG quality 85); the reference is the photo resized (Lanczos) to exactly 4x the thumbnail.

## Results

| upscaler | PSNR-Y (dB) | SSIM-Y | perceptual distance (lower is better) |
| --- | --- | --- | --- |
{rows}

| target | measured | |
| --- | --- | --- |
| PSNR >= +{TARGETS['psnr_gain_db']} dB over bicubic | {r['psnr_gain_db']:+.2f} dB vs {base['psnr_y']} (SR better on \
{r['sr_wins_psnr']} of {r['photos']} photos) | {_yes(r['targets']['psnr'])} |
| SSIM above bicubic | {r['ssim_gain']:+.4f} vs {base['ssim_y']} | {_yes(r['targets']['ssim'])} |
| perceptual distance >= {100 * TARGETS['perceptual_drop']:.0f}% below bicubic | \
{100 * r['perceptual_drop']:.1f}% lower than {base['perceptual']} | {_yes(r['targets']['perceptual'])} |
| 20-thumbnail page < {TARGETS['page_seconds']:.0f} s on 2 CPU threads | median {page['median_s']:.2f} s \
(best {page['best_s']:.2f} s; {page.get('cpu_s_per_thread', '?')} CPU s per thread; load average \
{page.get('load_1min', '?')} on {os.cpu_count()} cores){precision} | {_yes(r['targets']['page'])} |

Each figure is judged against whichever bicubic does better on it: Pillow's (a = -0.5) or torch's (a = -0.75).
PSNR and SSIM are on the BT.601 Y channel with a 4-pixel border cropped; SSIM uses Wang et al.'s
Gaussian window (sigma 1.5). The perceptual distance uses a network the loss never saw,
{METRIC_NET}'s blocks {', '.join(map(str, METRIC_TAPS))} (ends of its stride-2, -4 and -8 stages):
features unit-normalised along channels, squared differences averaged over positions, summed over
the three taps (LPIPS without learned weights). Page time: {page['thumbnails']} held-out thumbnails of
mixed shapes, upscaled by `models.sr.upscale` (one batch per shape) on {page['threads']} torch threads,
median of 5 after a warm-up, on {platform.machine()} with {os.cpu_count()} cores shared with other jobs
(1-minute load average {page.get('load_1min', '?')} when it was measured: above {os.cpu_count()} the page
competes for the cores; `python -m nounlens.bench.sr_page` repeats the timing with the load beside each round).

![nearest | bicubic | SR | original]({picture_name})

Centre crops (48 px of thumbnail, 192 px shown) of {', '.join(r.get('picture_photos', []))}:
nearest | bicubic (Pillow) | SR | original.

## The network (`nounlens/models/sr.py`, blocks in `nounlens/models/blocks.py`)

9x9 conv stem ({w.get('nf', 32)} channels) at thumbnail resolution; {w.get('n_res', 4)} residual blocks there
(conv-BN-ReLU, conv-BN, add); two x2 steps by nearest resize then 3x3 conv-BN-ReLU ({w.get('nf', 32)} ->
{w.get('nf_mid', 16)} -> {w.get('nf_hi', 8)} channels: the high-resolution layers are thin because they cost the
most); a 9x9 conv to RGB. All padding is
reflection. The output is bounded: sigmoid(logit(bicubic x4) + network), so the net learns only what
bicubic misses and starts as bicubic. Resize-then-conv gives every output pixel the same kernel taps,
so the net has no built-in checkerboard; `tests/test_sr.py` checks the 2-pixel periodic energy of
flat and graded inputs.

## The loss (`nounlens/models/perceptual.py`)

{cfg.get('feature_weight')} x feature difference + {cfg.get('pixel_weight')} x L1 pixel loss. The feature
difference compares EfficientNet-Lite0's block {', '.join(str(t) for t in taps)} outputs{tap_words} (frozen, with its
own input scaling; blocks 0, 2 and 4 end its stride-2, -4 and -8 stages) {loss_words}. Johnson et al. used
VGG-16 relu2_2 (stride 2, 128 channels, after a ReLU); no VGG weights ship offline, so the loss
network is the backbone nounlens already ships. Its block outputs are linear bottlenecks (no ReLU,
signed) and far thinner (16-40 channels), so the loss is cheaper and a little less texture-hungry than
VGG's; the pixel term keeps colours and PSNR honest, the feature term keeps edges sharp.

## How the shipped weights were trained

```
{tr.get('command') or '(command not recorded)'}
```

{tr.get('note', '')}

- data: {', '.join(tr.get('data', []))}; {tr.get('train_photos')} training photos, {tr.get('val_photos')} for
  validation, {tr.get('held_out')} held out (`highres_512.csv`). Each photo gives one pair, decoded once and
  kept in memory; photos with a short side under 288 px give a smaller x4 pair (same thumbnail code at a
  smaller side).
- {tr.get('steps')} steps of {cfg.get('batch_size')} random aligned crops ({cfg.get('crop')} px of thumbnail,
  {4 * (cfg.get('crop') or 0)} px of target, random left-right flips), Adam, peak learning rate {cfg.get('lr')},
  50-step warm-up then cosine to 5%, bfloat16 autocast: {cfg.get('bf16')}, seed {cfg.get('seed')}.
- {tr.get('minutes_in_all', tr.get('minutes'))} minutes in all, the last {tr.get('minutes')} on {tr.get('threads')} CPU
  threads ({tr.get('machine', 'this machine')}, shared with other jobs). Weights: `nounlens/weights/sr-x4.pt`.

Validation (centre crops of the validation photos, RGB PSNR):

| step | SR PSNR | bicubic PSNR | loss |
| --- | --- | --- | --- |
{hist}

## Reproduce

```
{tr.get('command') or 'nounlens train sr --data ... --out nounlens/weights/sr-x4.pt'}
nounlens eval sr --data ../shared/data/imagenet-sample --out docs/sr.md
nounlens thumb 12 --out result.png          # a catalogue result, by id
nounlens thumb photo.jpg --out photo-x4.png  # any photo: thumbnail as the indexer makes it, then x4
```
"""


def write_sr_report(data: str | Path, out: str | Path = "docs/sr.md", weights: str | Path | None = None,
                    progress: bool = True) -> dict:
    out = Path(out)
    picture = out.with_name(out.stem + "-side-by-side.jpg")
    report = evaluate(data, weights, picture, progress, SHOW)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(report, picture.name))
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    return report
