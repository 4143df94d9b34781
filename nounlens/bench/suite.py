"""`nounlens bench`: run the stages, put the targets in one table at the top, write docs/benchmarks.md."""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from nounlens.bench import report
from nounlens.data.errors import NounlensError

STAGES = ("ingest", "embedding", "scale", "cli", "query")
MODULES = {"cli": "cli_startup", "query": "query_latency"}  # a stage's module where its name differs


def _measure(stage: str, data: Path, quick: bool, other_python: str | None) -> tuple[dict, str]:
    if stage == "ingest":
        from nounlens.bench import ingest

        return ingest.run(data, quick, other_python)
    if stage == "embedding":
        from nounlens.bench import embedding

        return embedding.run(data, quick)
    if stage == "cli":
        from nounlens.bench import cli_startup

        return cli_startup.run(quick)
    if stage == "query":
        from nounlens.bench import query_latency

        return query_latency.run(data, quick)
    from nounlens.bench import scale

    return scale.run(quick=quick, data=data)


def _earlier(out: str | Path, quick: bool, skip: tuple[str, ...]) -> dict[str, dict]:
    """The other stages' results from the last run written to `out` (same --quick), so `--stages X`
    re-measures X and keeps the rest; each keeps the date it was measured."""
    try:
        old = json.loads(Path(out).with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}
    if old.get("info", {}).get("quick") != quick:
        return {}
    when = old["info"].get("date")
    return {k: {"measured": when} | _int_keys(r) for k, r in old.get("results", {}).items()
            if k in STAGES and k not in skip and isinstance(r, dict)}


def _int_keys(value):
    """JSON wrote int keys (the scale stage's sizes) as strings; make them ints again."""
    if isinstance(value, dict):
        return {int(k) if isinstance(k, str) and k.isdigit() else k: _int_keys(v) for k, v in value.items()}
    return [_int_keys(v) for v in value] if isinstance(value, list) else value


def _markdown(stage: str, r: dict) -> str:
    module = importlib.import_module(f"nounlens.bench.{MODULES.get(stage, stage)}")
    return module.markdown(r)


def _save_json(out: str | Path, info: dict, results: dict) -> None:
    path = Path(out).with_suffix(".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"info": info, "results": results}, indent=1, default=str) + "\n")


def targets(results: dict) -> list[list[object]]:
    """[what, target, measured, met] for every target (issues 12 and 20) this run measured."""
    rows = []

    def row(what: str, target: str, value: float | None, ok: bool | None, unit: str = "") -> None:
        if value is not None:
            rows.append([what, target, f"{value}{unit}", "met" if ok else "**not met**"])

    ing = results.get("ingest")
    if ing:
        for name, need in (("imagenet-sample", 3), ("highres_512", 5)):
            s = ing["sets"][name]
            row(f"ingest, {name}, vs naive Pillow", f"≥ {need}x", s["speedup"], s["speedup"] >= need, "x")
        if "ratios" in ing["resize"]:
            r = ing["resize"]["ratios"]["bicubic_224"]
            rows.append(["resize alone, pillow-simd vs Pillow (bicubic to 224)", "(reported)", f"{r}x", "-"])
    emb = results.get("embedding")
    if emb:
        row("`index` end to end, fp32", "≥ 80 photos/s", emb["index"]["per_s"], emb["index"]["per_s"] >= 80, "/s")
        row("`index` vs eager torch one photo at a time", "≥ 2.5x", emb["speedup_vs_eager"],
            emb["speedup_vs_eager"] >= 2.5, "x")
        t = emb["top1"]
        row("int8 top-1 drop on imagenet-sample", "≤ 0.5 points", t["drop"], t["int8_offered"], " pt")
        if t["int8_offered"]:
            row("`index --int8` end to end", "≥ 120 photos/s", emb["index_int8"]["per_s"],
                emb["index_int8"]["per_s"] >= 120, "/s")
    for stage in ("scale", "cli", "query"):  # stages that list their own target rows
        if isinstance(results.get(stage), dict):
            rows += [list(r) for r in results[stage].get("targets", [])]
    return rows


def run(data: str | Path, quick: bool = False, other_python: str | None = None,
        out: str | Path = "docs/benchmarks.md", stages: tuple[str, ...] = STAGES,
        log: Callable[[str], None] | None = None) -> dict:
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    data = Path(data).expanduser()
    if not (data / "imagenet-sample").is_dir() and set(stages) & {"ingest", "embedding"}:
        raise NounlensError(f"no imagenet-sample under {data}: give the shared data folder with --data")
    if not (data / "tiny-imagenet-subset").is_dir() and "query" in stages:
        raise NounlensError(f"no tiny-imagenet-subset under {data}: give the shared data folder with --data")
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise NounlensError(f"unknown stage {', '.join(sorted(unknown))}; choose from {', '.join(STAGES)}")
    t0 = time.perf_counter()
    info = {"command": report.command_line(), "date": datetime.now().strftime("%Y-%m-%d %H:%M"), "quick": quick,
            "machine": report.machine(), "versions": report.versions()}
    kept = _earlier(out, quick, stages)  # read before this run overwrites the file
    results: dict = {}
    for stage in stages:
        log(f"bench: {stage} ({'quick' if quick else 'full'}), load average {report.loadavg()}")
        t = time.perf_counter()
        results[stage] = {"measured": info["date"]} | _measure(stage, data, quick, other_python)[0]
        _save_json(out, info, kept | results)  # a later stage that fails does not lose this one's figures
        log(f"bench: {stage} took {time.perf_counter() - t:.0f} s")
    results = {k: results.get(k) or kept[k] for k in STAGES if k in results or k in kept}
    sections = []
    for stage, r in results.items():
        md = _markdown(stage, r)
        if r["measured"] != info["date"]:
            title, _, rest = md.partition("\n")
            note = f"*Kept from the run of {r['measured']}: this run re-measured only {', '.join(stages)}.*"
            md = f"{title}\n\n{note}\n{rest}"
        sections.append(md)
    info["loadavg_end"] = report.loadavg()
    info["minutes"] = (time.perf_counter() - t0) / 60
    rows = targets(results)
    summary = ["## Targets (issues 12 and 20)", ""] + (report.table(["what", "target", "measured", ""], rows) if rows
                                                  else ["(no stage with a target ran)"])
    if quick:
        summary += ["", "A `--quick` run: fewer photos and runs, so the figures are rougher (top-1 on a fifth of "
                        "imagenet-sample is not enough to judge int8; the full run decides)."]
    path = report.write(out, info, ["\n".join(summary)] + sections)
    _save_json(out, info, results)
    return {"info": info, "targets": rows, "results": results, "markdown": str(path)}
