"""Chapter execution on the fixture book: parameters, checks before work, the cache, failures."""

import json
import os
import signal
import time
import uuid
from datetime import datetime, timedelta

import pytest

from book_toolchain import build, execute
from book_toolchain.project import Project
from fixture_book import ledger, make_book, marked, start_build, wait_for_kernel

SLOW = "02_not_written_yet"  # the slow fixture chapter, in the place the fixture toc keeps


def run(root, *argv):
    return build.main(["--root", str(root), *argv])


@pytest.fixture
def book(tmp_path):
    return make_book(tmp_path / "book")


def test_violated_claim_stops_the_build_naming_it(tmp_path, capsys):
    root = make_book(tmp_path / "book", **{"02_violated": "violated.md"})
    assert run(root, "chapter", "02_violated", "--no-render") == 1
    err = capsys.readouterr().err
    assert "chapter 02_violated failed" in err
    assert "ClaimViolated" in err and "prop-fixture-violated" in err
    failed = json.loads((root / "_build" / "failed" / "02_violated.json").read_text())
    assert failed["claims"][0]["holds"] is False


def test_parameters_reach_the_chapter(book):
    assert run(book, "chapter", "01_good", "--no-render", "-p", "seed", "7", "-p", "scale", "0.5") == 0
    recorded = ledger(book, "01_good")
    assert recorded["seed"] == 7 and recorded["parameters"]["scale"] == 0.5
    assert recorded["claims"][0]["context"] == {"seed": 7, "mode": "quick"}  # seen by the code
    assert recorded["claims"][0]["measured"] <= 0.25  # scale 0.5 was applied


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-p", "eps", "1e-3"], "has no parameter 'eps'; its parameters: mode, seed, scale"),
        (["-p", "scale", "inf"], "parameter 'scale' accepts float > 0, got inf (not a finite"),
        (["-p", "scale", "-5"], "parameter 'scale' accepts float > 0, got -5"),
        (["--seed", "-1"], "parameter 'seed' accepts int >= 0, got -1"),
    ],
)
def test_bad_parameters_fail_before_a_kernel_starts(book, capsys, argv, message):
    started = time.time()
    assert run(book, "chapter", "01_good", "--no-render", *argv) == 1
    assert time.time() - started < 10  # a kernel start alone takes longer on the build machine
    assert message in capsys.readouterr().err
    assert not (book / "_build" / "running").exists()
    assert not (book / "_build" / "executed" / "01_good.ipynb").exists()


def test_a_failed_rerun_keeps_the_last_good_run(book, capsys):
    assert run(book, "chapter", "01_good", "--no-render") == 0
    build_dir = book / "_build"
    kept = {
        path: path.read_bytes()
        for path in (
            build_dir / "executed" / "01_good.ipynb",
            build_dir / "executed" / "01_good.stamp.json",
            build_dir / "claims" / "01_good.json",
            build_dir / "timings.json",
        )
    }
    capsys.readouterr()
    # scale 3 is a valid parameter, but |x/2| then exceeds the bound 1/2: the claim fails.
    assert run(book, "chapter", "01_good", "--no-render", "-p", "scale", "3") == 1
    err = capsys.readouterr().err
    failed = build_dir / "failed" / "01_good.ipynb"
    assert f"failed notebook: {failed}" in err and "the last good run is kept" in err
    assert "ClaimViolated" in failed.read_text()
    assert json.loads((build_dir / "failed" / "01_good.json").read_text())["claims"][0][
        "holds"
    ] is False
    for path, content in kept.items():
        assert path.read_bytes() == content, path
    assert build.gate(Project(book)) == []
    assert not (build_dir / "running" / "01_good").exists()
    # the next good run clears the failure
    assert run(book, "chapter", "01_good", "--no-render") == 0
    assert not failed.exists()


def test_timings_record_time_memory_load_and_parallelism_and_never_dirty_the_tree(book):
    assert run(book, "chapter", "01_good", "--no-render", "-p", "scale", "0.5") == 0
    assert Project(book).measurements() == {}  # not the chapter's own parameters
    assert run(book, "all", "--no-render", "-j", "2") == 0
    measured = Project(book).measurements()["01_good"]["quick"]
    assert measured["seconds"] > 0 and 20 < measured["peak_rss_mb"] < 4000
    assert measured["jobs"] == 2 and measured["load_1min"] >= 0
    assert not (book / "book_timings.json").exists()  # make book, make test: the tree is clean
    assert run(book, "timings", "--commit") == 0  # make timings
    committed = json.loads((book / "book_timings.json").read_text())
    assert committed["01_good"]["quick"] == measured


