"""book_toolchain.pdf: the book as one PDF, printed by Chromium after MathJax typesets.

The built book's PDF is checked by ``test_sitecheck.test_built_site`` (which prints it when it
is missing or older than the site); here two hand-made sites: one typeset (its PDF has no raw
TeX and the page count its manifest says), one whose maths never typeset (caught)."""

import json
import os
import shutil
from pathlib import Path

import pytest

from book_toolchain import pdf, sitecheck
from fixture_sites import with_mathjax

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHROMIUM = os.environ.get("BOOK_CHROMIUM", sitecheck.DEFAULT_CHROMIUM)

pytestmark = pytest.mark.skipif(
    not os.path.isfile(CHROMIUM), reason=f"browser tests skipped: {CHROMIUM} not found"
)


def test_typeset_site_prints_without_tex_and_with_its_page_count(tmp_path):
    site = with_mathjax("site_math", tmp_path)
    manifest = pdf.build_pdf(site)
    book = site / "book.pdf"
    assert book.read_bytes()[:5] == b"%PDF-"
    assert manifest["pages"] == manifest["cover_pages"] + sum(p["pages"] for p in manifest["parts"])
    assert [p["page"] for p in manifest["parts"]] == ["index.html"]
    assert json.loads((site / "book.pdf.json").read_text())["pages"] == manifest["pages"]
    assert pdf.check_pdf(book) == []
    from pypdf import PdfReader

    reader = PdfReader(book)
    text = "".join(p.extract_text() for p in reader.pages)
    assert "Contents" in text and "Math" in text  # the cover and the page
    assert [o.title for o in reader.outline] == ["Math"]  # one bookmark per part


def test_untypeset_maths_and_a_wrong_page_count_are_caught(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "site_raw_math", site)  # its MathJax never loads
    pdf.build_pdf(site)
    problems = pdf.check_pdf(site / "book.pdf")
    assert any("raw TeX or $" in p and "\\Phi" in p for p in problems), problems
    manifest = json.loads((site / "book.pdf.json").read_text())
    manifest["parts"][0]["pages"] += 1
    (site / "book.pdf.json").write_text(json.dumps(manifest))
    assert any("the parts make" in p for p in pdf.check_pdf(site / "book.pdf"))


def test_reading_order_follows_the_sidebar(tmp_path):
    site = tmp_path / "html"
    (site / "chapters").mkdir(parents=True)
    (site / "index.html").write_text(
        '<html><head><meta http-equiv="refresh" content="0; url=chapters/intro.html"></head></html>'
    )
    nav = ('<nav class="bd-links bd-docs-nav" aria-label="Main"><a href="b.html">B</a>'
           '<a href="a.html#x">A</a><a href="https://example.org">web</a></nav>')
    for name in ("intro", "a", "b"):
        (site / "chapters" / f"{name}.html").write_text(f"<html><body>{nav}</body></html>")
    assert pdf.book_pages(site) == ["chapters/intro.html", "chapters/b.html", "chapters/a.html"]
