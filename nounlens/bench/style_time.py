"""Time the two restyling targets on 2 torch threads, with the load average beside each round so a
busy machine is visible: pixel optimisation at 384 px (default settings: 150 L-BFGS evaluations),
and the shipped one-pass stylizer on a 512 x 512 photo (median of 5 after a warm-up).

    nice -n 10 .venv/bin/python -m nounlens.bench.style_time [--photo P] [--painting P] [--rounds 3]

On a shared machine, 2 OpenMP threads that each get half a core spend most of their time waiting for
each other: compare `cpu_s_per_thread` (CPU seconds over the threads) with the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

STYLES = "../shared/data/styles"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photo", default=f"{STYLES}/content/tubingen.jpg")
    ap.add_argument("--painting", default=f"{STYLES}/starry_night.jpg")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-optimisation", action="store_true")
    args = ap.parse_args()

    import torch

    from nounlens.data.images import square_photo
    from nounlens.search.restyle.optimise import GatysConfig, transfer
    from nounlens.search.restyle.restyler import Restyler

    torch.set_num_threads(args.threads)
    square = square_photo(Path(args.photo), 512)
    restyler = Restyler(args.threads)
    restyler.fast(square, size=None)  # warm-up: weights, oneDNN kernels
    for _ in range(args.rounds):
        load = os.getloadavg()[0]
        times, cpu = [], []
        for _ in range(5):
            c = time.process_time()
            times.append(restyler.fast(square, size=None).seconds)
            cpu.append(time.process_time() - c)
        print(json.dumps({"what": f"stylizer {square.shape[1]}x{square.shape[0]}", "load_1min": round(load, 2),
                          "threads": args.threads, "median_s": round(statistics.median(times), 3),
                          "best_s": round(min(times), 3),
                          "cpu_s_per_thread": round(statistics.median(cpu) / args.threads, 3)}), flush=True)
        if args.skip_optimisation:
            continue
        load = os.getloadavg()[0]
        c = time.process_time()
        r = transfer(args.photo, args.painting, GatysConfig(threads=args.threads), progress=False)
        print(json.dumps({"what": f"optimisation {r['image'].shape[1]}x{r['image'].shape[0]}, {r['evaluations']} "
                                  "evaluations", "load_1min": round(load, 2), "threads": args.threads,
                          "seconds": r["seconds"],
                          "cpu_s_per_thread": round((time.process_time() - c) / args.threads, 2)}), flush=True)


if __name__ == "__main__":
    main()
