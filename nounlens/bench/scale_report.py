"""The (c)-(e) section of docs/benchmarks.md and its rows of the targets table."""

from __future__ import annotations

from nounlens.bench.report import table
from nounlens.bench.scale_vectors import N_THUMBS, SIGMA


def targets(r: dict) -> list[list[str]]:
    """[what, target, measured, met] rows for the summary table (targets are set for 1M)."""
    n = r["sizes"][-1]
    s = r["search"][n]
    at = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
    rows = []

    def row(what, target, measured, ok):
        met = "met" if ok else "**not met**"
        if n < 1_000_000:  # a quick run: the targets are set for 1M
            met = f"{'met' if ok else 'not met'} at {at} (the target is for 1M)"
        rows.append([f"{what} ({at})", target, measured, met])

    row("search vs sklearn brute force, batch", "≥ 20x", f"{s['speedup']['batch']}x", s["speedup"]["batch"] >= 20)
    row("search vs sklearn brute force, one query at a time", "≥ 20x", f"{s['speedup']['single']}x",
        s["speedup"]["single"] >= 20)
    row("recall@10 against exact search (worse of text, photo)", "≥ 0.95", f"{s['recall']['min']:.3f}",
        s["recall"]["min"] >= 0.95)
    row("single-query p99 latency", "< 10 ms", f"{s['ours']['single']['p99_ms']:.2f} ms",
        s["ours"]["single"]["p99_ms"] < 10)
    pg = r["page"]
    row("100-result page from LMDB (records + thumbnails), first read, file in the page cache, median (p99)",
        "< 5 ms", f"{pg['first_p50_ms']:.2f} ms ({pg['first_p99_ms']:.2f} ms)", pg["first_p50_ms"] < 5)
    if "found_p50_ms" in pg:
        rows.append([f"the same page, the file as found ({pg['cached_before']:.0%} of it cached) ({at})", "(reported)",
                     f"{pg['found_p50_ms']:.2f} ms ({pg['found_p99_ms']:.2f} ms)", "-"])
    row("open the catalogue (LMDB + FAISS load)", "< 1 s", f"{r['open']['open_s']:.2f} s", r["open"]["open_s"] < 1)
    return rows


def _mb(b: float) -> str:
    return f"{b / 2**20:,.0f} MB"


def markdown(r: dict) -> str:
    """The (c)-(e) section of docs/benchmarks.md: how the catalogues were made, then one part per stage."""
    n = r["sizes"][-1]
    lines = ["## (c) Search, (d) catalogue, (e) memory: 100k to 1M photos", ""]
    lines += _setup(r) + _search_table(r) + _indexes(r) + _catalogue(r, n) + _memory(r, n) + _round_trip(r, n)
    return "\n".join(lines)


def _setup(r: dict) -> list[str]:
    """The vectors, the queries and the baseline."""
    real = sum(r["real"].values())
    return [
        f"Catalogues of {' and '.join(f'{n:,}' for n in r['sizes'])} photos in 384-d MiniLM space (ConSE). The first "
        f"{real:,} vectors are the real embeddings of the ../shared/data photos; the rest are **synthetic**, drawn "
        f"to match them: ConSE of a real photo's ImageNet logits plus N(0, {SIGMA:g}²) noise per logit, which "
        "reproduces the real set's neighbour distances (see nounlens/bench/scale.py). Records, 72-px thumbnails "
        f"(real ones of imagenet-sample photos, {N_THUMBS} reused in turn) and features are written to LMDB as "
        "`nounlens index` writes them; FAISS is chosen and tuned by the same code as `nounlens index`.",
        "",
        f"Queries: {r['search'][r['sizes'][0]]['queries']['text']} WordNet noun vectors (what `search` looks up) "
        f"and {r['search'][r['sizes'][0]]['queries']['photo']} new synthetic photos (what `similar` looks up), "
        "none of them used in tuning. Baseline: scikit-learn `NearestNeighbors(metric='cosine', "
        "algorithm='brute')` on the same vectors, same process, same 2 cores (both use every core: FAISS by "
        f"OpenMP, sklearn by BLAS; a single query runs on one FAISS thread). "
        f"Medians of {r['runs']} runs; sklearn's one-query-at-a-time figure is from "
        "its first 20 queries (each is a full scan). Load average at the start "
        f"{r['loadavg_start']}, at the end {r['loadavg_end']}.",
        "",
    ]


def _search_table(r: dict) -> list[str]:
    """(c): one row per catalogue size."""
    rows = []
    for n in r["sizes"]:
        s = r["search"][n]
        f = s["faiss"]
        setting = ", ".join(f"{k}={v}" for k, v in f["search"].items()) or "exact"
        params = ", ".join(f"{k}={v}" for k, v in f["params"].items())
        o, k = s["ours"], s["sklearn"]
        rows.append([f"{n:,}", f"{f['kind']} ({params}); {setting}",
                     f"{s['recall']['text']:.3f} / {s['recall']['photo']:.3f}",
                     f"{o['single']['p50_ms']:.2f} / {o['single']['p99_ms']:.2f} ms, {o['single']['qps']:,.0f}/s",
                     f"{o['batch']['qps']:,.0f}/s",
                     f"{k['single']['p50_ms']:.0f} / {k['single']['p99_ms']:.0f} ms, {k['single']['qps']:,.1f}/s",
                     f"{k['batch']['qps']:,.0f}/s", f"{s['speedup']['single']}x / {s['speedup']['batch']}x"])
    return table(["photos", "FAISS (auto)", "recall@10 text / photo", "ours, one at a time p50 / p99",
                  f"ours, batch of {sum(r['search'][r['sizes'][0]]['queries'].values())}",
                  "sklearn, one at a time", "sklearn, batch", "speed-up one / batch"], rows)


