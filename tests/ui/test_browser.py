"""The UI in a real browser: `nounlens ui` on a free localhost port, driven by Debian's headless Chromium
through Playwright. Type a noun, pick a suggestion, see the expected photo first, open it, read its nouns;
and a query in a shared link shows as typed, fetching nothing.

Screenshots go to the test's temporary folder; with NOUNLENS_UPDATE_SCREENSHOTS=1 they also replace the
ones in docs/ that the README shows.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from ui_support import build_demo_catalogue, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DOCS = Path(__file__).resolve().parents[1] / "docs"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (scripts/setup.sh --test)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    catalogue, _ = build_demo_catalogue(tmp_path_factory.mktemp("ui-browser"))
    port = free_port()
    log = tmp_path_factory.mktemp("ui-log") / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "nounlens", "ui", "--catalogue", str(catalogue),
                                 "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                env=dict(os.environ, HF_HUB_OFFLINE="1"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nounlens ui did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.3)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def shot(page, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    if os.environ.get("NOUNLENS_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS / name)


def test_search_pick_suggestion_open_result(server, tmp_path):
    expect = sync_api.expect
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(server)
            box = page.get_by_label("Search photos")
            box.wait_for(timeout=120_000)  # the engine loads once, on the first page view
            box.press_sequentially("espr", delay=60)

            suggestion = page.get_by_role("button", name=re.compile(r"^espresso \(coffee\)"))
            expect(suggestion).to_be_visible(timeout=30_000)
            expect(suggestion).to_contain_text("strong black coffee")  # each suggestion shows its gloss
            expect(page.get_by_role("button", name=re.compile(r"^espresso maker"))).to_be_visible()
            shot(page, tmp_path, "ui-suggestions.png")

            suggestion.click()
            expect(box).to_have_value("espresso", timeout=30_000)
            first = page.locator("[class*='st-key-open-'] button").filter(visible=True).first
            expect(first).to_have_text("coffee.png", timeout=30_000)
            expect(page.locator("[data-testid='stImage'] img").first).to_be_visible()
            assert "q=espresso" in page.url  # the search is in the address, to share or reload
            shot(page, tmp_path, "ui-results.png")

            first.click()
            expect(page.get_by_text("What is this?")).to_be_visible(timeout=30_000)
            nouns = page.locator(".st-key-nouns li")
            expect(nouns.first).to_contain_text("espresso")
            expect(nouns.first).to_contain_text("strong black coffee")
            expect(page.locator("[class*='st-key-similar-'] button").filter(visible=True)).to_have_count(10)
            expect(page.locator("[data-testid='stException']")).to_have_count(0)
            shot(page, tmp_path, "ui-photo.png")
        finally:
            browser.close()


def test_query_in_a_link_shows_as_typed_and_fetches_nothing(server):
    expect = sync_api.expect
    query = "![x](http://nounlens-test.invalid/x.png)"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            page.goto(f"{server}/?q={urllib.parse.quote(query)}")
            expect(page.get_by_text(f"“{query}” (free text)")).to_be_visible(timeout=120_000)
            assert requested and {urllib.parse.urlsplit(u).hostname for u in requested} == {"127.0.0.1"}
        finally:
            browser.close()
