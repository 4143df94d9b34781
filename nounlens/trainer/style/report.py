"""docs/style.md: the restyling measurements, the grid picture and how the shipped stylizer was
trained, written from one `nounlens eval style` run."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from nounlens.trainer.style.eval import CELL, TIMING_SIDE, VARIANT_PAIRS, VARIANT_SIZE, evaluate
from nounlens.trainer.style.metric import METRIC_CONTENT_TAP, METRIC_NET, METRIC_STYLE_TAPS

TARGETS = {"optimisation_s": 60.0, "stylizer_s": 0.5, "weights_bytes": 5 * 2**20}


def _yes(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _summary(r: dict) -> str:
    return "\n".join(f"| {name} | {s['content']:.3f} | {s['style']:.4f} | {s['colour']:.1f} | {s['median_s']:.2f} |"
                     for name, s in r["summary"].items())


def _per_painting(r: dict) -> str:
    lines = []
    for painting in r["paintings"]:
        rows = [x for x in r["rows"] if x["painting"] == painting]
        n = len(rows)
        c = sum(x["metric"]["content"] for x in rows) / n
        s = sum(x["metric"]["style"] for x in rows) / n
        u = sum(x["unstyled"]["style"] for x in rows) / n
        uc = sum(x["unstyled"]["colour"] for x in rows) / n
        col = sum(x["metric"]["colour"] for x in rows) / n
        own_c = sum(x["own"]["content"] for x in rows) / n
        own_s = sum(x["own"]["style"] for x in rows) / n
        secs = sorted(x["seconds"] for x in rows)[n // 2]
        lines.append(f"| {painting} | {u:.4f} -> {s:.4f} | {uc:.1f} -> {col:.1f} | {c:.3f} | {own_c:.3f} | "
                     f"{own_s:.4f} | {secs:.1f} |")
    return "\n".join(lines)


def _variants(r: dict) -> str:
    if not r.get("variants"):
        return "(not measured in this run: `nounlens eval style --variants`)"
    rows = ["| variant | content | style | colour | chroma change (grey levels) | own loss start -> end |",
            "| --- | --- | --- | --- | --- | --- |"]
    for name, v in r["variants"].items():
        chroma = sum(x["chroma"] for x in v["rows"]) / len(v["rows"])
        start = sum(x["start"]["total"] for x in v["rows"]) / len(v["rows"])
        end = sum(x["own"]["total"] for x in v["rows"]) / len(v["rows"])
        rows.append(f"| {name} | {v['content']:.3f} | {v['style']:.4f} | {v['colour']:.1f} | {chroma:.1f} | "
                    f"{start:.3f} -> {end:.3f} |")
    return "\n".join(rows)


def render(r: dict, picture: str, tweaks: str, notes: str = "") -> str:
    cfg, fast = r["config"], r["stylizer"]
    t, tr = fast["timing"], fast.get("trained", {})
    tcfg = tr.get("config", {})
    opt_s = sorted(x["seconds"] for x in r["rows"])
    median_opt = opt_s[len(opt_s) // 2]
    threads = sorted({x.get("threads", cfg["threads"]) for x in r["rows"]})
    loads = [x["load_1min"] for x in r["rows"] if x.get("load_1min") is not None]
    load_range = f"{min(loads):.1f}-{max(loads):.1f}" if loads else "?"
    tw = r.get("tweaks", {}).get("runs", {})
    hist = "\n".join(f"| {h['step']} | {h['val_content']:.4f} | {h['val_style']:.4f} | {h['val_loss']:.4f} |"
                     for h in tr.get("history", []))
    cached = sum(x.get("cached", False) for x in r["rows"])
    return f"""# Restyling photos

Written by `nounlens eval style` ({r['minutes']} min on {platform.machine()} with {os.cpu_count()} cores,
torch on {cfg['threads']} threads, 1-minute load average {r['load_1min']} at the end; {cached} of the
{len(r['rows'])} optimisations came from the cache of an earlier run, `~/.cache/nounlens/style-eval`,
and keep the seconds of the run that made them). Each of the
{len(r['photos'])} content photos ({', '.join(r['photos'])}) restyled with each of the {len(r['paintings'])}
paintings by pixel optimisation at {cfg['size']} px (long side, {cfg['steps']} loss evaluations), and with
the shipped one-pass stylizer ({fast['painting']}) at {TIMING_SIDE} px.

{notes}

![grid]({picture})

Top row: the paintings. Then one row per photo: the photo, the photo restyled by optimisation with
each painting above it, and (last column) the shipped {fast['painting']} stylizer, one pass.
Cells are 4:3 centre crops at {CELL[0]}x{CELL[1]}.

## How close to the photo and to the painting

Distances on a network neither loss uses ({METRIC_NET}): **content** is the relative squared
difference of block {METRIC_CONTENT_TAP[1:]}'s output (stride 8) from the photo's (0 = the photo's
features); **style** is the mean relative Gram-matrix distance to the painting over the inner activations
{', '.join(METRIC_STYLE_TAPS)} (the ends of its stride-2 to stride-16 stages); **colour** is the sliced
Wasserstein distance between the result's and the painting's pixel colours, in grey levels. Lower is
closer for all three. The unstyled photo scores content 0 and its own distances from each painting.
The Gram distance turned out a blunt judge: it rates a photo restyled lightly about as close to a
painting as one restyled fully (see the start-image rows below), which is why colour is reported too,
and why the pictures decided as much as the figures.

| method | content | style | colour | median seconds |
| --- | --- | --- | --- | --- |
{_summary(r)}

