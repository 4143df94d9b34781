"""Time one results page of super-resolved thumbnails: the first 20 held-out photos' thumbnails (made
by the indexer's code, mixed shapes) through the shipped x4 network on 2 torch threads, several
rounds, with the machine's load average beside each so a busy machine is visible in the figures. Each
round times the default (bfloat16 convolutions where the CPU has them natively) and float32 side by side.

    nice -n 10 .venv/bin/python -m nounlens.bench.sr_page [--data ../shared/data/imagenet-sample] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os

from nounlens.data.pairs import holdout_paths, make_pair
from nounlens.models.sr import load_weights
from nounlens.search.upscale import PAGE, page_seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/imagenet-sample")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    thumbs = [make_pair(p).lr for p in holdout_paths([args.data])[:PAGE]]
    net, _ = load_weights()
    keep = ("thumbnails", "threads", "bf16", "median_s", "best_s", "cpu_s_per_thread")
    for _ in range(args.rounds):
        for bf16 in (None, False):
            load = os.getloadavg()[0]
            row = page_seconds(net, thumbs, threads=args.threads, bf16=bf16)
            print(json.dumps({"load_1min": round(load, 2), **{k: row[k] for k in keep}}), flush=True)


if __name__ == "__main__":
    main()
