"""Sphinx extension: the book's fixes and additions to every page of the website.

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
3. ``site/book.css`` and ``site/book.js`` (served from ``_static``): the sidebar toggles work
   at every width (the theme wired a hidden copy of each button, see book.js), wide tables and
   displays scroll inside their own box with a visible cue, table captions and equation
   numbers, proof end marks (∎), hover previews in the page's colours, a compact rerun box.
4. ``{doc}`` links without explicit text read "Chapter 6", not the chapter's long title.
5. Search without diacritics: a page that says "Grönwall" is also found by "Gronwall" (the
   folded spellings are added to the page as hidden text, which Sphinx's indexer reads).
6. A proof's title: sphinx-proof writes "Proof." into every proof box; a chapter that names
   the statement in a paragraph right before the box (``*Proof of {prf:ref}`thm-main`.*``)
   gets that paragraph as the box's title instead of both ("Proof of Theorem 6.1. Proof.").
7. The build's mode (config ``book_build_mode``: quick, full or mixed, written by the stage)
   is said on the first page and in every page's footer, with the link to the book's PDF
   (``book.pdf`` at the site's root, written by ``python -m book_toolchain.pdf``).
"""

from __future__ import annotations

import html
import re
import unicodedata
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import docname_join

DEFAULT_MODE_JS = (
    'if (!document.documentElement.dataset.mode) document.documentElement.dataset.mode = "auto";'
)
SITE_DIR = Path(__file__).parent / "site"
PDF_NAME = "book.pdf"
BUILD_NOTES = {
    "quick": (
        "This is the <strong>quick build</strong>: every chapter ran in quick mode, with "
        "smaller samples and fewer points on the scaling figures; every claim is checked all "
        "the same. <code>make book MODE=full</code> builds the publication version."
    ),
    "full": (
        "This is the <strong>full build</strong>: every chapter ran in full mode, at "
        "publication quality."
    ),
    "mixed": (
        "This build <strong>mixes modes</strong>: some chapters ran in quick mode, some in "
        "full mode (the Reproduction report lists each chapter's mode)."
    ),
}



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


def add_static_path(app, config) -> None:
    """Serve ``site/`` (book.css, book.js) from the built site's ``_static``."""
    config.html_static_path = [*config.html_static_path, str(SITE_DIR)]


def build_note(mode: str) -> str:
    """HTML of the note that says which build this is (quick, full or mixed); '' if unknown."""
    text = BUILD_NOTES.get(mode)
    if text is None:
        return ""
    return f'<p class="build-note {html.escape(mode)}">{text}</p>'


def add_build_note_and_pdf_link(app, pagename, templatename, context, doctree) -> None:
    """The build note and the PDF link under the first page's title and in every footer."""
    mode = app.config.book_build_mode
    pdf = context["pathto"](PDF_NAME, 1) if "pathto" in context else PDF_NAME
    link = f'<a class="book-pdf-link" href="{html.escape(pdf)}">The whole book as one PDF</a>'
    note = build_note(mode)
    short = {"quick": "Quick build", "full": "Full build", "mixed": "Mixed build"}.get(mode)
    footer = context.get("theme_extra_footer") or ""
    context["theme_extra_footer"] = (
        footer + (f"<br>{short} · " if short else "<br>") + link.replace("book-pdf-link", "")
    )
    if pagename == app.config.root_doc and "body" in context:
        body = context["body"]
        cut = body.find("</h1>")
        cut = cut + len("</h1>") if cut >= 0 else 0
        context["body"] = body[:cut] + note + link + body[cut:]


class ProofTitle(SphinxTransform):
    """One title per proof: "*Proof of {prf:ref}`x`.*" right before a proof box replaces the
    box's own "Proof."; every proof box's title is set in italics (class ``proof-title``)."""

    default_priority = 500

    def apply(self, **kwargs) -> None:
        for box in list(self.document.findall(_is_proof_box)):
            first = next(iter(box.findall(nodes.paragraph)), None)
            if first is None or not first.children or not isinstance(first[0], nodes.Text):
                continue
            text = str(first[0])
            if not text.startswith("Proof. "):
                continue
            title = nodes.emphasis("", "Proof.", classes=["proof-title"])
            holder = box.parent  # sphinx-proof's proof_node around the admonition
            before = _previous_sibling(holder)
            if _is_proof_heading(before):
                title = nodes.emphasis("", "", *before[0].children, classes=["proof-title"])
                before.parent.remove(before)
            first[0] = nodes.Text(text[len("Proof. ") :])
            first.insert(0, nodes.Text(" "))
            first.insert(0, title)


def _is_proof_box(node) -> bool:
    return isinstance(node, nodes.admonition) and "proof" in node["classes"] and (
        node.parent is not None and type(node.parent).__name__ == "proof_node"
    )


def _previous_sibling(node):
    parent = node.parent
    if parent is None:
        return None
    index = parent.index(node)
    return parent[index - 1] if index > 0 else None


def _is_proof_heading(node) -> bool:
    """A paragraph that is one emphasis starting "Proof of"."""
    return (
        isinstance(node, nodes.paragraph)
        and len(node.children) == 1
        and isinstance(node[0], nodes.emphasis)
        and node[0].astext().startswith("Proof of ")
    )


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
    app.add_config_value("book_build_mode", "", "html", types=[str])
    app.add_js_file(None, body=DEFAULT_MODE_JS, priority=1)
    app.add_css_file("book.css", priority=900)
    app.add_js_file("book.js", loading_method="defer", priority=900)
    app.connect("config-inited", add_static_path)
    # After the themes' own html-page-context handlers (default priority 500).
    app.connect("html-page-context", dedup_scripts, priority=900)
    app.connect("html-page-context", add_build_note_and_pdf_link, priority=900)
    app.add_transform(ProofTitle)
    app.add_post_transform(ChapterLinkText)
    app.connect("doctree-resolved", add_folded_words)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