def test_all_executes_only_what_changed(book, capsys):
    assert run(book, "all", "--no-render") == 0
    capsys.readouterr()
    assert run(book, "all", "--no-render") == 0
    assert "up to date: 00_introduction, 01_good" in capsys.readouterr().out
    notebook = book / "_build" / "executed" / "01_good.ipynb"
    before = notebook.stat().st_mtime_ns

    assert run(book, "all", "--no-render", "--seed", "3") == 0  # parameters changed
    assert "01_good (parameters changed): " in capsys.readouterr().out
    source = book / "chapters" / "01_good.md"
    source.write_text(source.read_text() + "\nOne more sentence.\n")
    assert run(book, "all", "--no-render", "--seed", "3") == 0
    assert "01_good (source changed): " in capsys.readouterr().out
    assert run(book, "all", "--no-render", "--seed", "3", "--force") == 0
    assert "executed 2 of 2 chapters" in capsys.readouterr().out
    assert notebook.stat().st_mtime_ns > before


def test_code_changes_invalidate_the_stamp(book, monkeypatch):
    project = Project(book)
    assert run(book, "chapter", "01_good", "--no-render") == 0
    parameters = {"mode": "quick", "seed": 0}
    stamp = execute.cache.chapter_stamp(project, "01_good", parameters)
    assert execute.cache.stale_reasons(project, "01_good", stamp) == []
    monkeypatch.setattr(execute.cache, "code_digest", lambda project: "another package")
    stamp = execute.cache.chapter_stamp(project, "01_good", parameters)
    assert execute.cache.stale_reasons(project, "01_good", stamp) == ["code changed"]


@pytest.mark.parametrize(
    ("text", "value"), [("7", 7), ("1e-3", 1e-3), ("full", "full"), ("True", True)]
)
def test_parameter_values_are_parsed(text, value):
    assert execute.parse_value(text) == value


def test_ctrl_c_stops_a_run_with_one_line_and_keeps_the_last_good_run(tmp_path):
    book = make_book(tmp_path / "book", **{SLOW: "slow.md"})
    assert run(book, "chapter", SLOW, "-p", "pause", "0", "--no-render") == 0
    executed = book / "_build" / "executed" / f"{SLOW}.ipynb"
    good = executed.read_bytes()
    marker = uuid.uuid4().hex
    running = start_build(book, "chapter", SLOW, "-p", "pause", "60", marker=marker)
    wait_for_kernel(book, SLOW, running, marker)
    time.sleep(1)  # into the first cell
    os.killpg(running.pid, signal.SIGINT)  # Ctrl-C in the terminal
    out, err = running.communicate(timeout=30)
    assert running.returncode == 130
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted while executing: "), err
    assert "Traceback" not in out + err
    assert executed.read_bytes() == good and ledger(book, SLOW)["parameters"]["pause"] == 0
    assert (book / "_build" / "locks" / f"{SLOW}.lock").read_text() == ""  # released
    assert not (book / "_build" / "running" / SLOW).exists()
    assert marked(marker) == []  # no kernel or child left behind


def test_chapters_run_side_by_side_and_a_failure_spares_the_others(tmp_path, capsys):
    book = make_book(tmp_path / "book", **{SLOW: "slow.md", "03_violated": "violated.md"})
    assert run(book, "all", "--no-render", "-j", "3") == 1
    err = capsys.readouterr().err
    assert "chapter 03_violated failed" in err and "ClaimViolated" in err
    assert "01_good" not in err and SLOW not in err
    for name in ("01_good", SLOW):  # published whole, with their own ledgers
        recorded = ledger(book, name)
        assert recorded["chapter"] == name and recorded["jobs"] == 3
        assert [c["holds"] for c in recorded["claims"]] == [True]
    assert not (book / "_build" / "claims" / "03_violated.json").exists()
    assert (book / "_build" / "failed" / "03_violated.json").exists()
    # side by side: the fast chapter ran while the slow one paused
    spans = {}
    for name in ("01_good", SLOW):
        recorded = ledger(book, name)
        start = datetime.fromisoformat(recorded["started"])
        spans[name] = (start, start + timedelta(seconds=recorded["elapsed_s"]))
    assert spans["01_good"][0] <= spans[SLOW][1] and spans[SLOW][0] <= spans["01_good"][1]
    assert Project(book).measurements()[SLOW]["quick"]["jobs"] == 3


def test_a_name_that_is_not_a_chapter_is_refused(book, capsys):
    assert run(book, "chapter", "../chapters/01_good", "--no-render") == 1
    assert "no chapter '../chapters/01_good'" in capsys.readouterr().err
    assert not (book / "_build" / "chapters").exists()  # no lock file written beside _build/locks
