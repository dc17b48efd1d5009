"""The whole book as one PDF, printed by Chromium from the built website (``make pdf``).

Usage: ``python -m book_toolchain.pdf [SITE] [--out FILE] [--chromium PATH]``; ``SITE`` defaults
to ``_build/html`` and the PDF to ``SITE/book.pdf``, where every page of the site links to it.

Each page of the book, in the order of the site's table of contents, is loaded by headless
Chromium under Playwright (offline, as in :mod:`book_toolchain.sitecheck`), MathJax typesets
it, and Chromium prints it (``page.pdf``, the print style sheet: no sidebars, no rerun box,
"show code" cells closed). The theorem, figure, table and equation numbers are the site's own.
A cover with the contents and each part's first page comes first; pypdf joins the parts and
adds one bookmark per part. Links to other pages of the site are kept as text (they would point
at the temporary local server); links within a page and to the web stay links.
``SITE/book.pdf.json`` records each part's title and page count.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from .sitecheck import (
    DEFAULT_CHROMIUM,
    Browser,
    SiteCheckError,
    SiteServer,
    find_pages,
    is_local_url,
)

PDF_NAME = "book.pdf"
# A4 with 16 mm margins is 673 CSS px wide; at scale 0.85 the site's 790 px column fits, so
# a display laid out for the column is not cut at the page's edge (text ≈ 10 pt).
PAGE_FORMAT = {"format": "A4", "scale": 0.85,
               "margin": {"top": "16mm", "bottom": "18mm", "left": "16mm", "right": "16mm"}}
COVER_FORMAT = {**PAGE_FORMAT, "scale": 1.0}
# Print preparation in the page: links to other pages become text, wide boxes are not masked.
PREPARE_JS = """() => {
  for (const a of document.querySelectorAll('a[href]')) {
    const url = new URL(a.getAttribute('href'), location.href);
    const samePage = url.pathname === location.pathname && url.origin === location.origin;
    if (url.origin === location.origin && !samePage) a.removeAttribute('href');
  }
  for (const d of document.querySelectorAll('details.sd-dropdown[open]')) d.open = false;
  document.querySelectorAll('.scroll-hint').forEach(h => h.remove());
  return document.title;
}"""
# TeX that must not survive typesetting, and the dollar signs of unrendered maths.
RAW_TEX = re.compile(r"\\(?:[A-Za-z]{2,}|[()\[\]])|\$")


def book_pages(site: Path) -> list[str]:
    """Site-relative paths of the book's pages in reading order: the first page, then the
    links of its table of contents (sidebar); without one, every page in name order."""
    site = Path(site)
    first = _first_page(site)
    text = (site / first).read_text(encoding="utf-8", errors="replace")
    nav = re.search(r'<nav class="[^"]*\bbd-docs-nav\b[^>]*>(.*?)</nav>', text, re.DOTALL)
    if nav is None:
        pages = [p.relative_to(site).as_posix() for p in find_pages(site)]
        return [p for p in pages if not _is_redirect(site / p)]
    order = [first]
    for href in re.findall(r'href="([^"#]+)', nav.group(1)):
        rel = urlsplit(urljoin(first, href)).path.lstrip("/")
        if rel not in order and (site / rel).is_file() and rel.endswith(".html"):
            order.append(rel)
    return order


def _is_redirect(path: Path) -> bool:
    text = path.read_text(encoding="utf-8", errors="replace")
    return len(text) < 4000 and 'http-equiv="refresh"' in text.lower()


def _first_page(site: Path) -> str:
    """The page ``index.html`` redirects to (Jupyter Book's root), else ``index.html``."""
    index = site / "index.html"
    if index.is_file():
        m = re.search(r'url=([^"\'>]+)', index.read_text(encoding="utf-8", errors="replace"))
        if m and _is_redirect(index) and (site / m.group(1).strip()).is_file():
            return m.group(1).strip()
        return "index.html"
    pages = find_pages(site)
    if not pages:
        raise SiteCheckError(f"no HTML pages under {site}")
    return pages[0].relative_to(site).as_posix()


def _footer(title: str) -> str:
    title = html.escape(title.split(" — ")[0].split(" | ")[0])
    return (
        '<div style="font-size:8px;width:100%;padding:0 16mm;color:#555;display:flex;'
        f'justify-content:space-between"><span>{title}</span>'
        '<span class="pageNumber"></span></div>'
    )


def _cover(book_title: str, parts: list[dict], first_page: list[int], mode: str) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(p['title'])}</td><td style='text-align:right'>{n}</td></tr>"
        for p, n in zip(parts, first_page, strict=True)
    )
    build = f"<p>{html.escape(mode)}</p>" if mode else ""
    return (
        "<html><head><meta charset='utf-8'><style>body{font-family:sans-serif;margin:0}"
        "h1{font-size:26px;margin:40mm 0 8mm}td{padding:2px 8px;font-size:12px}"
        "table{border-collapse:collapse;width:100%}</style></head><body>"
        f"<h1>{html.escape(book_title)}</h1>{build}<h2>Contents</h2>"
        f"<table>{rows}</table></body></html>"
    )


