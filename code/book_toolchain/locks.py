"""Locks of one build tree: one per chapter while it runs, one for the published book.

A lock is an ``flock(2)`` on a file under ``_build/locks/``. The operating system releases it
when the last process holding it ends, however it ends, so a killed run never blocks the next
one; the file names its holder (pid, command, start), for the message that refuses a second
run. A holder that ended without releasing (``kill -9``) leaves its name in the file: the next
run takes the lock over and says so.

- ``<chapter>.lock``: held while the chapter executes (refused at once when held elsewhere:
  "already running, pid ..."). The papermill child inherits it, so a child left behind by a
  killed run keeps the chapter until it has stopped too.
- ``book.lock``: held while a run publishes its results into ``_build/executed``, ``claims``
  and ``timings.json``, while the site is staged and rendered, and while the gate reads the
  ledgers (waited for, saying who holds it). Runs of different chapters never collide.

Within one process the chapter locks are re-entrant (``make book`` holds every chapter's lock,
its worker threads execute them); the book lock is taken by one thread at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from .project import BuildError, Interrupted, Project

BOOK = "book"
# Set on Ctrl-C: threads waiting for the book lock stop waiting.
STOP = threading.Event()
# What this process is doing, written into the locks it takes (set by the command line).
COMMAND = " ".join(["python -m book_toolchain.build", *sys.argv[1:]])


class LockHeld(BuildError):
    """A chapter is already being run by another process."""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FileLock:
    """An exclusive ``flock`` on ``path`` whose file names the holder."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None
        self.stale: str | None = None  # the holder named in the file when we took it over

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._took(fd)
        return True

    def acquire(self) -> None:
        """Wait for the lock; Ctrl-C (:data:`STOP`) ends the wait."""
        while not self.try_acquire():
            if STOP.wait(0.2):
                raise Interrupted(f"stopped waiting for {self.path.name}")

    def _took(self, fd: int) -> None:
        left = os.pread(fd, 4096, 0).decode(errors="replace").strip()
        self.stale = left if left and holder_pid(left) != os.getpid() else None
        os.ftruncate(fd, 0)
        since = datetime.now().strftime("%H:%M:%S")
        os.pwrite(fd, f"{os.getpid()}\n{COMMAND}\n{since}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is None:
            return
        os.ftruncate(self.fd, 0)  # an empty file: released in good order, nothing stale
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None

    def holder(self) -> str:
        """Who holds the lock, as the file says (retried briefly: it is written after the lock
        is taken)."""
        for _ in range(20):
            try:
                text = self.path.read_text(errors="replace").strip()
            except FileNotFoundError:
                text = ""
            if text:
                return describe(text)
            time.sleep(0.05)
        return "a process that has not yet written its name"


def holder_pid(text: str) -> int | None:
    first = text.splitlines()[0] if text else ""
    return int(first) if first.isdigit() else None


def describe(text: str, holds: bool = True) -> str:
    """``pid N (command), since HH:MM:SS`` from a lock file's text; when the named process
    ``holds`` the lock but has ended, a child of it still does."""
    lines = text.splitlines() + ["", "", ""]
    pid = holder_pid(text)
    what = f"pid {pid}" if pid is not None else "an unknown process"
    if lines[1]:
        what += f" ({lines[1]})"
    if lines[2]:
        what += f", since {lines[2]}"
    if holds and pid is not None and not pid_alive(pid):
        what += f"; pid {pid} has ended, a child process of it is still stopping"
    return what


# ------------------------------------------------------------------------------- chapters

_GUARD = threading.Lock()
_CHAPTERS: dict[Path, list] = {}  # lock path -> [FileLock, depth] held by this process


def chapter_lock_path(project: Project, name: str) -> Path:
    return project.locks_dir / f"{name}.lock"


def held_lock(project: Project, name: str) -> FileLock | None:
    """This process's lock of chapter ``name`` (None when it does not hold it)."""
    entry = _CHAPTERS.get(chapter_lock_path(project, name))
    return entry[0] if entry else None


@contextlib.contextmanager
def chapter_locks(project: Project, names: list[str], skip_held: bool = False) -> Iterator[list]:
    """Hold the locks of ``names``; yield the names locked.

    A chapter locked by another process is refused with :class:`LockHeld` naming the holder of
    each (nothing is locked then), or, with ``skip_held``, left out of the names yielded.
    """
    taken, refused = [], []
    try:
        for name in names:
            path = chapter_lock_path(project, name)
            with _GUARD:
                entry = _CHAPTERS.get(path)
                if entry is not None:
                    entry[1] += 1
                    taken.append(path)
                    continue
                lock = FileLock(path)
                if not lock.try_acquire():
                    refused.append((name, lock.holder()))
                    continue
                _CHAPTERS[path] = [lock, 1]
                taken.append(path)
            if lock.stale:
                print(f"{name}: taking over the lock left by {describe(lock.stale, holds=False)} "
                      "(it ended without releasing it)", flush=True)
        if refused and not skip_held:
            raise LockHeld("\n".join(
                f"chapter {name} is already running, {holder}: wait for it to finish"
                for name, holder in refused))
        yield [n for n in names if n not in {r[0] for r in refused}]
    finally:
        with _GUARD:
            for path in taken:
                entry = _CHAPTERS[path]
                entry[1] -= 1
                if entry[1] == 0:
                    entry[0].release()
                    del _CHAPTERS[path]


# ---------------------------------------------------------------------------------- book

_BOOK_THREADS: dict[Path, threading.Lock] = {}
_BOOK_HELD: dict[Path, FileLock] = {}


def held_book_lock(project: Project) -> FileLock | None:
    """The book lock, when this process holds it (for a child to inherit)."""
    return _BOOK_HELD.get(project.locks_dir / f"{BOOK}.lock")


@contextlib.contextmanager
def book_lock(project: Project, purpose: str) -> Iterator[FileLock]:
    """Hold the book lock (waiting for it, saying for whom) while ``purpose`` is done."""
    path = project.locks_dir / f"{BOOK}.lock"
    with _GUARD:
        in_process = _BOOK_THREADS.setdefault(path, threading.Lock())
    with in_process:
        lock = FileLock(path)
        if not lock.try_acquire():
            print(f"{purpose}: waiting for {lock.holder()} to finish with the book", flush=True)
            lock.acquire()
        if lock.stale:
            print(f"{purpose}: taking over the book lock left by {describe(lock.stale, holds=False)} (it "
                  "ended without releasing it)", flush=True)
        _BOOK_HELD[path] = lock
        try:
            yield lock
        finally:
            del _BOOK_HELD[path]
            lock.release()
