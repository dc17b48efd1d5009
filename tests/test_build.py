"""The command line on the fixture book: gate, strict build, render cache; imports; README."""

import re
import shlex
import shutil
import subprocess
import sys
from html import unescape

import pytest

from book_toolchain import build
from book_toolchain.execute import parse_value, read_chapter
from book_toolchain.parameters import chapter_parameters, check_overrides
from book_toolchain.project import Project, write_timing
from fixture_book import REPO, ledger, make_book


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


def test_strict_build_of_the_fixture_book_then_nothing_to_redo(tmp_path, capfd):
    root = make_book(tmp_path / "book")
    assert build.main(["--root", str(root), "all", "--seed", "1"]) == 0
    captured = capfd.readouterr()
    out = captured.out
    # quiet: a line per chapter and one per render; the kernel's and Sphinx's talk goes elsewhere
    log = captured.out + captured.err
    assert not re.search(r"WARNING|ERROR|Traceback|without encryption|Unable to parse", log), log
    assert "Running Sphinx" not in log and len(log.strip().splitlines()) <= 10, log
    assert "Running Sphinx" in (root / "_build" / "logs" / "render.log").read_text()
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

    # Nothing changed: no chapter runs, the site is not rendered again, the gate still runs.
    assert build.main(["--root", str(root), "all", "--seed", "1"]) == 0
    out = capfd.readouterr().out
    assert "up to date: 00_introduction, 01_good" in out and "not rendered again" in out
    assert "reproduction gate passed" in out and "pages in" not in out
    (root / "_toc.yml").write_text((root / "_toc.yml").read_text() + "\n# edited\n")
    assert build.main(["--root", str(root), "all", "--seed", "1"]) == 0
    out = capfd.readouterr().out
    assert "up to date: 00_introduction, 01_good" in out and "rendered 5 pages in" in out


def test_help_imports_no_mathematics():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "book_toolchain.build", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert "usage: python -m book_toolchain.build" in result.stdout
    imported = {
        line.split("|")[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "book_toolchain.execute" in imported  # the importtime output was read (build is __main__)
    heavy = {name for name in imported if name.split(".")[0] in ("torch", "scipy", "resnet_flows")}
    assert heavy == set()


def documented_reruns() -> list[tuple[str, str, list[str]]]:
    """(file, chapter, -p arguments) of every ``make chapter`` line in README, Makefile and
    chapter prose."""
    found = []
    for path in [REPO / "README.md", REPO / "Makefile", *sorted(REPO.glob("chapters/*.md"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.search(r"make chapter NAME=(\w+)(?: PARAMS=\"([^\"]*)\")?", line)
            if match:
                found.append((path.name, match.group(1), shlex.split(match.group(2) or "")))
    return found


def test_documented_reruns_use_declared_parameters_with_valid_values():
    reruns = documented_reruns()
    assert any(file == "README.md" and argv for file, _, argv in reruns)
    for file, chapter, argv in reruns:
        assert len(argv) % 3 == 0 and set(argv[::3]) <= {"-p"}, (file, argv)
        overrides = {key: parse_value(value) for key, value in zip(argv[1::3], argv[2::3], strict=True)}
        declared = chapter_parameters(read_chapter(REPO / "chapters" / f"{chapter}.md"))
        check_overrides(chapter, *declared, {"mode": "quick", "seed": 0, **overrides})


def test_the_readmes_rerun_example_runs(tmp_path):
    _, chapter, argv = next(r for r in documented_reruns() if r[0] == "README.md" and r[2])
    (tmp_path / "chapters").mkdir()
    shutil.copyfile(REPO / "chapters" / f"{chapter}.md", tmp_path / "chapters" / f"{chapter}.md")
    command = ["--root", str(tmp_path), "chapter", chapter, "--no-render", *argv]
    assert build.main(command) == 0
    recorded = ledger(tmp_path, chapter)
    for key, value in zip(argv[1::3], argv[2::3], strict=True):
        assert recorded["parameters"][key] == parse_value(value)
    assert recorded["claims"] and all(claim["holds"] for claim in recorded["claims"])


@pytest.mark.parametrize("argv", [["all", "--help"], ["chapter", "--help"]])
def test_force_is_an_option(argv, capsys):
    with pytest.raises(SystemExit):
        build.main(argv)
    assert "--force" in capsys.readouterr().out


def test_timings_table_shows_committed_full_mode_measurements(tmp_path, capsys):
    root = make_book(tmp_path / "book")
    measured = {"seconds": 125.0, "peak_rss_mb": 2048, "measured": "2026-11-30"}
    write_timing(Project(root).committed_timings_path, "01_good", "full", measured)
    assert build.main(["--root", str(root), "timings"]) == 0
    out = capsys.readouterr().out
    assert "| 01_good | not measured | 2 min 05 s, 2.0 GB (2026-11-30) |" in out
