"""Where FAISS computes: on the GPU when a faiss-gpu build sees one, else with this many OpenMP threads."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import faiss


def gpu_count() -> int:
    """GPUs faiss-gpu can use (0 with a CPU-only faiss)."""
    try:
        return faiss.get_num_gpus()
    except AttributeError:  # a faiss build without the GPU entry points
        return 0


@functools.cache
def gpu_resources() -> faiss.StandardGpuResources:
    """One set of GPU scratch memory and streams, shared by every index in this process."""
    return faiss.StandardGpuResources()


@contextlib.contextmanager
def omp_threads(n: int) -> Iterator[None]:
    """OpenMP threads for this thread's FAISS calls. One query gains nothing from a second thread and,
    on a busy machine, loses much waiting for it (16 ms against 2.6 ms p50 at 1M, load average 6)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)
