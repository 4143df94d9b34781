"""Decoding worker processes that may die. Each worker has a pipe of its own, so when one is killed (the
kernel's OOM killer sends SIGKILL) the parent knows at once, from its sentinel, which photos it held.
Those are tried once more, one at a time, in the fresh worker that replaces it, then skipped with a
reason. Workers ignore Ctrl-C (the parent handles it and stops them), die with their parent and print
nothing. This module imports only the decoding code, so a worker starts without numpy's heavier friends."""

from __future__ import annotations

import ctypes
import functools
import multiprocessing as mp
import multiprocessing.connection
import multiprocessing.pool
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from nounlens.data.images import decode_job

DECODE_CHUNK = 4  # photos per message to a worker
IN_FLIGHT = 2  # chunks a worker holds at once: one being decoded, one waiting
PR_SET_PDEATHSIG = 1

Job = Callable[[str], Any]  # a picklable function of a path (module level, or a partial of one)
Outcome = tuple[str, Any, str | None]  # (path, the job's result or None, why it has none)


def timed_decode(path: str, size: int) -> tuple[tuple, float]:
    """decode_job and the worker CPU seconds it took."""
    t = time.process_time()
    out = decode_job(path, size)
    return out, time.process_time() - t


def decode_pool(workers: int) -> multiprocessing.pool.Pool:
    """A plain spawned pool (the ingest benchmark's); the indexer uses `decode_all`."""
    return mp.get_context("spawn").Pool(workers)


def default_workers() -> int:
    """Decoding processes beside the one that runs the model: cores - 1, at least 1, at most 4."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def decode_all(paths: list[str], size: int, workers: int | None = None) -> Iterator[Outcome]:
    """(path, (decode_job's result, CPU seconds), None) for each path as its decode finishes, or (path, None,
    why) for one whose worker died on it twice. `workers=0` decodes in this process."""
    job = functools.partial(timed_decode, size=size)
    workers = default_workers() if workers is None else workers
    if workers == 0:
        yield from ((p, job(p), None) for p in paths)
        return
    yield from WorkerPool(job, workers).run(paths)


# ---- the worker side -------------------------------------------------------------------------------------
def _die_with_parent(parent: int) -> None:
    """SIGKILL this process when its parent dies (Linux); exit now if it already has."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(0)


def _work(conn: mp.connection.Connection, job: Job, parent: int) -> None:
    """A worker's life: chunks of paths in, one (path, result) out per photo, until told to stop or the
    parent is gone; never a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # drops a Ctrl-C held since the parent started us
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with_parent(parent)
    try:
        while (paths := conn.recv()) is not None:
            for path in paths:
                conn.send((path, job(path)))
    except (EOFError, OSError):
        pass
    os._exit(0)


# ---- the parent side -------------------------------------------------------------------------------------
@dataclass(eq=False)  # compared by identity: a worker is one process
class _Worker:
    proc: mp.process.BaseProcess
    conn: mp.connection.Connection
    pending: deque = field(default_factory=deque)  # paths sent, not answered, in order
    retries: deque = field(default_factory=deque)  # a dead worker's paths, to try here one at a time


@contextmanager
def _sigint_held() -> Iterator[None]:
    """Start a child with Ctrl-C held back, not ignored and not lost: blocked in this thread, so the child
    inherits the mask and drops a held Ctrl-C before it lets signals through (`_work`); and caught here
    meanwhile (another thread may take the signal), then passed on once the child has started."""
    main = threading.current_thread() is threading.main_thread()
    caught: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum)) if main else None
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if main:
            signal.signal(signal.SIGINT, old)
            if caught:
                signal.raise_signal(signal.SIGINT)


class WorkerPool:
    """Spawned (not forked: the parent holds ONNX Runtime threads) workers running `job` on paths."""

    def __init__(self, job: Job, workers: int):
        self.job, self.size = job, workers
        self.ctx = mp.get_context("spawn")
        self.workers: list[_Worker] = []
        self.tried: set[str] = set()  # paths already retried once

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self.workers]

    def _start(self) -> _Worker:
        ours, theirs = self.ctx.Pipe()
        proc = self.ctx.Process(target=_work, args=(theirs, self.job, os.getpid()), daemon=True,
                                name="nounlens-decode")
        with _sigint_held():
            proc.start()
        theirs.close()
        return _Worker(proc, ours)

    def run(self, paths: list[str]) -> Iterator[Outcome]:
        todo = deque(paths[i:i + DECODE_CHUNK] for i in range(0, len(paths), DECODE_CHUNK))
        self.workers = [self._start() for _ in range(min(self.size, len(todo)))]
        try:
            while todo or any(w.pending or w.retries for w in self.workers):
                self._feed(todo)
                waiting = {w.conn: w for w in self.workers} | {w.proc.sentinel: w for w in self.workers}
                for ready in mp.connection.wait(list(waiting)):
                    w = waiting[ready]
                    if w in self.workers:
                        yield from self._collect(w)
        finally:
            self.close()

    def _feed(self, todo: deque) -> None:
        for w in self.workers:
            if w.retries:  # alone: if this photo kills the worker too, no other photo goes with it
                if not w.pending:
                    self._send(w, [w.retries.popleft()])
                continue
            while todo and len(w.pending) <= (IN_FLIGHT - 1) * DECODE_CHUNK:
                self._send(w, todo.popleft())

    @staticmethod
    def _send(w: _Worker, chunk: list[str]) -> None:
        try:
            w.conn.send(chunk)
        except OSError:  # died a moment ago: its sentinel is ready, and _collect will hand these on
            pass
        w.pending.extend(chunk)

    def _collect(self, w: _Worker) -> Iterator[Outcome]:
        """What `w` has sent; when it has died, its unanswered photos go to a fresh worker (or are skipped)."""
        dead = False
        try:
            while w.conn.poll():
                path, result = w.conn.recv()
                w.pending.remove(path)
                yield path, result, None
        except (EOFError, OSError):
            dead = True
        if dead or not w.proc.is_alive():
            yield from self._replace(w)

    def _replace(self, w: _Worker) -> Iterator[Outcome]:
        w.proc.join()
        how = _death(w.proc.exitcode)
        w.conn.close()
        fresh = self._start()
        self.workers[self.workers.index(w)] = fresh
        fresh.retries.extend(w.retries)
        for path in w.pending:
            if path in self.tried:
                yield path, None, f"its decoding worker died twice on it ({how})"
            else:
                self.tried.add(path)
                fresh.retries.append(path)

    def close(self) -> None:
        """Stop every worker: asked politely when idle, killed when not (Ctrl-C, an error, an early stop)."""
        for w in self.workers:
            if w.pending or w.retries:
                w.proc.kill()
            else:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
        for w in self.workers:
            w.proc.join(timeout=5)
            if w.proc.exitcode is None:
                w.proc.kill()
                w.proc.join()
            w.conn.close()
        self.workers = []


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"
