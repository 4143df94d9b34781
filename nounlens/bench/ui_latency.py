"""Warm query -> rendered results in the Streamlit UI, measured in a real headless Chromium.

Starts `nounlens ui` on a free port against a catalogue, loads the page, runs one query to warm up,
then for each query: fill the search box, press Enter, and stop the clock when the page shows the
caption for that query, the script run has finished and every result thumbnail has loaded.

    nice -n 10 .venv/bin/python -m nounlens.bench.ui_latency --catalogue /tmp/cat10k
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

QUERIES = ["goldfish", "okapi", "espresso", "dog", "crane%wading bird", "engine + boat", "pagoda", "wheelchair",
           "school bus", "a red sports car", "jellyfish", "teapot"]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

SNAPSHOT = """() => ({caption: [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
  .map(e => e.innerText).find(t => t.startsWith('searching for')) || '',
  images: [...document.querySelectorAll('[data-testid="stImage"] img')].map(i => i.src).join(' ')})"""
# rendered: a new caption and a new set of thumbnails, every one decoded, and the script run over
RENDERED = r"""(before) => {
  const caps = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')].map(e => e.innerText);
  if (!caps.some(t => t.startsWith('searching for') && t !== before.caption)) return false;
  const count = caps.map(t => t.match(/^(\d+) of \d+ photos at or above/)).find(m => m);
  const warned = [...document.querySelectorAll('[data-testid="stAlert"]')]
    .some(e => e.innerText.includes('No good match'));
  if (!count && !warned) return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  const imgs = [...document.querySelectorAll('[data-testid="stImage"] img')];
  if (imgs.length !== (count ? Number(count[1]) : 0)) return false;  // the whole grid, no more, no less
  if (imgs.length && imgs.map(i => i.src).join(' ') === before.images) return false;
  return imgs.every(i => i.complete && i.naturalWidth > 0);
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the UI did not come up at {url} within {timeout:.0f} s")


def screenshots(page, folder: Path) -> None:
    """The results of one query, the photo map with that query ringed and one photo hovered, and the
    noun map of "dog"."""
    folder.mkdir(parents=True, exist_ok=True)
    box = page.get_by_label("Search photos")
    before = page.evaluate(SNAPSHOT)
    box.fill("crane%wading bird")
    box.press("Enter")
    page.wait_for_function(RENDERED, arg=before, timeout=60_000)
    page.screenshot(path=str(folder / "ui-results-10k.png"))
    page.get_by_text("Map", exact=True).click()
    chart = page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first
    chart.wait_for(timeout=300_000)  # computed once per catalogue generation, then cached
    time.sleep(2)
    bb = chart.bounding_box()
    for dx in range(0, 200, 4):  # move across the chart until a tooltip with a thumbnail shows
        page.mouse.move(bb["x"] + bb["width"] * 0.45 + dx, bb["y"] + bb["height"] * 0.5)
        time.sleep(0.05)
        if page.locator("#vg-tooltip-element img").count():
            break
    time.sleep(0.5)
    page.screenshot(path=str(folder / "ui-map-10k.png"))
    page.get_by_text("Nouns", exact=True).click()
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=60_000)
    time.sleep(2)
    page.screenshot(path=str(folder / "ui-nouns.png"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalogue", required=True)
    ap.add_argument("--rounds", type=int, default=2, help="passes over the queries")
    ap.add_argument("--screenshots", default=None, help="folder for screenshots of results, map and noun map")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    server = subprocess.Popen([sys.executable, "-m", "nounlens", "ui", "--catalogue", args.catalogue,
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times = []
    try:
        wait_http(url, 120)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            box = page.get_by_label("Search photos")
            box.wait_for(timeout=180_000)
            for n, query in enumerate(["cat"] + QUERIES * args.rounds):
                before = page.evaluate(SNAPSHOT)  # consecutive queries differ, so do their captions and photos
                t = time.perf_counter()  # from the moment the text is in the box (typing pauses commit too)
                box.fill(query)
                box.press("Enter")
                page.wait_for_function(RENDERED, arg=before, timeout=60_000, polling=10)
                if n:  # the first one warms up
                    times.append(time.perf_counter() - t)
                    print(f"{query!r:24} {times[-1] * 1000:6.0f} ms", flush=True)
            if args.screenshots:
                screenshots(page, Path(args.screenshots))
            browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    times.sort()
    print(f"warm query -> rendered results over {len(times)} queries: median {statistics.median(times) * 1000:.0f} ms, "
          f"p90 {times[int(0.9 * (len(times) - 1))] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
