"""The book's Sphinx configuration keeps the site offline and the pages readable."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
SPHINX = CONFIG["sphinx"]["config"]
VENDOR = REPO / "code" / "book_toolchain" / "vendor"


def test_hover_previews_load_their_libraries_from_the_book_not_a_cdn():
    assert "sphinx_tippy" in CONFIG["sphinx"]["extra_extensions"]
    for path in SPHINX["tippy_js"]:
        assert "://" not in path and not path.startswith("//"), path
        assert (VENDOR / path).is_file(), f"{path} is not vendored under {VENDOR}"
    # Wikipedia and DOI previews are fetched from the network at build time.
    assert SPHINX["tippy_enable_wikitips"] is False and SPHINX["tippy_enable_doitips"] is False


def test_code_cell_markdown_is_rendered_as_myst():
    # Pipe tables, $maths$ and the {table} directive of book_toolchain.tables in cell outputs.
    assert SPHINX["nb_render_markdown_format"] == "myst"
    assert SPHINX["numfig"] is True and SPHINX["math_numfig"] is True


def test_hover_previews_use_the_book_theme():
    assert SPHINX["tippy_props"]["theme"] == "book"
    css = (REPO / "code" / "book_toolchain" / "site" / "book.css").read_text(encoding="utf-8")
    assert '.tippy-box[data-theme~="book"]' in css


def test_footer_author_is_a_name_not_a_sentence():
    assert not CONFIG["author"].lower().startswith(("a companion", "by "))
