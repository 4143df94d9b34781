"""Stage "query" of `nounlens bench` (issue 20, item 4): warm `Engine.search` end to end with the default
ranking (hierarchy and look-alike feedback), records and top nouns included.

The catalogue is ../shared/data/tiny-imagenet-subset (about 10k photos), indexed once into
<work>/query-catalogue and reused. Queries are mixed: WordNet nouns, senses (`crane%bird`), arithmetic
(`dog + snow`, `2*cat - dog`) and free text. Each query is timed at k=20 (p50/p99), and some at k=1,000
(time, and the extra memory numpy allocates, by tracemalloc, in a separate pass so that tracing does not
slow the timed one). The baseline is the old path, kept callable: `Engine.stored = False` computes the
top nouns and class probabilities of every result from its stored features, as before."""

from __future__ import annotations

import statistics
import time
import tracemalloc
from pathlib import Path

from nounlens.bench.report import latencies, loadavg, ratio, table
from nounlens.bench.scale_catalogue import work_dir

NOUNS = ("dog cat okapi pagoda wheelchair menorah sunflower euphonium goldfish jellyfish teapot espresso "
         "school_bus bicycle piano guitar violin umbrella tree mountain beach bridge castle church tower "
         "boat ship airplane helicopter car truck train bus motorcycle horse cow sheep pig elephant bear "
         "lion tiger zebra giraffe monkey bird eagle owl parrot penguin duck swan snake lizard turtle frog "
         "fish shark whale dolphin crab lobster butterfly bee spider ant fruit apple banana orange lemon "
         "strawberry pizza bread cake cup bottle chair table bed sofa lamp clock watch camera phone "
         "computer keyboard book flower rose tulip mushroom vehicle furniture instrument animal food "
         "building insect").split()
SENSES = ("crane%bird crane%machine bank%river bat%animal mouse%animal mouse%device jaguar%cat "
          "seal%animal bass%fish pitcher%vessel mole%animal tank%vehicle").split()
PLACES = ("on a beach", "in the snow", "on a street", "in a kitchen", "in the forest", "at night")


