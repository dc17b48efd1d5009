"""Stamps of executed chapters and of the rendered website (book_toolchain.cache)."""

import subprocess
import sys

from book_toolchain import cache
from book_toolchain.project import Project
from fixture_book import make_book


def test_digest_depends_on_names_and_contents(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    first = cache.digest_files([a, b], tmp_path)
    assert cache.digest_files([b, a], tmp_path) == first  # order does not matter
    b.write_text("y = 3\n")
    assert cache.digest_files([a, b], tmp_path) != first
    assert cache.digest_data({"seed": 1, "mode": "quick"}) == cache.digest_data(
        {"mode": "quick", "seed": 1}
    )


def test_code_digest_covers_the_mathematics_without_importing_it(tmp_path):
    assert cache.package_dir("resnet_flows").joinpath("bounds.py").exists()
    script = (
        "import sys; from pathlib import Path; from book_toolchain import cache, project;"
        f"cache.code_digest(project.Project(Path({str(tmp_path)!r})));"
        "assert not {'torch', 'scipy', 'resnet_flows'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_stale_reasons(tmp_path):
    project = Project(make_book(tmp_path / "book"))
    stamp = cache.chapter_stamp(project, "01_good", {"mode": "quick", "seed": 0})
    assert cache.stale_reasons(project, "01_good", stamp) == ["never executed"]
    project.executed_dir.mkdir(parents=True)
    project.claims_dir.mkdir(parents=True)
    (project.executed_dir / "01_good.ipynb").write_text("{}")
    (project.claims_dir / "01_good.json").write_text("{}")
    cache.write_stamp(project, "01_good", stamp)
    assert cache.stale_reasons(project, "01_good", stamp) == []
    other = cache.chapter_stamp(project, "01_good", {"mode": "full", "seed": 0})
    assert cache.stale_reasons(project, "01_good", other) == ["parameters changed"]
    (project.claims_dir / "01_good.json").unlink()
    assert cache.stale_reasons(project, "01_good", stamp) == ["no ledger"]


def test_render_stamp_follows_the_inputs(tmp_path):
    project = Project(make_book(tmp_path / "book"))
    project.html_dir.mkdir(parents=True)
    (project.html_dir / "index.html").write_text("<html></html>")
    assert not cache.render_is_current(project)
    cache.write_render_stamp(project)
    assert cache.render_is_current(project)
    (project.root / "_config.yml").write_text("title: changed\n")
    assert not cache.render_is_current(project)
    cache.write_render_stamp(project)
    (project.html_dir / "index.html").unlink()
    assert not cache.render_is_current(project)


def test_render_stamp_follows_the_page_script_and_styles(tmp_path, monkeypatch):
    """An edit of site/book.css alone once left the website unrendered ("up to date")."""
    import shutil

    toolchain = tmp_path / "toolchain"
    shutil.copytree(cache.TOOLCHAIN / "site", toolchain / "site")
    monkeypatch.setattr(cache, "TOOLCHAIN", toolchain)
    project = Project(make_book(tmp_path / "book"))
    project.html_dir.mkdir(parents=True)
    (project.html_dir / "index.html").write_text("<html></html>")
    cache.write_render_stamp(project)
    assert cache.render_is_current(project)
    css = toolchain / "site" / "book.css"
    css.write_text(css.read_text() + "\n.x { color: red; }\n")
    assert not cache.render_is_current(project)
