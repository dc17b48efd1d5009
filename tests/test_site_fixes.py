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
    )
    meta = site_fixes.setup(app)
    assert ("js", None, {"body": site_fixes.DEFAULT_MODE_JS, "priority": 1}) in calls
    assert ("connect", "html-page-context", 900) in calls
    assert meta["parallel_read_safe"] is True
