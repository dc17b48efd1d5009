"""Runs at the same time (book_toolchain.locks): the same chapter twice, two chapters, make book
during a chapter run, a killed run's lock."""

import os
import signal
import threading
import time
import uuid

import nbformat
import pytest

from book_toolchain import build, locks
from book_toolchain.project import Project
from fixture_book import (
    hold_lock_elsewhere,
    ledger,
    make_book,
    marked,
    run,
    start_build,
    wait_for_kernel,
)

# The fixture toc lists chapters/02_not_written_yet: the slow fixture chapter takes its place.
SLOW = "02_not_written_yet"


@pytest.fixture
def book(tmp_path):
    return make_book(tmp_path / "book", **{SLOW: "slow.md"})


def injected(root, chapter) -> str:
    notebook = nbformat.read(root / "_build" / "executed" / f"{chapter}.ipynb", as_version=4)
    return next(c.source for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", []))


def test_a_second_run_of_a_running_chapter_is_refused_at_once_and_the_first_is_intact(
        book, capsys):
    assert run(book, "chapter", "01_good", "--no-render") == 0
    marker = uuid.uuid4().hex
    first = start_build(book, "chapter", SLOW, "-p", "pause", "3", "--no-render", marker=marker)
    wait_for_kernel(book, SLOW, first, marker)
    started = time.time()
    assert run(book, "chapter", SLOW, "--no-render") == 1  # the defaults: pause 4
    assert time.time() - started < 10
    err = capsys.readouterr().err
    assert f"chapter {SLOW} is already running, pid {first.pid}" in err
    assert f"chapter {SLOW} -p pause 3" in err  # what it runs
    assert first.wait(timeout=120) == 0, first.communicate()
    # the first run's notebook, ledger and stamp, unmixed
    recorded = ledger(book, SLOW)
    assert recorded["parameters"]["pause"] == 3 and len(recorded["claims"]) == 1
    assert recorded["claims"][0]["context"]["pause"] == 3
    assert "pause = 3" in injected(book, SLOW)
    assert build.gate(Project(book)) == []


def test_two_chapters_at_once_both_publish_and_render(book, capsys):
    marker = uuid.uuid4().hex
    other = start_build(book, "chapter", SLOW, "-p", "pause", "2", marker=marker)
    wait_for_kernel(book, SLOW, other, marker)
    assert run(book, "chapter", "01_good", "-p", "scale", "0.9") == 0
    out, err = other.communicate(timeout=180)
    assert other.returncode == 0, err
    assert "Couldn't find" not in out + err + capsys.readouterr().err
    assert ledger(book, "01_good")["parameters"]["scale"] == 0.9
    assert ledger(book, SLOW)["parameters"]["pause"] == 2
    html = book / "_build" / "html" / "chapters"
    assert (html / "01_good.html").exists() and (html / f"{SLOW}.html").exists()
    assert "pause 2" in (html / f"{SLOW}.html").read_text()  # the rerun line of its own run
    assert build.gate(Project(book)) == []


def test_make_book_during_a_chapter_run_is_refused_naming_the_chapter(book, capsys):
    marker = uuid.uuid4().hex
    other = start_build(book, "chapter", SLOW, "--no-render", marker=marker)
    wait_for_kernel(book, SLOW, other, marker)
    assert run(book, "all") == 1
    err = capsys.readouterr().err
    assert f"chapter {SLOW} is already running, pid {other.pid}" in err
    assert not (book / "_build" / "executed" / "01_good.ipynb").exists()  # nothing started
    assert other.wait(timeout=120) == 0


def test_a_killed_run_leaves_its_lock_to_the_next_run_which_says_so(book, capsys):
    marker = uuid.uuid4().hex
    killed = start_build(book, "chapter", SLOW, "-p", "pause", "60", "--no-render", marker=marker)
    wait_for_kernel(book, SLOW, killed, marker)
    killed.kill()  # kill -9 of the pipeline: its papermill child and kernel are left behind
    killed.wait()
    deadline = time.time() + 30
    while run(book, "chapter", SLOW, "-p", "pause", "0", "--no-render") != 0:
        # refused while the orphaned child stops its kernel (it holds the lock until then)
        assert "has ended, a child process of it is still stopping" in capsys.readouterr().err
        assert time.time() < deadline
        time.sleep(0.5)
    out = capsys.readouterr().out
    assert f"taking over the lock left by pid {killed.pid}" in out
    assert marked(marker) == []  # the orphans are gone
    assert ledger(book, SLOW)["parameters"]["pause"] == 0


def test_the_book_lock_waits_saying_for_whom(tmp_path, capsys):
    project = Project(tmp_path)
    holder = hold_lock_elsewhere(tmp_path, "book_lock(project, 'render')")
    threading.Timer(1.0, holder.kill).start()
    started = time.time()
    with locks.book_lock(project, "render"):
        assert time.time() - started > 0.5
    assert f"render: waiting for pid {holder.pid}" in capsys.readouterr().out
    holder.wait()


def test_chapter_locks_are_reentrant_in_a_process_and_released_empty(tmp_path):
    project = Project(tmp_path)
    with locks.chapter_locks(project, ["01_a", "02_b"]):
        with locks.chapter_locks(project, ["01_a"]):
            assert locks.held_lock(project, "01_a") is not None
        assert locks.held_lock(project, "01_a") is not None  # the outer hold stays
        text = (project.locks_dir / "01_a.lock").read_text()
        assert text.startswith(f"{os.getpid()}\n")
    assert locks.held_lock(project, "01_a") is None
    assert (project.locks_dir / "01_a.lock").read_text() == ""  # nothing stale left


def test_a_lock_whose_holder_was_killed_is_taken_over(tmp_path, capsys):
    project = Project(tmp_path)
    holder = hold_lock_elsewhere(tmp_path, "chapter_locks(project, ['01_a'])")
    refused = pytest.raises(locks.LockHeld, match=f"01_a is already running, pid {holder.pid}")
    with refused, locks.chapter_locks(project, ["01_a"]):
        pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with locks.chapter_locks(project, ["01_a"]):
        pass
    assert f"01_a: taking over the lock left by pid {holder.pid}" in capsys.readouterr().out


def test_lock_files_name_their_holder(tmp_path):
    lock = locks.FileLock(tmp_path / "x.lock")
    assert lock.try_acquire()
    try:
        assert locks.FileLock(tmp_path / "x.lock").try_acquire() is False
        assert lock.holder().startswith(f"pid {os.getpid()} (")
    finally:
        lock.release()
    assert lock.stale is None