Per painting (optimisation, mean over the photos; "own" are the optimisation's own losses on
EfficientNet-Lite0, relative, as minimised):

| painting | style: photo -> result | colour: photo -> result | content | own content | own style | median s |
| --- | --- | --- | --- | --- | --- | --- |
{_per_painting(r)}

| target | measured | |
| --- | --- | --- |
| optimisation at {cfg['size']} px within {TARGETS['optimisation_s']:.0f} s on 2 cores | median \
{median_opt:.1f} s, max {opt_s[-1]:.1f} s ({cfg['steps']} evaluations, {'/'.join(map(str, threads))} thread(s), \
load average {load_range} while the grid ran) | {_yes(median_opt <= TARGETS['optimisation_s'])} |
| stylizer under {TARGETS['stylizer_s']} s for a {t['pixels']} photo on {t['threads']} threads | median \
{t['median_s']:.3f} s (best {t['best_s']:.3f} s; load average {t['load_1min']}) | \
{_yes(t['median_s'] < TARGETS['stylizer_s'])} |
| stylizer weights under 5 MB | {t['weights_bytes'] / 1e6:.2f} MB (float16) | \
{_yes(t['weights_bytes'] < TARGETS['weights_bytes'])} |

## The tweaks

![tweaks]({tweaks})

The Tübingen photo: as it is; Starry Night; Starry Night on luminance only (chroma change
{tw.get('luminance only', {}).get('chroma', '?')} grey levels); Starry Night recoloured to the photo's colours first
(chroma change {tw.get('histogram matched', {}).get('chroma', '?')}); only the left half styled (right half
within {tw.get('mask: left half', {}).get('unstyled_max_diff', '?')} grey levels of the photo, past the feathered
edge); Irises on the left and Starry Night on the right.

Each option against the default, on {', '.join(f'{c} / {s}' for c, s in VARIANT_PAIRS)} at {VARIANT_SIZE} px
and the same number of evaluations (same distances as above, mean over the pairs; "chroma change" is
the mean absolute Cb/Cr difference from the photo):

{_variants(r)}

## Method

Pixel optimisation (`nounlens/search/restyle/optimise.py`, losses in `nounlens/models/style_losses.py`):
content loss on EfficientNet-Lite0 `{cfg['content_tap']}`, Gram style loss on
{', '.join(f'`{x}` (weight {w:g})' for x, w in zip(cfg['style_taps'], cfg['style_weights'], strict=True))}
(`aN` = the ReLU6 activation after block N's depthwise conv, `bN` = block N's output), both relative
to the target's own norm; style weight {cfg['style_weight']:g}, content weight {cfg['content_weight']:g},
total variation {cfg['tv_weight']:g}; Wang et al.'s softmax: {cfg['softmax'] or 'off'}; start: {cfg['init']};
{cfg['optimizer']} ({cfg['steps']} loss evaluations, pixels clipped to [0, 1] every 20 iterations). The painting
is resized to the result's area.

## How the shipped stylizer was trained

```
{tr.get('command') or '(command not recorded)'}
```

- painting: {tr.get('painting', {}).get('name')} (`{tr.get('painting', {}).get('sha256', '')[:16]}`).
- data: {', '.join(tr.get('data', []))}; {tr.get('train_photos')} training photos, {tr.get('val_photos')} for
  validation (none of the content photos above).
- {tr.get('steps')} steps of {tcfg.get('batch_size')} random {tcfg.get('crop')}-px crops (random flips),
  Adam, peak learning rate {tcfg.get('lr')}, warm-up then cosine, bfloat16 autocast: {tcfg.get('bf16')},
  seed {tcfg.get('seed')}; the painting seen at {tcfg.get('style_size')} px; style weight {tcfg.get('style_weight')},
  content {tcfg.get('content_weight')}, total variation {tcfg.get('tv_weight')}.
- network: widths {tcfg.get('widths')}, {tcfg.get('n_res')} residual blocks, instance norm.
- {tr.get('minutes')} minutes on {tr.get('threads')} CPU thread(s) ({tr.get('machine', '')}).
  Weights: `nounlens/weights/style-irises.pt`.

| step | content | style | loss |
| --- | --- | --- | --- |
{hist}

## Reproduce

```
{tr.get('command') or 'nounlens train style ...'}
nounlens eval style --data ../shared/data/styles --out docs/style.md --variants
nounlens style photo.jpg --out irises.jpg                         # the shipped stylizer, one pass
nounlens style photo.jpg --style painting.jpg --out out.jpg       # optimisation
nounlens style photo.jpg --style painting.jpg --colour luminance --mask left --out out.jpg
```
"""


def write_style_report(data: str | Path, out: str | Path = "docs/style.md", model: str = "irises", size: int = 384,
                       steps: int = 150, variants: bool = False, threads: int = 2, progress: bool = True,
                       command: str = "") -> dict:
    """Evaluate and write OUT (markdown), OUT-grid.jpg, OUT-tweaks.jpg and OUT.json. OUT-notes.md, where it
    exists, is what a person saw in the pictures; it goes in under the headline figures."""
    out = Path(out)
    notes_file = out.with_name(out.stem + "-notes.md")
    notes = notes_file.read_text() if notes_file.is_file() else ""
    picture = out.with_name(out.stem + "-grid.jpg")
    report = evaluate(data, model, size, steps, threads, variants, picture, progress)
    report["command"] = command
    out.parent.mkdir(parents=True, exist_ok=True)
    tweaks = Path(report["tweaks"].get("picture", "")).name if report.get("tweaks") else ""
    out.write_text(render(report, picture.name, tweaks, notes))
    out.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    return report
