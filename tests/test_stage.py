"""Staging the book (book_toolchain.stage)."""

import pytest

from book_toolchain import build, stage
from book_toolchain.project import BuildError
from fixture_book import make_book


def test_toc_filter_drops_missing_files_and_empty_parts():
    toc = {
        "root": "chapters/00_introduction",
        "parts": [
            {"caption": "A", "chapters": [{"file": "chapters/01"}, {"file": "chapters/02"}]},
            {"caption": "B", "chapters": [{"file": "chapters/03"}]},
        ],
    }
    notices = []
    present = {"chapters/00_introduction", "chapters/01"}
    staged = stage.filter_toc(toc, present, notices)
    assert staged["parts"] == [{"caption": "A", "chapters": [{"file": "chapters/01"}]}]
    assert len(notices) == 2
    with pytest.raises(BuildError, match="root page"):
        stage.filter_toc(toc, {"chapters/01"}, [])


def test_a_failed_render_shows_its_warnings_and_names_the_full_log(tmp_path, capfd):
    root = make_book(tmp_path / "book")
    source = root / "chapters" / "01_good.md"
    source.write_text(source.read_text() + "\nAs {prf:ref}`thm-nowhere` says.\n")
    assert build.main(["--root", str(root), "chapter", "01_good"]) == 1
    captured = capfd.readouterr()
    log = root / "_build" / "logs" / "render.log"
    assert "jupyter-book build failed" in captured.err and f"the full log: {log}" in captured.err
    assert "thm-nowhere" in captured.err  # the warning itself, not only where to look
    assert "Running Sphinx" not in captured.out + captured.err and "Running Sphinx" in log.read_text()
    assert not (root / "_build" / "render.stamp.json").exists()  # rendered again next time


def test_rerun_box_says_what_its_times_were_measured_under():
    ledger = {"mode": "quick", "seed": 0, "parameters": {"mode": "quick", "seed": 0},
              "elapsed_s": 31.0, "load_1min": 2.3, "jobs": 2, "claims": [{}]}
    box = stage.rerun_box("06_x", ledger, {"full": {"seconds": 448.0, "load_1min": 1.6}})
    assert "quick mode 31 s (this page, load 2.3, 2 chapters at a time)" in box
    assert "full mode 7 min 28 s (load 1.6)" in box
