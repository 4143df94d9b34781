"""Decoding workers that die (indexer/decode_workers.py): a worker killed as the OOM killer kills is
noticed, its photos go to a fresh worker, a photo that kills its worker twice is skipped with a reason,
and `index` completes. Ctrl-C is one line and exit status 130; workers die with their parent, silently."""

import functools
import json
import os
import signal
import time

import pytest
from conftest import copy_photos
from indexer_support import decode_or_die, decode_workers, nounlens_started, process_state

from nounlens.indexer.decode_workers import WorkerPool, timed_decode


def decoded(outcomes) -> list[str]:
    return sorted(path for path, result, _ in outcomes if result is not None)


def test_a_killed_worker_is_noticed_and_its_photos_decoded_by_a_fresh_one(big_gallery):
    paths = sorted(str(p) for p in big_gallery.iterdir())[:40]
    pool = WorkerPool(functools.partial(timed_decode, size=224), 2)
    outcomes = []
    for outcome in pool.run(paths):
        if not outcomes:
            os.kill(pool.pids()[0], signal.SIGKILL)  # as the OOM killer does, while it holds photos
        outcomes.append(outcome)
    assert decoded(outcomes) == sorted(paths)


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory):
    """Six photos and one that kills whichever worker decodes it: the paths and what the pool gave back."""
    folder = tmp_path_factory.mktemp("poison")
    paths = [str(p) for p in copy_photos(["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png",
                                          "camera.png", "moon.png"], folder)]
    poison = copy_photos(["coffee.png"], folder / "p")[0].rename(folder / "poison.png")
    paths.insert(2, str(poison))
    return paths, str(poison), list(WorkerPool(functools.partial(decode_or_die, size=224), 2).run(paths))


def test_a_photo_that_kills_its_worker_twice_is_skipped_with_the_reason(poisoned):
    _, poison, outcomes = poisoned
    why = {path: reason for path, _, reason in outcomes}
    assert "died twice" in why[poison] and "SIGKILL" in why[poison]


def test_the_photos_sent_with_a_killer_photo_are_decoded(poisoned):
    paths, poison, outcomes = poisoned
    assert decoded(outcomes) == sorted(p for p in paths if p != poison)


# ---- the indexer's processes, as a user sees them -------------------------------------------------------
def started_with_workers(gallery, cat, **popen):
    """`nounlens index` on `gallery` with two decoding workers, once they are running: (process, workers)."""
    proc = nounlens_started("index", str(gallery), "--catalogue", str(cat), "--workers", "2", "--batch-size", "8",
                            "--json", **popen)
    workers = []
    while proc.poll() is None and len(workers) < 2:
        time.sleep(0.05)
        workers = decode_workers(proc.pid)
    assert len(workers) == 2, "the run ended before its workers were seen"
    return proc, workers


def test_index_completes_when_a_decode_worker_is_killed(big_gallery, tmp_path):
    proc, workers = started_with_workers(big_gallery, tmp_path / "cat")
    os.kill(workers[0], signal.SIGKILL)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0 and json.loads(out)["added"] == len(list(big_gallery.iterdir()))


def _sigint_as_at_a_terminal() -> None:
    """A shell without job control starts background jobs with SIGINT ignored, and a child inherits that
    (Python then never raises KeyboardInterrupt): give the indexer the default, as a terminal's process has."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def interrupted(big_gallery, tmp_path_factory):
    """`nounlens index` given Ctrl-C (SIGINT to its whole process group, as a terminal sends it) while its
    workers decode: (exit status, stderr, its workers)."""
    proc, workers = started_with_workers(big_gallery, tmp_path_factory.mktemp("int") / "cat",
                                         start_new_session=True, preexec_fn=_sigint_as_at_a_terminal)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err, workers


def test_ctrl_c_prints_one_line_and_exits_130(interrupted):
    rc, err, _ = interrupted
    assert (rc, err) == (130, "nounlens: interrupted\n")


def test_workers_of_an_interrupted_index_are_gone(interrupted):
    _, _, workers = interrupted
    assert all(process_state(w) in ("gone", "Z") for w in workers)


def test_workers_die_with_a_sigkilled_parent_and_print_nothing(big_gallery, tmp_path):
    proc, workers = started_with_workers(big_gallery, tmp_path / "cat")
    proc.kill()
    _, err = proc.communicate(timeout=300)  # stderr ends only when every process holding it has exited
    assert err == "" and all(process_state(w) in ("gone", "Z") for w in workers)
