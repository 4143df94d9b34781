"""One writer at a time: an flock on CATALOGUE/writer.lock, held by the process that indexes. The kernel
drops it when its holder dies, however it dies, so a SIGKILLed writer never leaves a stale lock. The
holder writes its PID in the file, so a second writer can say whom it waits for. Searches never take it."""

from __future__ import annotations

import fcntl
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from nounlens.data.errors import NounlensError

LOCK_FILE = "writer.lock"
TEMP = re.compile(r"^\..+\.tmp(\d+)")  # what write_json, VectorIndex.save and the photo map write first
_PID_WIDTH = 12  # the PID is written over the same bytes each time: no new block needed on a full disk


def _stderr(msg: str) -> None:
    print(f"nounlens: {msg}", file=sys.stderr, flush=True)


class CatalogueBusy(NounlensError):
    """Another process is indexing the catalogue (raised with wait=False, so a caller can say so and wait)."""

    def __init__(self, busy: str):
        self.busy = busy  # "catalogue C is being indexed by PID N"
        super().__init__(f"{busy}; not waiting (--no-wait): run again when it has finished")


class WriterLock:
    """`with WriterLock(catalogue_dir):` holds the catalogue's writer lock. Another holder makes it wait,
    saying so once through `log` ("catalogue C is being indexed by PID N; waiting…"), or, with
    `wait=False`, raise a one-line NounlensError. Two threads of one process exclude each other too."""

    def __init__(self, path: str | Path, wait: bool = True, log: Callable[[str], None] | None = None):
        self.path = Path(path)
        self.wait = wait
        self.log = log or _stderr
        self.fd: int | None = None

    def __enter__(self) -> WriterLock:
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                busy = f"catalogue {self.path} is being indexed by {_holder_text(fd)}"
                if not self.wait:
                    raise CatalogueBusy(busy) from None
                self.log(f"{busy}; waiting…")
                fcntl.flock(fd, fcntl.LOCK_EX)
            _write_pid(fd, os.getpid())
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is None:
            return
        _write_pid(self.fd, None)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None


def _write_pid(fd: int, pid: int | None) -> None:
    """Best effort: the lock is the flock, the PID only names its holder."""
    text = (str(pid) if pid else "").rjust(_PID_WIDTH) + "\n"
    try:
        os.pwrite(fd, text.encode(), 0)
    except OSError:
        pass


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 64, 0).decode(errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _holder_text(fd: int) -> str:
    """'PID N' for the holder; it may have the lock an instant before it writes its PID, so look a few times."""
    for _ in range(10):
        pid = _read_pid(fd)
        if pid:
            return f"PID {pid}"
        time.sleep(0.02)
    return "another process"


def active_writer(path: str | Path) -> int | None:
    """The PID of a live process that holds (or last held) the writer lock, without taking it; None when the
    lock file names no one, or only a process that has died."""
    try:
        fd = os.open(Path(path) / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        pid = _read_pid(fd)
    finally:
        os.close(fd)
    return pid if pid and pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def stale_temp_files(catalogue: str | Path) -> list[tuple[Path, int]]:
    """(temp file, the PID in its name) for the catalogue's temp files whose writer is no longer running
    (a SIGKILL during a save leaves one): whoever holds the writer lock may remove them."""
    out = []
    for folder in (Path(catalogue), Path(catalogue) / "db"):
        for f in sorted(folder.iterdir()) if folder.is_dir() else ():
            m = TEMP.match(f.name)
            if m and not pid_alive(int(m.group(1))):
                out.append((f, int(m.group(1))))
    return out
