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
        add_css_file=lambda filename, **kw: calls.append(("css", filename, kw)),
        add_config_value=lambda name, default, rebuild, **kw: calls.append(("config", name)),
        connect=lambda event, handler, priority=500: calls.append(("connect", event, priority)),
        add_transform=lambda transform: calls.append(("transform", transform)),
        add_post_transform=lambda transform: calls.append(("post", transform)),
    )
    meta = site_fixes.setup(app)
    assert ("js", None, {"body": site_fixes.DEFAULT_MODE_JS, "priority": 1}) in calls
    # The page script is deferred: it runs before pydata-sphinx-theme's (end of <body>).
    assert ("js", "book.js", {"loading_method": "defer", "priority": 900}) in calls
    assert ("css", "book.css", {"priority": 900}) in calls
    assert ("connect", "html-page-context", 900) in calls
    assert ("config", "book_build_mode") in calls
    assert ("transform", site_fixes.ProofTitle) in calls
    assert ("post", site_fixes.ChapterLinkText) in calls
    assert meta["parallel_read_safe"] is True


def test_the_page_script_removes_the_hidden_copies_of_the_sidebar_toggles():
    """pydata-sphinx-theme wires the first .primary-toggle of the page; sphinx-book-theme's
    visible one comes after the hidden top bar's copy (the dead navigation of issue 22)."""
    js = (site_fixes.SITE_DIR / "book.js").read_text(encoding="utf-8")
    assert "#pst-header .primary-toggle, #pst-header .secondary-toggle" in js
    assert (site_fixes.SITE_DIR / "book.css").is_file()


def _proof_document(before: str | None):
    from docutils import nodes
    from docutils.utils import new_document

    class proof_node(nodes.General, nodes.Element):
        pass

    document = new_document("test")
    section = nodes.section()
    document += section
    if before is not None:
        section += nodes.paragraph("", "", nodes.emphasis(before, before))
    box = nodes.admonition(classes=["proof", "proof"])
    box += nodes.paragraph("", "", nodes.Text("Proof. Fix x."), nodes.emphasis("1.", "1."))
    holder = proof_node()
    holder += box
    section += holder
    return document, section, box


def test_a_proof_named_in_the_paragraph_before_it_gets_one_title():
    document, section, box = _proof_document("Proof of Theorem 6.1.")
    site_fixes.ProofTitle(document).apply()
    assert len(section.children) == 1  # the paragraph moved into the box
    assert box[0].astext() == "Proof of Theorem 6.1. Fix x.1."
    assert "proof-title" in box[0][0]["classes"]


def test_a_plain_proof_keeps_its_title_in_italics():
    for before in (None, "A remark, not a proof title."):
        document, section, box = _proof_document(before)
        site_fixes.ProofTitle(document).apply()
        assert box[0].astext() == "Proof. Fix x.1."
        assert box[0][0]["classes"] == ["proof-title"]
        assert len(section.children) == (1 if before is None else 2)


def test_build_note_and_pdf_link_on_the_first_page_and_in_every_footer():
    app = SimpleNamespace(config=SimpleNamespace(book_build_mode="quick", root_doc="intro"))
    context = {"body": "<section><h1>Intro</h1><p>x</p></section>",
               "pathto": lambda name, resource: f"../{name}", "theme_extra_footer": "Credit."}
    site_fixes.add_build_note_and_pdf_link(app, "intro", "page.html", context, None)
    assert context["body"].startswith("<section><h1>Intro</h1><p class=\"build-note quick\">")
    assert "quick build" in context["body"] and 'href="../book.pdf"' in context["body"]
    assert context["theme_extra_footer"].startswith("Credit.<br>Quick build · ")
    other = {"body": "<h1>Ch</h1>", "pathto": lambda n, r: n, "theme_extra_footer": ""}
    site_fixes.add_build_note_and_pdf_link(app, "chapters/x", "page.html", other, None)
    assert other["body"] == "<h1>Ch</h1>" and "book.pdf" in other["theme_extra_footer"]
    assert site_fixes.build_note("") == "" and "full build" in site_fixes.build_note("full")


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