def build_pdf(site, out=None, chromium: str = DEFAULT_CHROMIUM, browser=None, pages=None) -> dict:
    """Print the book under ``site`` into one PDF (default ``site/book.pdf``); returns the
    manifest (also written next to the PDF as ``book.pdf.json``). ``pages`` (site-relative
    paths) replaces the book's reading order, e.g. to print one chapter."""
    from pypdf import PdfReader, PdfWriter

    site = Path(site).resolve()
    if not site.is_dir():
        raise SiteCheckError(f"site directory {site} does not exist")
    out = Path(out) if out else site / PDF_NAME
    pages = list(pages) if pages else book_pages(site)
    started = time.monotonic()
    server = SiteServer(site)
    parts: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp, (
        contextlib.nullcontext(browser) if browser else Browser(chromium)
    ) as b:
        js = (Path(__file__).with_name("sitecheck.js")).read_text(encoding="utf-8")
        context = b.browser.new_context(viewport={"width": 1000, "height": 1400})
        context.add_init_script(script=js)
        context.route("**/*", _offline)
        page = context.new_page()
        try:
            for i, rel in enumerate(pages):
                page.goto(server.base + rel, wait_until="load")
                page.evaluate("window.__sitecheck.ready()")
                page.emulate_media(media="print")
                title = page.evaluate(PREPARE_JS)
                h1 = page.evaluate(
                    "() => { const h = document.querySelector('article h1');"
                    " return h ? h.textContent.replace(/[#¶]\\s*$/, '').trim() : ''; }"
                )
                path = Path(tmp) / f"part{i:03d}.pdf"
                page.pdf(path=str(path), print_background=True, display_header_footer=True,
                         header_template="<span></span>", footer_template=_footer(h1 or title),
                         **PAGE_FORMAT)
                parts.append({"page": rel, "title": h1 or title,
                              "pages": len(PdfReader(path).pages), "file": str(path)})
            book_title = page.evaluate(
                "() => (document.querySelector('.navbar-brand, .site-navigation .logo__title')"
                " || {}).textContent || document.title"
            ).strip()
            mode = _mode_sentence(site / pages[0])
            first, n = [], 2  # page 1 is the cover
            for part in parts:
                first.append(n)
                n += part["pages"]
            page.emulate_media(media="screen")
            page.set_content(_cover(book_title or "The book", parts, first, mode))
            cover = Path(tmp) / "cover.pdf"
            page.pdf(path=str(cover), **COVER_FORMAT)
            cover_pages = len(PdfReader(cover).pages)
            if cover_pages != 1:  # a long contents list: shift the page numbers and redo
                first = [f + cover_pages - 1 for f in first]
                page.set_content(_cover(book_title or "The book", parts, first, mode))
                page.pdf(path=str(cover), **COVER_FORMAT)
            writer = PdfWriter()
            writer.append(str(cover))
            for part, start in zip(parts, first, strict=True):
                writer.append(part["file"])
                writer.add_outline_item(title=part["title"], page_number=start - 1)
            tmp_out = out.with_name(out.name + ".tmp")
            with open(tmp_out, "wb") as handle:
                writer.write(handle)
            os.replace(tmp_out, out)
        finally:
            context.close()
            server.close()
    manifest = {
        "pdf": out.name, "pages": len(PdfReader(out).pages), "cover_pages": cover_pages,
        "bytes": out.stat().st_size, "seconds": round(time.monotonic() - started, 1),
        "parts": [{k: p[k] for k in ("page", "title", "pages")} for p in parts],
    }
    out.with_name(out.name + ".json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _offline(route) -> None:
    """Requests to the local server (and data: URLs) go through; anything else is refused."""
    if is_local_url(route.request.url):
        route.continue_()
    else:
        route.abort("blockedbyclient")


def _mode_sentence(first_page: Path) -> str:
    m = re.search(r'<p class="build-note[^"]*">(.*?)</p>', first_page.read_text(encoding="utf-8"))
    return re.sub(r"<[^>]+>", "", m.group(1)) if m else ""


def check_pdf(path) -> list[str]:
    """Problems of a book PDF: its text has raw TeX or ``$``, or its page count differs from
    its manifest (``<pdf>.json``: the cover plus every part's pages)."""
    from pypdf import PdfReader

    path = Path(path)
    reader = PdfReader(path)
    problems = []
    manifest_path = path.with_name(path.name + ".json")
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        expected = manifest["cover_pages"] + sum(p["pages"] for p in manifest["parts"])
        if len(reader.pages) != expected:
            problems.append(f"{path.name}: {len(reader.pages)} pages, the parts make {expected}")
    else:
        problems.append(f"{manifest_path.name} is missing")
    for number, pdf_page in enumerate(reader.pages, 1):
        text = pdf_page.extract_text() or ""
        for m in list(RAW_TEX.finditer(text))[:3]:
            context = text[max(0, m.start() - 30) : m.end() + 30].replace("\n", " ")
            problems.append(f"page {number}: raw TeX or $ {m.group(0)!r} in {context!r}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book_toolchain.pdf",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", default="_build/html", help="the built website")
    parser.add_argument("--out", help="the PDF (default: SITE/book.pdf)")
    parser.add_argument("--chromium", default=DEFAULT_CHROMIUM)
    args = parser.parse_args(argv)
    try:
        manifest = build_pdf(args.site, args.out, chromium=args.chromium)
    except SiteCheckError as exc:
        print(f"pdf: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(args.site) / PDF_NAME
    problems = check_pdf(out)
    print(f"pdf: {out}: {manifest['pages']} pages, {manifest['bytes'] / 1e6:.1f} MB, "
          f"{len(manifest['parts'])} parts, {manifest['seconds']:.0f} s")
    for problem in problems:
        print(f"  problem: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
