"""Sphinx extension: fixes for JavaScript errors the browser check found in every page.

Enable it in ``_config.yml``::

    sphinx:
      extra_extensions:
        - book_toolchain.site_fixes

1. sphinx-thebe and sphinx-togglebutton (as loaded by jupyter-book 1.0.4) register their
   inline ``<script>`` twice, once with filename ``None`` and once with ``""``. The second
   ``const THEBE_JS_URL = ...`` is a ``SyntaxError: Identifier 'THEBE_JS_URL' has already been
   declared`` on every page. Duplicate script entries are dropped before the page is written.
2. pydata-sphinx-theme's layout sets ``data-mode=""`` for a first-time visitor (empty
   ``localStorage``; sphinx-book-theme has no ``default_mode`` option), and its script then
   logs ``console.error("Got invalid theme mode: . Resetting to auto.")``. An inline script,
   run before the theme's, sets the missing mode to ``auto``.
3. Wide generated tables (the reproduction report's long quantity column) widened the whole
   page, so it opened scrolled sideways; tables scroll inside the article instead. So do
   display equations on a narrow screen (they are broken to fit the 790 px column at 1440 px),
   never the page; print shows them whole, without scrollbars.
4. Proof end marks (∎), which sphinx-proof does not draw, and a compact rerun box.
5. ``{doc}`` links without explicit text read "Chapter 6", not the chapter's long title.
6. Search without diacritics: a page that says "Grönwall" is also found by "Gronwall" (the
   folded spellings are added to the page as hidden text, which Sphinx's indexer reads).
"""

from __future__ import annotations

import html
import re
import unicodedata

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import docname_join

DEFAULT_MODE_JS = (
    'if (!document.documentElement.dataset.mode) document.documentElement.dataset.mode = "auto";'
)


SITE_CSS = """<style>
.bd-article table { display: block; max-width: 100%; overflow-x: auto; }
.bd-article mjx-container[display="true"] { max-width: 100%; overflow-x: auto; overflow-y: hidden; }
div[class="proof admonition"] > :last-child::after {
  content: "\\220E"; float: right; padding-left: 0.5em;
}
.rerun-box { font-size: 0.85em; }
.rerun-box pre { margin: 0.3em 0; padding: 0.4em 0.6em; }
.rerun-box p { margin: 0.3em 0; }
@media print {
  .bd-article table, .bd-article mjx-container[display="true"] { overflow: visible !important; }
  .rerun-box { display: none; }
}
</style>"""


def _script_key(js) -> tuple:
    filename = getattr(js, "filename", js) or ""
    attributes = getattr(js, "attributes", {}) or {}
    return (str(filename), tuple(sorted((str(k), str(v)) for k, v in attributes.items())))


def dedup_scripts(app, pagename, templatename, context, doctree) -> None:
    seen, unique = set(), []
    for js in context.get("script_files", []):
        key = _script_key(js)
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def add_site_css(app, pagename, templatename, context, doctree) -> None:
    context["metatags"] = context.get("metatags", "") + SITE_CSS


class ChapterLinkText(SphinxPostTransform):
    """``{doc}`06_space_time_approximation``` reads "Chapter 6" (numbered pages only)."""

    default_priority = 5  # before Sphinx's ReferencesResolver (10) fills in the title

    def run(self, **kwargs) -> None:
        for node in self.document.findall(addnodes.pending_xref):
            if node.get("reftype") != "doc" or node.get("refexplicit"):
                continue
            target = docname_join(node["refdoc"], node["reftarget"])
            number = self.env.toc_secnumbers.get(target, {}).get("")
            if not number:
                continue
            node["refexplicit"] = True
            node.children[0].children = [nodes.Text(f"Chapter {'.'.join(map(str, number))}")]


def fold(word: str) -> str:
    """``word`` without diacritics: "Grönwall" → "Gronwall", "Hölder" → "Holder"."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def add_folded_words(app, doctree, docname) -> None:
    """Hidden text with the diacritic-free spellings of the page's words, for the search."""
    words = set()
    for text in doctree.findall(nodes.Text):
        for word in re.findall(r"[^\W\d_]+", text.astext()):
            if fold(word) != word and fold(word).isascii():
                words.add(fold(word))
    if words:
        hidden = f'<span hidden>{html.escape(" ".join(sorted(words)))}</span>'
        doctree.append(nodes.raw("", hidden, format="html"))


def setup(app):
    app.add_js_file(None, body=DEFAULT_MODE_JS, priority=1)
    # After the themes' own html-page-context handlers (default priority 500).
    app.connect("html-page-context", dedup_scripts, priority=900)
    app.connect("html-page-context", add_site_css)
    app.add_post_transform(ChapterLinkText)
    app.connect("doctree-resolved", add_folded_words)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
