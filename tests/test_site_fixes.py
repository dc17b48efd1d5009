"""The Sphinx extension that removes the JavaScript errors the browser check found."""

from types import SimpleNamespace

from book_toolchain import site_fixes


def js(filename, **attributes):
    return SimpleNamespace(filename=filename, attributes=attributes, priority=500)


def test_duplicate_inline_scripts_are_dropped_in_order():
    thebe = 'const THEBE_JS_URL = "x"'
    context = {
        "script_files": [
            js("_static/doctools.js"),
            js(None, body=thebe),
            js("_static/sphinx-thebe.js", **{"async": "async"}),
            js("", body=thebe),  # the second registration: a SyntaxError in the browser
            js("", body="let other = 1;"),
            js("_static/doctools.js"),
        ]
    }
    site_fixes.dedup_scripts(None, "intro", "page.html", context, None)
    kept = [(j.filename, j.attributes.get("body")) for j in context["script_files"]]
    assert kept == [
        ("_static/doctools.js", None),
        (None, thebe),
        ("_static/sphinx-thebe.js", None),
        ("", "let other = 1;"),
    ]


def test_setup_registers_the_theme_mode_default_first():
    calls = []
    app = SimpleNamespace(
        add_js_file=lambda filename, **kw: calls.append(("js", filename, kw)),
        connect=lambda event, handler, priority=500: calls.append(("connect", event, priority)),
        add_post_transform=lambda transform: calls.append(("post", transform)),
    )
    meta = site_fixes.setup(app)
    assert ("js", None, {"body": site_fixes.DEFAULT_MODE_JS, "priority": 1}) in calls
    assert ("connect", "html-page-context", 900) in calls
    assert ("post", site_fixes.ChapterLinkText) in calls
    assert meta["parallel_read_safe"] is True


def test_doc_links_without_text_read_chapter_numbers():
    from docutils import nodes
    from docutils.utils import new_document
    from sphinx import addnodes

    def xref(target, explicit=False, text="Long title"):
        node = addnodes.pending_xref("", nodes.inline(text, text), reftype="doc",
                                     refdoc="chapters/07_b", reftarget=target,
                                     refexplicit=explicit)
        return node

    document = new_document("test")
    links = [xref("06_a"), xref("06_a", explicit=True, text="chapter six"), xref("references")]
    document += nodes.paragraph("", "", *links)
    document.settings.env = SimpleNamespace(toc_secnumbers={"chapters/06_a": {"": (6,)}})
    site_fixes.ChapterLinkText(document).run()
    assert [link.astext() for link in links] == ["Chapter 6", "chapter six", "Long title"]
    assert links[0]["refexplicit"] is True


def test_search_finds_words_without_diacritics():
    from docutils import nodes
    from docutils.utils import new_document

    document = new_document("test")
    document += nodes.paragraph("", "By Grönwall's inequality (Hölder, “Müller”), 2 ≤ 3.")
    site_fixes.add_folded_words(None, document, "chapters/02")
    hidden = [n for n in document.findall(nodes.raw)]
    assert len(hidden) == 1 and hidden[0]["format"] == "html"
    assert hidden[0].astext() == "<span hidden>Gronwall Holder Muller</span>"
