"""Paths, timings and statements of a book (book_toolchain.project)."""

import json
import threading

import pytest

from book_toolchain import build
from book_toolchain import project as project_module
from book_toolchain.project import BuildError, Project, find_statements, write_json, write_timing
from fixture_book import make_book


def test_timings_merge_the_committed_file_with_this_build(tmp_path):
    project = Project(tmp_path)
    assert project.timings() == {} and project.measurements() == {}
    committed = {"seconds": 200.0, "peak_rss_mb": 3000, "measured": "2026-11-30"}
    write_timing(project.committed_timings_path, "06_x", "full", committed)
    write_timing(project.committed_timings_path, "06_x", "quick", {"seconds": 30.0})
    write_timing(project.timings_path, "06_x", "quick", {"seconds": 25.0, "peak_rss_mb": 900})
    assert project.timings() == {"06_x": {"full": 200.0, "quick": 25.0}}  # this build wins
    assert project.measurements()["06_x"]["full"] == committed


def test_timings_in_the_old_format_are_seconds(tmp_path):
    project = Project(tmp_path)
    project.timings_path.parent.mkdir()
    project.timings_path.write_text(json.dumps({"01_x": {"quick": 4.2}}))
    assert project.timings() == {"01_x": {"quick": 4.2}}
    assert project.measurements() == {"01_x": {"quick": {"seconds": 4.2}}}


def test_chapters_and_statements_of_the_fixture_book(tmp_path):
    project = Project(make_book(tmp_path / "book"))
    assert project.chapter_names() == ["00_introduction", "01_good"]
    [statement] = find_statements(project, project.chapter_names())
    assert (statement.chapter, statement.kind, statement.label) == (
        "01_good", "theorem", "thm-fixture-halving")


@pytest.mark.parametrize(
    ("name", "fix"),
    [("_build/timings.json", "delete it"),
     ("book_timings.json", "git checkout book_timings.json")],
)
def test_a_truncated_timings_file_is_named_with_what_to_do(tmp_path, capsys, name, fix):
    root = make_book(tmp_path / "book")
    path = root / name
    write_timing(path, "01_good", "quick", {"seconds": 4.0, "peak_rss_mb": 70})
    path.write_text(path.read_text()[:25])  # cut off mid-write
    assert build.main(["--root", str(root), "all", "--force", "--no-render"]) == 1
    err = capsys.readouterr().err
    assert f"{path} is not valid JSON" in err and fix in err
    assert "Traceback" not in err


def test_a_corrupt_ledger_is_named_with_what_to_do(tmp_path):
    project = Project(tmp_path)
    project.claims_dir.mkdir(parents=True)
    (project.claims_dir / "01_x.json").write_text('{"claims": [')
    with pytest.raises(BuildError, match=r"01_x.json.*make chapter NAME=01_x"):
        project.ledger("01_x")


def test_json_is_written_atomically(tmp_path, monkeypatch):
    path = tmp_path / "data.json"
    write_json(path, {"a": 1})
    # a writer that fails half way leaves the old file whole and no temporary behind
    monkeypatch.setattr(project_module.json, "dumps", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_json(path, {"a": 2})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"a": 1} and list(tmp_path.iterdir()) == [path]
    # threads writing at once: every read sees one whole version
    write_json(path, {"writer": None, "payload": list(range(2000))})
    stop = threading.Event()

    def writer(k):
        while not stop.is_set():
            write_json(path, {"writer": k, "payload": list(range(2000))})

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(200):
            assert len(json.loads(path.read_text())["payload"]) == 2000
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert list(tmp_path.iterdir()) == [path]
