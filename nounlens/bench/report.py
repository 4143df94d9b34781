"""What a benchmark page needs besides the numbers: the machine, the versions actually loaded, the load
average, medians, and markdown tables. A timing means little without all of them."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from nounlens.data import pil_flavour


def loadavg() -> list[float]:
    """1, 5 and 15-minute load averages: other jobs on a shared machine show up here, not in our timings."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    flags = ""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        pass
    simd = [f for f in ("avx2", "avx512f", "avx512_vnni", "amx_int8") if f" {f}" in flags]
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "memory_gib": mem, "simd": simd,
            "os": platform.platform(terse=True), "loadavg_start": loadavg()}


def loaded_pil() -> dict:
    """The PIL this process imported (not merely what is installed): its distribution, version and path."""
    pil = pil_flavour.describe()
    return {k: pil[k] for k in ("pil", "version", "path")}


def versions() -> dict:
    import numpy

    out = {"python": platform.python_version(), "numpy": numpy.__version__, "image_library": loaded_pil()}
    for name in ("torch", "onnxruntime", "faiss", "lmdb"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = None
    out["nounlens"] = importlib.metadata.version("nounlens")
    try:
        out["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                       cwd=Path(__file__).parent, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        out["commit"] = None
    return out


def timed_runs(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall seconds of `runs` calls of fn."""
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def latencies(fn: Callable[[object], object], items: Sequence) -> list[float]:
    """Wall seconds of fn(item) for each item, one at a time: what one user's query waits."""
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t)
    return out


def rate(count: int, seconds: Sequence[float]) -> dict:
    """Items per second from repeated runs: the median, and the spread that says how much to trust it."""
    rates = [count / s for s in seconds if s > 0]
    return {"n": count, "runs": len(rates), "per_s": round(statistics.median(rates), 2),
            "min_per_s": round(min(rates), 2), "max_per_s": round(max(rates), 2),
            "seconds": [round(s, 3) for s in seconds]}


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def header_lines(info: dict) -> list[str]:
    m, v = info["machine"], info["versions"]
    pil = v["image_library"]
    load = f"{m['loadavg_start']} at the start, {info.get('loadavg_end')} at the end"
    return [
        "# Benchmarks",
        "",
        f"Written by `{info['command']}` on {info['date']} ({info['minutes']:.1f} min). Every figure is a "
        "median of several runs, and every stage is timed against its obvious baseline on the same photos in "
        "the same run, so the ratios hold even where the machine was shared. A stage kept from an earlier run "
        "(`--stages` re-measures only some) says so under its title.",
        "",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; SIMD: {', '.join(m['simd']) or 'none'}; "
        f"{m['os']}",
        f"- load average (1/5/15 min): {load}",
        f"- versions: python {v['python']}, torch {v['torch']}, onnxruntime {v['onnxruntime']}, faiss {v['faiss']}, "
        f"numpy {v['numpy']}, lmdb {v['lmdb']}, nounlens {v['nounlens']} (commit {v['commit']})",
        f"- image library loaded: {pil['pil']} {pil['version']} ({pil['path']})",
        "",
    ]


def write(path: str | Path, info: dict, sections: Sequence[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(header_lines(info)) + "\n" + "\n\n".join(s.strip() for s in sections if s) + "\n"
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def command_line() -> str:
    return "nounlens " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("nounlens") else "nounlens bench"
