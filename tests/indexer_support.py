"""Shared by the indexer tests (tests/indexer/, tests/cli/test_check.py): clustered unit vectors like
photos, queries like nouns, catalogue photos around a given or a random vector; the CLI run as a user runs
it, the processes it starts, and a decoding job that dies on one photo as the OOM killer would make it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from nounlens.indexer.catalogue import Photo
from nounlens.indexer.decode_workers import timed_decode


def structured(n: int, d: int = 64, seed: int = 0, centres: int = 200) -> np.ndarray:
    """Unit vectors in clusters of uneven size, like photos of a few hundred kinds of thing."""
    rng = np.random.default_rng(seed)
    c = np.random.default_rng(1).standard_normal((centres, d)).astype(np.float32)
    x = c[rng.zipf(1.5, n) % centres] + 0.6 * rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def text_like(n: int, d: int = 64, seed: int = 5) -> np.ndarray:
    """Queries far from every vector: mixtures of three cluster centres."""
    rng = np.random.default_rng(seed)
    c = np.random.default_rng(1).standard_normal((200, d)).astype(np.float32)
    q = c[rng.integers(0, 200, (n, 3))].sum(1)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def photo(i: int, v: np.ndarray) -> Photo:
    return Photo(f"/p/{i}.jpg", 10 + i, 1000 + i, f"h{i}", 64, 48, np.zeros(1280), v, b"jpeg")


def random_photo(path: str, seed: int, d: int = 8) -> Photo:
    """A photo at `path` with a random unit vector of `d` dimensions and a thumbnail of its own."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=d).astype(np.float32)
    return Photo(path, 10 + seed, 1000 + seed, f"h{seed}", 64, 48, rng.normal(size=1280), v / np.linalg.norm(v),
                 b"jpeg%d" % seed)


def nounlens(*args: str, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    """`python -m nounlens ARGS` as a user runs it: text output, the test's environment."""
    return subprocess.run([sys.executable, "-m", "nounlens", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}, **kw)


def nounlens_started(*args: str, **kw) -> subprocess.Popen:
    """`python -m nounlens ARGS` started, not waited for (stdout and stderr piped, text)."""
    return subprocess.Popen([sys.executable, "-m", "nounlens", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}, **kw)


def process_state(pid: int) -> str:
    """'R', 'S', ... or 'Z' (exited, not reaped: as good as dead), or 'gone'."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def decode_workers(pid: int) -> list[int]:
    """The decoding workers of an indexing process: its spawned children, not multiprocessing's tracker."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(c) for c in out.split() if b"spawn_main" in _cmdline(int(c))]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def decode_or_die(path: str, size: int = 224):
    """The indexer's decoding job, except that a photo named *poison* kills its worker with SIGKILL."""
    if "poison" in Path(path).name:
        os.kill(os.getpid(), signal.SIGKILL)
    return timed_decode(path, size)


def index_demo(gallery: Path, catalogue: Path) -> Path:
    """`catalogue`, made and indexed from `gallery` (in this process, no workers)."""
    from nounlens import Engine

    engine = Engine.open(catalogue, create=True)
    engine.index([gallery], progress=False, workers=0)
    engine.catalogue.close()
    return catalogue


def variants(source: Path, out: Path, steps: range) -> Path:
    """Each photo of `source` once per step, cropped by the step and flipped on odd steps, saved as JPEG:
    real photos, each with bytes of its own."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    for src in sorted(source.iterdir()):
        img = Image.open(src).convert("RGB")
        w, h = img.size
        for j in steps:
            variant = img.crop((j, j, w - j, h - j))
            if j % 2:
                variant = variant.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            variant.save(out / f"{src.stem}-{j}.jpg", quality=88)
    return out


_HOLD = ("import sys; from nounlens.indexer.writer_lock import WriterLock; WriterLock(sys.argv[1]).__enter__(); "
         "print('held', flush=True); sys.stdin.readline()")


def lock_holder(catalogue: Path) -> subprocess.Popen:
    """Another process, holding the catalogue's writer lock until its stdin closes (or it is killed)."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(catalogue)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc
