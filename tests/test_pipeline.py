"""The book pipeline on a tiny fixture book: execution, parameters, gate, strict build."""

import json
import re
import shutil
from html import unescape
from pathlib import Path

import pytest

from book_toolchain import build, execute, stage
from book_toolchain.project import BuildError, Project

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def make_book(root: Path, **extra_chapters: str) -> Path:
    """The fixture book with the repository's config, bibliography and references page."""
    shutil.copytree(FIXTURES / "book", root)
    for name in ("_config.yml", "references.bib"):
        shutil.copyfile(REPO / name, root / name)
    shutil.copyfile(REPO / "chapters" / "references.md", root / "chapters" / "references.md")
    for name, fixture in extra_chapters.items():
        shutil.copyfile(FIXTURES / fixture, root / "chapters" / f"{name}.md")
    return root


def ledger(root: Path, chapter: str) -> dict:
    return json.loads((root / "_build" / "claims" / f"{chapter}.json").read_text())


def test_violated_claim_stops_the_build_naming_it(tmp_path, capsys):
    root = make_book(tmp_path / "book", **{"02_violated": "violated.md"})
    status = build.main(["--root", str(root), "chapter", "02_violated", "--no-render"])
    err = capsys.readouterr().err
    assert status == 1
    assert "chapter 02_violated failed" in err
    assert "ClaimViolated" in err and "prop-fixture-violated" in err
    assert ledger(root, "02_violated")["claims"][0]["holds"] is False


def test_parameters_reach_the_chapter(tmp_path):
    root = make_book(tmp_path / "book")
    argv = ["--root", str(root), "chapter", "01_good", "--no-render", "-p", "seed", "7"]
    assert build.main([*argv, "-p", "scale", "0.5"]) == 0
    recorded = ledger(root, "01_good")
    assert recorded["seed"] == 7 and recorded["parameters"]["scale"] == 0.5
    assert recorded["claims"][0]["context"] == {"seed": 7, "mode": "quick"}  # seen by the code
    assert recorded["claims"][0]["measured"] <= 0.25  # scale 0.5 was applied


def test_chapter_without_claim_fails_the_gate(tmp_path, capsys):
    root = make_book(tmp_path / "book", **{"02_no_claim": "no_claim.md"})
    for name in ("01_good", "02_no_claim"):
        assert build.main(["--root", str(root), "chapter", name, "--no-render"]) == 0
    assert build.main(["--root", str(root), "gate"]) == 1
    err = capsys.readouterr().err
    assert "02_no_claim: recorded no claim" in err and "01_good" not in err


def test_claim_label_must_name_a_statement(tmp_path):
    root = make_book(tmp_path / "book")
    source = root / "chapters" / "01_good.md"
    source.write_text(
        source.read_text().replace('record_claim("thm-fixture-halving"', 'record_claim("thm-typo"')
    )
    assert build.main(["--root", str(root), "chapter", "01_good", "--no-render"]) == 0
    problems = build.gate(Project(root))
    assert any("'thm-typo' is not the :label:" in p for p in problems)


def test_strict_build_of_the_fixture_book(tmp_path, capfd):
    root = make_book(tmp_path / "book")
    assert build.main(["--root", str(root), "all", "--seed", "1"]) == 0
    out = capfd.readouterr().out
    warnings = [line for line in out.splitlines() if re.search(r"WARNING|ERROR", line)]
    assert [w for w in warnings if "IPKernelApp" not in w] == []
    assert "02_not_written_yet: not available, left out of the book" in out
    html = root / "_build" / "html"
    assert (html / "index.html").exists()
    chapter = (html / "chapters" / "01_good.html").read_text()
    text = unescape(re.sub(r"<[^>]+>", "", chapter))
    assert 'make chapter NAME=01_good PARAMS="-p mode quick -p seed 1"' in text
    assert "Theorem 1.1" in chapter and "_downloads/" in chapter
    assert "mathjax/tex-chtml.js" in chapter and "cdn.jsdelivr" not in chapter
    assert (html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    report = (html / "chapters" / "reproduction_report.html").read_text()
    assert "max |x/2|" in report and "Theorem 1.1" in report
    index = (html / "chapters" / "theorem_index.html").read_text()
    assert "all hold" in index and "Halving" in index


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


@pytest.mark.parametrize(
    ("text", "value"), [("7", 7), ("1e-3", 1e-3), ("full", "full"), ("True", True)]
)
def test_parameter_values_are_parsed(text, value):
    assert execute.parse_value(text) == value
