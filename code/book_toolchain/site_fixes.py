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
   page, so it opened scrolled sideways; tables scroll inside the article instead.
"""

from __future__ import annotations

DEFAULT_MODE_JS = (
    'if (!document.documentElement.dataset.mode) document.documentElement.dataset.mode = "auto";'
)


TABLE_SCROLL_CSS = "<style>.bd-article table { display: block; max-width: 100%; overflow-x: auto; }</style>"


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


def scroll_wide_tables(app, pagename, templatename, context, doctree) -> None:
    context["metatags"] = context.get("metatags", "") + TABLE_SCROLL_CSS


def setup(app):
    app.add_js_file(None, body=DEFAULT_MODE_JS, priority=1)
    # After the themes' own html-page-context handlers (default priority 500).
    app.connect("html-page-context", dedup_scripts, priority=900)
    app.connect("html-page-context", scroll_wide_tables)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
