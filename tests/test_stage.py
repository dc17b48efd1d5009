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


def _stale_book(tmp_path):
    """The fixture book whose chapter 01 gained a lemma (thm-fixture-new) after its last run:
    the executed notebook, its ledger and its stamp are those of the old source."""
    import json

    import nbformat

    from book_toolchain import cache
    from book_toolchain.project import Project

    root = make_book(tmp_path / "book")
    project = Project(root)
    source = project.source("01_good")
    old_text = source.read_text()
    project.executed_dir.mkdir(parents=True)
    project.claims_dir.mkdir(parents=True)
    body = old_text.split("---\n", 2)[2]  # the notebook of the old source (its front matter off)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(body)]),
                   project.executed_dir / "01_good.ipynb")
    cache.write_stamp(project, "01_good", {"source": cache.digest_files([source])})
    claim = {"label": "thm-fixture-halving", "quantity": "q", "measured": 0.4, "bound": 0.5,
             "ratio": 0.8, "holds": True, "kind": "bound", "context": {}}
    ledger = {"mode": "quick", "seed": 0, "elapsed_s": 1.0, "claims": [claim]}
    (project.claims_dir / "01_good.json").write_text(json.dumps(ledger))
    (project.claims_dir / "00_introduction.json").write_text('{"executed": false, "claims": []}')
    new = "\n```{prf:lemma} New\n:label: thm-fixture-new\n\nA lemma added later.\n```\n"
    source.write_text(old_text + new)
    return project


def test_index_lists_what_a_stale_chapter_renders_and_names_the_fix(tmp_path):
    project = _stale_book(tmp_path)
    staged = stage.stage_book(project)
    index = (project.stage_dir / "chapters" / "theorem_index.md").read_text()
    # the index links only the statements the rendered notebook declares: Sphinx finds them
    assert "{prf:ref}`thm-fixture-halving`" in index and "thm-fixture-new" not in index
    [notice] = [n for n in staged.notices if "01_good" in n]
    assert "older than its source" in notice and "make chapter NAME=01_good" in notice
    # brought up to date: no notice
    from book_toolchain import cache

    cache.write_stamp(project, "01_good", {"source": cache.digest_files([project.source("01_good")])})
    assert not [n for n in stage.stage_book(project).notices if "older" in n]


def test_a_reference_to_a_label_only_the_newer_source_declares_names_the_stale_chapter(tmp_path):
    project = _stale_book(tmp_path)
    intro = project.source("00_introduction")
    intro.write_text(intro.read_text() + "\nSee {prf:ref}`the new lemma <thm-fixture-new>`.\n")
    with pytest.raises(BuildError) as error:
        stage.stage_book(project)
    message = str(error.value)
    assert "'thm-fixture-new' is declared by chapters/01_good.md but not by its executed" in message
    assert "00_introduction refer(s) to it" in message
    assert "Run `make chapter NAME=01_good`" in message
