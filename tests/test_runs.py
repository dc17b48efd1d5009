"""Kept runs (book_toolchain.runs): nothing a run computed is lost, and the book says which
runs it did not publish and how to publish them."""

import json

import pytest

from book_toolchain import runs
from book_toolchain.cache import digest_data
from book_toolchain.project import BuildError, Project
from fixture_book import ledger, make_book, run


@pytest.fixture
def book(tmp_path):
    return make_book(tmp_path / "book")


def test_a_custom_run_is_kept_named_by_make_book_and_published_on_request(book, capsys):
    assert run(book, "chapter", "01_good", "--no-render", "-p", "scale", "0.9") == 0
    custom = runs.run_id("quick", {"scale": 0.9}, digest_data)
    kept = book / "_build" / "runs" / "01_good" / custom
    out = capsys.readouterr().out
    assert f"kept as {kept}" in out
    assert 'make chapter NAME=01_good PARAMS="-p scale 0.9" PUBLISH=1' in out
    record = json.loads((kept / "run.json").read_text())
    assert record["parameters"]["scale"] == 0.9 and record["seconds"] > 0
    assert json.loads((kept / "01_good.json").read_text())["parameters"]["scale"] == 0.9

    # make book goes back to the book's parameters and says which kept run it left out
    assert run(book, "all", "--no-render") == 0
    out = capsys.readouterr().out
    assert "kept runs not in the book" in out
    assert f"01_good {custom} " in out and "PUBLISH=1" in out
    assert "scale" not in ledger(book, "01_good")["parameters"]
    assert kept.is_dir()  # nothing lost

    # --publish makes it the book's: no execution (it is up to date), and make book keeps it
    assert run(book, "chapter", "01_good", "--no-render", "-p", "scale", "0.9", "--publish") == 0
    out = capsys.readouterr().out
    assert f"restored the kept run {custom}" in out and "is the book's run" in out
    assert ledger(book, "01_good")["parameters"]["scale"] == 0.9
    assert run(book, "all", "--no-render") == 0
    out = capsys.readouterr().out
    assert "up to date: 00_introduction, 01_good" in out and "not in the book" not in out
    assert ledger(book, "01_good")["parameters"]["scale"] == 0.9

    # make test (--force) checks the book's own parameters; the next make book restores the run
    assert run(book, "all", "--no-render", "--force") == 0
    assert "scale" not in ledger(book, "01_good")["parameters"]
    capsys.readouterr()
    assert run(book, "all", "--no-render") == 0
    assert f"restored the kept run {custom}" in capsys.readouterr().out
    assert ledger(book, "01_good")["parameters"]["scale"] == 0.9

    # publishing the book's own parameters goes back to them
    assert run(book, "chapter", "01_good", "--no-render", "--publish") == 0
    assert "01_good" not in runs.choices(Project(book))
    assert "scale" not in ledger(book, "01_good")["parameters"]


def test_run_ids_name_the_parameters_that_differ():
    assert runs.run_id("quick", {}, digest_data) == "quick-default"
    assert runs.run_id("full", {}, digest_data) == "full-default"
    one = runs.run_id("quick", {"n_points": 100}, digest_data)
    assert one.startswith("quick-") and len(one) == len("quick-") + 8
    assert runs.run_id("quick", {"n_points": 101}, digest_data) != one
    assert runs.run_id("full", {"n_points": 100}, digest_data) != one


def test_a_run_replaces_only_the_kept_run_with_its_own_parameters(tmp_path):
    project = Project(tmp_path)
    for identifier, text in (("quick-default", "a"), ("quick-12345678", "b"),
                             ("quick-default", "c")):
        notebook, ledger_file = tmp_path / "nb", tmp_path / "ledger"
        notebook.write_text(text)
        ledger_file.write_text("{}")
        runs.keep(project, "01_x", identifier, notebook, ledger_file, {"finished": text})
    kept = {r["id"]: r["finished"] for r in runs.kept_runs(project, "01_x")}
    assert kept == {"quick-default": "c", "quick-12345678": "b"}
    assert not list((project.runs_dir / "01_x").glob(".*"))  # no half-written directory left


def test_a_corrupt_kept_run_or_choice_is_named_with_what_to_do(book, capsys):
    assert run(book, "chapter", "01_good", "--no-render", "-p", "scale", "0.9") == 0
    project = Project(book)
    [record] = [r for r in runs.kept_runs(project, "01_good") if r["id"] != "quick-default"]
    path = project.runs_dir / "01_good" / record["id"] / "run.json"
    path.write_text(path.read_text()[:20])  # truncated: make book names it and goes on
    assert run(book, "all", "--no-render") == 0
    out = capsys.readouterr().out
    assert f"notice: {path} is not valid JSON" in out and "delete the kept run" in out
    project.published_path.write_text('{"01_good": ')
    with pytest.raises(BuildError, match="published.json is not valid JSON .*delete it"):
        runs.choices(project)
