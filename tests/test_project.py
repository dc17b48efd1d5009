"""Paths, timings and statements of a book (book_toolchain.project)."""

import json

from book_toolchain.project import Project, find_statements, write_timing
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