def _indexes(r: dict) -> list[str]:
    """The FAISS index each catalogue got, as `nounlens info` shows it."""
    lines = ["", "The index each catalogue got (`nounlens info` shows the same):", ""]
    for n in r["sizes"]:
        b = r["build"][n]
        f = b["faiss"]
        rec = ", ".join(f"{k} {v}" for k, v in f["recall"].items()) if f.get("recall") else "exact"
        lines.append(f"- {n:,}: {f['kind']} {f['params']}, tuned {f['search']} to recall@10 {rec} on held-out "
                     f"queries (target {f['target']}); estimated {_mb(f['est_bytes'])} at the size class "
                     f"({f['n_class']:,}) under a {f['budget'] / 2**30:.1f} GB budget; built in {f['build_s']} s, "
                     f"tuned in {f['tune_s']} s"
                     + (f"; catalogue written in {b['write_s']} s" if b.get("write_s") else "")
                     + (" (catalogue reused from an earlier run)" if b.get("reused") else ""))
    return lines


def _catalogue(r: dict, n: int) -> list[str]:
    """(d): page reads and opening the biggest catalogue."""
    p, o = r["page"], r["open"]
    return ["", f"**(d) Catalogue, {n:,} photos.** A 100-result page (records + thumbnails, "
            f"{p['thumb_bytes_per_page'] / 1024:.0f} KB of JPEG, read as Engine reads them) for {p['pages']} "
            f"searches: first read in a fresh mapping of the file, with the file in the OS page cache (each page "
            f"faults into the process), p50 {p['first_p50_ms']:.2f} ms, p99 {p['first_p99_ms']:.2f} ms; "
            f"read again p50 {p['again_p50_ms']:.2f} ms, p99 {p['again_p99_ms']:.2f} ms. "
            + (f"Before that, the first read of the file as this run found it ({p['cached_before']:.0%} of "
               f"the LMDB file in the page cache; the rest comes from disk): p50 {p['found_p50_ms']:.2f} ms, "
               f"p99 {p['found_p99_ms']:.2f} ms. " if "found_p50_ms" in p else "")
            + f"Opening it in a fresh process (median of {o['runs']}): LMDB {o['open_lmdb_s'] * 1e3:.1f} ms, "
            f"FAISS load {o['load_faiss_s']:.2f} s ({o['kind']}), so {o['open_s']:.2f} s to open, then "
            f"{o['first_page_s'] * 1e3:.1f} ms for the first 100-result page (imports: {o['import_s']:.2f} s).", ""]


def _memory(r: dict, n: int) -> list[str]:
    """(e): the search process's memory and the bytes on disk per photo."""
    o, d = r["open"], r["disk"]
    by_db = ", ".join(f"{k} {v:,} B" for k, v in d["per_photo_by_db"].items() if v)
    return [f"**(e) Memory and disk, {n:,} photos.** Peak RSS of a search process holding the catalogue and "
            f"answering {int(o['queries'])} queries, each with a 100-result page: {_mb(o['peak_rss'])}. Of that, "
            f"{_mb(o['rss_anon'])} is the process's own memory (RSS {_mb(o['rss_after_imports'])} after imports, "
            f"{_mb(o['rss_after_load'])} with FAISS loaded) and {_mb(o['rss_file'])} is file pages mapped from the "
            f"OS page cache: {_mb(o['rss_faiss_file'])} of the FAISS file (a search process maps its codes rather "
            f"than reading them) and {_mb(o['rss_lmdb_file'])} of LMDB. File pages are shared with every reader "
            "and reclaimable, and the kernel maps 16 neighbouring pages on each fault, so they grow with what the "
            "queries touch, up to the size of the files. "
            f"On disk: {d['bytes_per_photo']:,} bytes per photo "
            f"({d['total_bytes'] / 2**30:.2f} GiB in all): LMDB {d['lmdb_bytes_per_photo']:,} "
            f"({by_db}; a value over ~2 KB takes whole 4-KB overflow pages), FAISS {d['faiss_bytes_per_photo']:,}.",
            ""]


def _round_trip(r: dict, n: int) -> list[str]:
    """Search, add to, take from and reopen the biggest catalogue."""
    t = r["round_trip"]
    return [f"**The {n:,}-photo catalogue works on this machine.** Engine.open + a first `search okapi`: "
            f"{t['engine_open_and_first_search_s']:.2f} s. Adding {t['photos'][1] - t['photos'][0]:,} photos the "
            f"way the indexer writes them (1,000 per transaction): {t['write_s']:.1f} s; bringing FAISS up to date "
            f"from the catalogue's change log and saving it: {t['faiss_catch_up_and_save_s']:.1f} s (no rebuild); "
            f"{t['added_found_by_own_vector']:.0%} of the added photos are their own nearest neighbour. "
            f"Removing them again: {t.get('remove_s', float('nan')):.1f} s. Reopened in a fresh process: "
            f"{t['reopen'].get('photos', '?'):,} photos, first search answered in "
            f"{t['reopen'].get('s', float('nan')):.2f} s (with WordNet and the noun table)."]