def queries(n: int = 200) -> list[str]:
    """n mixed queries: nouns, senses, arithmetic and free text, interleaved."""
    words = [w.replace("_", " ") for w in NOUNS]
    arith = [f"{a} + {b}" if i % 2 else f"2*{a} - {b}" for i, (a, b) in
             enumerate(zip(NOUNS, NOUNS[7:] + NOUNS[:7], strict=True))]
    text = [f"a photo of a {w} {PLACES[i % len(PLACES)]}" for i, w in enumerate(words)]
    pools = [words, SENSES, arith, text]
    out: list[str] = []
    i = 0
    while len(out) < n:
        pool = pools[i % len(pools)]
        out.append(pool[(i // len(pools)) % len(pool)])
        i += 1
    return out


def catalogue(data: Path, work: Path, progress: bool) -> Path:
    """The tiny-imagenet catalogue, indexed once under `work`."""
    from nounlens.search.engine import Engine

    path = work / "query-catalogue"
    engine = Engine.open(path, create=True)
    try:
        engine.index([data / "tiny-imagenet-subset"], progress=progress)
    finally:
        engine.catalogue.close()
    return path


def _search_times(engine, qs: list[str], k: int) -> list[float]:
    return latencies(lambda q: engine.search(q, k=k), qs)


def _peak(engine, qs: list[str], k: int) -> float:
    """The largest extra memory (MB) one search allocates, by tracemalloc."""
    peaks = []
    for q in qs:
        tracemalloc.start()
        engine.search(q, k=k)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return round(max(peaks) / 2**20, 1)


def _summary(times: list[float]) -> dict:
    ms = sorted(t * 1000 for t in times)
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 2),
            "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 2), "max_ms": round(ms[-1], 2)}


def measure(engine, qs: list[str], big: list[str], stored: bool) -> dict:
    """k=20 over `qs` and k=1,000 over `big` (time and memory), on the stored path or the old one."""
    engine.stored = stored
    try:
        for q in qs[:5]:  # warm: models, FAISS, the scorer's tables, the page cache
            engine.search(q, k=20)
        return {"k20": _summary(_search_times(engine, qs, 20)), "k1000": _summary(_search_times(engine, big, 1000)),
                "k1000_peak_mb": _peak(engine, big[:3], 1000)}
    finally:
        engine.stored = True


def run(data: str | Path, quick: bool = False, work: str | Path | None = None,
        progress: bool = True) -> tuple[dict, str]:
    """(results, markdown section). Quick: 100 queries at k=20 instead of 200 (the catalogue is the same)."""
    from nounlens.search.engine import Engine

    work = Path(work) if work else work_dir()
    t0 = time.perf_counter()
    path = catalogue(Path(data), work, progress)
    engine = Engine.open(path)
    qs = queries(100 if quick else 200)
    big = qs[::20]
    results = {"photos": len(engine.catalogue), "catalogue": str(path), "queries": len(qs),
               "queries_k1000": len(big), "loadavg_start": loadavg()}
    results["stored"] = measure(engine, qs, big, stored=True)
    results["baseline"] = measure(engine, qs, big[:3], stored=False)
    results["loadavg_end"] = loadavg()
    results["minutes"] = round((time.perf_counter() - t0) / 60, 1)
    results["targets"] = targets(results)
    return results, markdown(results)


def targets(r: dict) -> list[list[object]]:
    s = r["stored"]

    def row(what: str, target: str, value: float, limit: float, unit: str) -> list[object]:
        return [what, target, f"{value}{unit}", "met" if value <= limit else "**not met**"]

    n = f"{r['photos']:,} photos"
    return [row(f"warm search, k=20, p50, {n}", "≤ 15 ms", s["k20"]["p50_ms"], 15, " ms"),
            row(f"warm search, k=1,000, p50, {n}", "≤ 200 ms", s["k1000"]["p50_ms"], 200, " ms"),
            row(f"warm search, k=1,000, extra memory, {n}", "≤ 200 MB", s["k1000_peak_mb"], 200, " MB")]


def markdown(r: dict) -> str:
    s, b = r["stored"], r["baseline"]
    rows = [["k=20, p50", f"{s['k20']['p50_ms']} ms", f"{b['k20']['p50_ms']} ms",
             f"{ratio(b['k20']['p50_ms'], s['k20']['p50_ms'])}x"],
            ["k=20, p99", f"{s['k20']['p99_ms']} ms", f"{b['k20']['p99_ms']} ms",
             f"{ratio(b['k20']['p99_ms'], s['k20']['p99_ms'])}x"],
            ["k=1,000, p50", f"{s['k1000']['p50_ms']} ms", f"{b['k1000']['p50_ms']} ms",
             f"{ratio(b['k1000']['p50_ms'], s['k1000']['p50_ms'])}x"],
            ["k=1,000, peak extra memory", f"{s['k1000_peak_mb']} MB", f"{b['k1000_peak_mb']} MB",
             f"{ratio(b['k1000_peak_mb'], s['k1000_peak_mb'])}x"]]
    return "\n".join([
        "## Query end to end (issue 20, item 4)", "",
        f"Warm `Engine.search`, default ranking (hierarchy + look-alike feedback), records and top nouns "
        f"included, on {r['photos']:,} photos (tiny-imagenet-subset, `{r['catalogue']}`). k=20: "
        f"{s['k20']['n']} mixed queries (nouns, senses, arithmetic, free text; bench/query_latency.py); "
        f"k=1,000: {s['k1000']['n']} of them ({b['k1000']['n']} on the baseline, which is slow). Memory: "
        "tracemalloc's peak during one search (numpy's allocations included), the largest over 3 queries. "
        "Stored: each photo's top nouns and class log-probabilities read from the catalogue; baseline: "
        "the old path (`Engine.stored = False`), computing them from the stored features. "
        f"Load average {r['loadavg_start']} at the start, {r['loadavg_end']} at the end; 1M photos not measured.",
        "", *table(["", "stored", "baseline (computed per result)", "speed-up"], rows), ""])
