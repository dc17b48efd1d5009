"""The website in a real browser: Debian's headless Chromium under Playwright, network off
(book_toolchain.sitecheck).

``test_built_site`` checks the book built into ``_build/html`` (the Makefile builds it before
the test), with the allow-list ``sitecheck_pending.txt`` of chapters whose presentation pass is
still pending; the other browser tests run the checker on tiny hand-made sites under
``tests/fixtures/site_*``: ``site_ok``, ``site_math`` and ``site_nav_ok`` pass every check,
every other one has exactly one defect, which must be caught (and nothing else).

Without ``/usr/bin/chromium`` the browser tests are skipped, loudly. Set
``BOOK_REQUIRE_SITE=1`` to make a missing ``_build/html`` a failure, not a skip.
"""

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from book_toolchain import sitecheck, sitecheck_nav
from fixture_sites import with_mathjax, with_tippy

REPO = Path(__file__).resolve().parents[1]
PENDING = REPO / "sitecheck_pending.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SITE = REPO / "_build" / "html"
CHROMIUM = os.environ.get("BOOK_CHROMIUM", sitecheck.DEFAULT_CHROMIUM)
SKIP_MESSAGE = (
    f"browser tests skipped: {CHROMIUM} not found; install Debian's chromium "
    "(apt-get install -y chromium)"
)


def _skip_loudly(message: str) -> None:
    print(f"\n*** {message} ***", file=sys.stderr, flush=True)
    warnings.warn(message, UserWarning, stacklevel=2)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _skip_loudly(SKIP_MESSAGE)
    with sitecheck.Browser(CHROMIUM) as b:
        yield b


def check(site: Path, browser, **kwargs) -> sitecheck.Report:
    report = sitecheck.check_site(site, browser=browser, **kwargs)
    print(report.summary())
    return report


def failures_matching(report: sitecheck.Report, *fragments: str) -> list[str]:
    return [f for f in report.failures if all(x in f for x in fragments)]


def only(report: sitecheck.Report, check: str) -> list[str]:
    """The failures, asserting that they all belong to ``check``."""
    others = {k: v for k, v in report.failed.items() if v and k != check}
    assert not others, report.failures
    assert report.failed[check] == len(report.failures) > 0, report.failures
    return report.failures


# ------------------------------------------------------------------ the built book


def test_built_site(browser):
    if not (SITE / "index.html").is_file():
        message = f"browser check of the book skipped: {SITE} not built (run `make book`)"
        if os.environ.get("BOOK_REQUIRE_SITE") == "1":
            pytest.fail(message.replace("skipped", "impossible"))
        _skip_loudly(message)
    # The whole book as one PDF, linked from every page (make pdf): printed again when the
    # site is newer; its text has no raw TeX or $ and its page count is its parts'.
    from book_toolchain import pdf

    book = SITE / pdf.PDF_NAME
    if not book.is_file() or book.stat().st_mtime < (SITE / "index.html").stat().st_mtime:
        print(f"printing {book} for the check", flush=True)
        pdf.build_pdf(SITE, browser=browser)
    assert pdf.check_pdf(book) == []
    manifest = json.loads(book.with_name(book.name + ".json").read_text())
    chapters = [p for p in (REPO / "chapters").glob("[0-9][0-9]_*.md")]
    assert len(manifest["parts"]) >= len(chapters), manifest["parts"]
    report = check(
        SITE, browser, claims_dir=SITE.parent / "claims", screenshot_dir=SITE.parent / "screenshots",
        pending=PENDING,
    )
    assert report.pages, "no page was checked"
    assert report.ok, "\n".join(report.failures)
    assert len(report.screenshots) == 2 * len(report.pages), report.notices  # 1440 and 390 px
    for path in report.screenshots:
        assert path.stat().st_size > 1000, path
    assert all(n == 0 for n in report.failed.values())  # 0 in every class


# ------------------------------------------------------------------ fixtures: clean sites


def test_clean_fixture_site_passes(browser, tmp_path):
    report = check(FIXTURES / "site_ok", browser, screenshot_dir=tmp_path)
    assert report.ok, report.failures
    assert sorted(report.pages) == ["index.html", "sub/index.html", "sub/page.html"]
    counts = report.counts
    # The figure's PNG says 200 dpi (pHYs): at the default 100 dpi its font would be 6.9 px.
    assert counts["images"] == 2 and counts["figure_zoom"] == 1
    # index: #sec-2, #top, sub/; sub/page: ../index.html#thm-a; sub/index: page.html
    assert counts["links"] == 5 and report.external_links == 1
    assert counts["theorems"] == 2  # the numbered theorem and the :nonumber: remark
    assert counts["math"] == 0 and counts["pipe_tables"] == 1 and counts["stderr"] == 1
    assert counts["page_scroll"] == 6  # 3 pages at 1440 and at 390 px
    assert counts["navigation"] == 0  # no theme sidebar: nothing to click
    names = sorted(p.name for p in report.screenshots)  # every page, at 1440 and 390 px
    assert names == sorted(f"{stem}_{w}.png" for stem in ("index", "sub-index", "sub-page")
                           for w in (1440, 390))


def test_typeset_math_with_local_mathjax_passes(browser, tmp_path):
    report = check(with_mathjax("site_math", tmp_path), browser)
    assert report.ok, report.failures
    assert report.counts["math"] == 3 and report.counts["raw_tex"] > 0
    # The long display fits at 1440 px and scrolls inside its own div.math at 390 px, whose
    # edge fades (the scroll cue).
    assert report.counts["display_1440"] == 2 and report.counts["display_390"] == 2
    assert report.counts["scroll_cue"] == 2
    assert any("1 of 2 displays scroll inside their own container" in n for n in report.notices)


def test_report_rows_match_the_claims(browser, tmp_path):
    report = check(FIXTURES / "site_report" / "html", browser, screenshot_dir=tmp_path)
    assert report.ok, report.failures
    assert report.claims == 2 and report.counts["report_rows"] == 2
    names = ["report_1440.png", "report_390.png", "theorems_1440.png", "theorems_390.png"]
    assert sorted(p.name for p in report.screenshots) == names
    for name in names:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ fixtures: each defect caught


def test_broken_links_are_caught(browser):
    report = check(FIXTURES / "site_broken_link", browser)
    assert failures_matching(report, "missing.html", "target file does not exist")
    assert failures_matching(report, "#no-such-anchor not found in other.html")
    assert not failures_matching(report, "thm-ok")  # the good {prf:ref}-style link passes
    assert len(report.failures) == 2, report.failures


def test_failed_image_is_caught(browser):
    report = check(FIXTURES / "site_broken_image", browser)
    assert failures_matching(report, "image did not load", "figures/missing.png")
    assert not failures_matching(report, "ok.svg")
    assert report.counts["images"] == 2 and report.failed["images"] == 1


def test_raw_tex_is_caught(browser):
    report = check(FIXTURES / "site_raw_math", browser)
    assert failures_matching(report, "raw TeX", r"$\Phi_t(x)$")
    assert failures_matching(report, "raw TeX", r"\(")
    assert failures_matching(report, "not typeset by MathJax")


def test_tex_beside_typeset_math_is_caught(browser, tmp_path):
    """Issue 14: a list item lost its `$`; the page showed \\tfrac next to typeset math."""
    report = check(with_mathjax("site_tex_in_text", tmp_path), browser)
    assert report.counts["math"] == 1 and not report.failed["math"]
    assert failures_matching(report, "raw TeX", r"\tfrac")
    assert len(report.failures) == 1, report.failures


def test_pipe_table_text_is_caught(browser):
    report = check(FIXTURES / "site_pipe_table", browser)
    assert failures_matching(report, "pipe-table text", "| h | error | bound |")
    assert report.counts["pipe_tables"] == 2 and len(report.failures) == 1, report.failures


def test_stderr_box_is_caught(browser):
    report = check(FIXTURES / "site_stderr", browser)
    assert failures_matching(report, "1 stderr output box", "training: 40%")
    assert len(report.failures) == 1, report.failures


def test_machine_path_is_caught(browser):
    report = check(FIXTURES / "site_machine_path", browser)
    assert failures_matching(report, "machine path", "/work/main/.venv/lib/python3.11")
    assert len(report.failures) == 1, report.failures


def test_display_wider_than_the_column_is_caught(browser, tmp_path):
    report = check(with_mathjax("site_wide_display", tmp_path), browser)
    assert failures_matching(report, "display equation", "#equation-wide", "at 1440 px")
    assert len(report.failures) == 1, report.failures  # scrolling at 390 px is allowed


def test_display_breaking_the_phone_layout_is_caught(browser, tmp_path):
    report = check(with_mathjax("site_phone_overflow", tmp_path), browser)
    assert failures_matching(report, "#equation-spill", "at 390 px")
    assert failures_matching(report, "#equation-cut", "at 390 px", "clips it")
    assert failures_matching(report, "page scrolls sideways at 390 px")
    assert report.failed["display_1440"] == 0 and len(report.failures) == 3, report.failures


def test_figure_shown_too_small_is_caught(browser):
    report = check(FIXTURES / "site_small_figure", browser)
    assert failures_matching(
        report, "figure font 7.3 px", "1500 px wide at 100 dpi shown at 790 px"
    )
    assert len(report.failures) == 1, report.failures


def test_remote_requests_are_blocked_and_caught(browser):
    report = check(FIXTURES / "site_remote_script", browser)
    cdn = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"
    assert failures_matching(report, "non-local address", cdn)
    assert failures_matching(report, "non-local address", "fonts.googleapis.com")


def test_javascript_errors_are_caught(browser):
    report = check(FIXTURES / "site_js_error", browser)
    assert failures_matching(report, "JavaScript error", "SHARED")
    assert failures_matching(report, "JavaScript error", "something broke")


def test_theorem_without_number_is_caught(browser):
    report = check(FIXTURES / "site_unnumbered_theorem", browser)
    assert failures_matching(report, "thm-lost", "has no number")


def test_report_missing_a_claim_is_caught(browser, tmp_path):
    shutil.copytree(FIXTURES / "site_report", tmp_path / "site")
    claim = {
        "label": "thm-extra",
        "quantity": "q",
        "measured": 1.0,
        "bound": 2.0,
        "ratio": 0.5,
        "holds": True,
        "context": {},
    }
    extra = {"chapter": "02_extra", "claims": [claim]}
    (tmp_path / "site" / "claims" / "02_extra.json").write_text(json.dumps(extra))
    report = check(tmp_path / "site" / "html", browser)
    assert failures_matching(report, "2 claim row(s) but 3 claim(s)")
    assert failures_matching(report, "'thm-extra' recorded but 0 row(s)")


def test_report_row_not_holding_is_caught(browser, tmp_path):
    shutil.copytree(FIXTURES / "site_report", tmp_path / "site")
    page = tmp_path / "site" / "html" / "report.html"
    text = page.read_text()
    page.write_text(text.replace("<td>0.1</td><td>yes</td>", "<td>0.1</td><td><b>NO</b></td>"))
    report = check(tmp_path / "site" / "html", browser)
    assert failures_matching(report, "not marked as holding", "Euler error")


def test_command_line_exit_status(tmp_path):
    if not os.path.isfile(CHROMIUM):
        _skip_loudly(SKIP_MESSAGE)

    def run(*args):  # its own process: one Playwright per thread
        cmd = [sys.executable, "-m", "book_toolchain.sitecheck", *args]
        return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)

    args = ["--chromium", CHROMIUM, "--no-screenshots"]
    ok = run(str(FIXTURES / "site_ok"), *args, "--json", str(tmp_path / "r.json"))
    assert ok.returncode == 0 and "OK: all checks passed" in ok.stdout, ok.stdout + ok.stderr
    assert json.loads((tmp_path / "r.json").read_text())["counts"]["links"] == 5
    bad = run(str(FIXTURES / "site_broken_link"), *args)
    assert (
        bad.returncode == 1
        and "FAILED: 2 failure(s)" in bad.stdout
        and "missing.html" in bad.stdout
    )
    assert run(str(tmp_path / "nowhere")).returncode == 2


def test_report_rows_are_counted_by_their_statement_link_not_by_labels_in_the_text():
    """Defect: a claim of thm-b whose quantity mentions lem-a was counted as a row of lem-a."""
    from book_toolchain.sitecheck_report import check_report_tables

    claims = [{"label": "lem-a", "holds": True}, {"label": "thm-b", "holds": True}]
    table = {
        "headers": ["Statement", "Quantity", "Measured", "Bound", "Holds"],
        "rows": [
            {"cells": ["Lemma 1", "x", "1", "2", "yes"], "anchors": ["page.html#lem-a"]},
            {"cells": ["Theorem 2", "error / bound of lem-a", "1", "2", "yes"],
             "anchors": ["page.html#thm-b"]},
        ],
    }
    rows, failures = check_report_tables([table], claims)
    assert rows == 2 and failures == []
    table["rows"][1]["anchors"] = ["page.html#lem-a"]  # the row links the wrong statement
    assert any("thm-b" in f for f in check_report_tables([table], claims)[1])


# ------------------------------------------------------------------ the reader's classes (issue 22)


def test_working_navigation_passes(browser):
    report = check(FIXTURES / "site_nav_ok", browser)
    assert report.ok, report.failures
    # 390 px: primary, secondary; 900 px: primary, secondary; 1440 px: hide and show.
    assert report.counts["navigation"] == 5


def test_dead_navigation_toggle_is_caught(browser, tmp_path, monkeypatch):
    """site_nav_ok without its script: the toggles show their tooltip and nothing else."""
    # every dead toggle waits out the settling time; 1 s is ample for a toggle that never acts
    monkeypatch.setattr(sitecheck_nav, "SETTLE_MS", 1000)
    site = tmp_path / "site_dead_nav"
    shutil.copytree(FIXTURES / "site_nav_ok", site)
    page = site / "index.html"
    page.write_text(page.read_text().replace('<script src="nav.js"></script>', ""))
    failures = only(check(site, browser), "navigation")
    assert any("at 390 px: clicking the primary sidebar toggle did not show" in f for f in failures)
    assert any("at 900 px: clicking the secondary sidebar toggle" in f for f in failures)
    assert any("at 1440 px: clicking the primary sidebar toggle did not hide" in f for f in failures)


def test_hidden_table_column_at_1440_is_caught(browser):
    failures = only(check(FIXTURES / "site_hidden_column", browser), "table_columns")
    assert len(failures) == 1 and "measured / certified | build + eval (s)" in failures[0]


def test_python_repr_in_an_output_is_caught(browser):
    report = check(FIXTURES / "site_repr_output", browser)
    failures = only(report, "repr_output")
    assert len(failures) == 1 and "a printed dict" in failures[0] and "'label'" in failures[0]
    assert report.counts["repr_output"] == 2  # the sentence printed next to it passes


def test_visible_code_over_15_percent_is_caught(browser):
    report = check(FIXTURES / "site_code_share", browser)
    failures = only(report, "code_share")
    assert "of the page's height (at most 15%)" in failures[0]
    assert report.code_share["index.html"] > 0.15


def test_backticked_identifier_in_a_caption_is_caught(browser):
    failures = only(check(FIXTURES / "site_caption_code", browser), "caption_code")
    assert len(failures) == 1 and '"n_blocks"' in failures[0]


def test_display_scrolling_without_a_cue_is_caught(browser, tmp_path):
    failures = only(check(with_mathjax("site_no_scroll_cue", tmp_path), browser), "scroll_cue")
    assert len(failures) == 1 and "scrolls sideways at 390 px" in failures[0]


def test_low_contrast_hover_title_is_caught(browser, tmp_path):
    report = check(with_tippy("site_hover_contrast", tmp_path), browser)
    failures = only(report, "hover_contrast")
    assert report.counts["hover_contrast"] == 2  # the preview in the page's colours passes
    assert len(failures) == 1 and "Lemma 2.1 again" in failures[0]
    assert "Lemma 2.1 (Grönwall)" in failures[0]


def test_duplicated_heading_number_is_caught(browser):
    failures = only(check(FIXTURES / "site_heading_number", browser), "heading_number")
    assert len(failures) == 1 and "5.2.1. 1. The bound is sharp" in failures[0]


def test_number_broken_across_lines_is_caught(browser):
    failures = only(check(FIXTURES / "site_number_wrap", browser), "number_wrap")
    assert len(failures) == 2 and all("5.93 × 10⁴" in f for f in failures)
    assert "at 1440 px" in failures[0] and "at 390 px" in failures[1]


def test_table_without_a_numbered_caption_is_caught(browser):
    report = check(FIXTURES / "site_table_caption", browser)
    failures = only(report, "table_caption")
    assert report.counts["table_caption"] == 2 and len(failures) == 1 and "bound" in failures[0]


def test_proof_titled_twice_is_caught(browser):
    report = check(FIXTURES / "site_proof_title", browser)
    failures = only(report, "proof_title")
    assert report.counts["proof_title"] == 2 and len(failures) == 1
    assert "Proof of Theorem 6.1." in failures[0]


def test_e_notation_in_prose_is_caught(browser):
    failures = only(check(FIXTURES / "site_raw_number", browser), "raw_number")
    assert len(failures) == 1 and "1.28e-03 | 1.000000000000" in failures[0]


def test_allow_list_defers_a_pending_chapter_and_fails_when_stale(browser, tmp_path):
    allow = tmp_path / "pending.txt"
    allow.write_text("# page  check\nindex code_share  # ch pending its pass\n")
    report = check(FIXTURES / "site_code_share", browser, pending=allow)
    assert report.ok and report.deferred["code_share"] == 1, report.failures
    allow.write_text("index code_share\nindex repr_output\n")  # repr_output: nothing to defer
    report = check(FIXTURES / "site_code_share", browser, pending=allow)
    stale = "allow-list entry 'index repr_output' is stale: the page passes repr_output now"
    assert only(report, "pending") == [f"{stale}; remove the line"]
    allow.write_text("index navigation\n")  # the site's own checks are never deferred
    with pytest.raises(ValueError, match="pending.txt:1: expected '<page> <check>'"):
        check(FIXTURES / "site_code_share", browser, pending=allow)


def test_committed_allow_list_names_real_chapters_and_checks():
    from book_toolchain.sitecheck_report import read_pending

    chapters = {p.stem for p in (REPO / "chapters").glob("*.md")}
    for page, _check in read_pending(PENDING):
        assert page in chapters, page


def test_inline_formula_cut_at_390_is_caught(browser, tmp_path):
    """pydata-sphinx-theme's span.math clips (overflow hidden) a formula wider than the column."""
    site = with_mathjax("site_inline_math", tmp_path)
    report = check(site, browser)
    failures = only(report, "inline_math_390")
    assert report.counts["inline_math_390"] == 2  # the short formula passes
    assert len(failures) == 1 and "at 390 px" in failures[0] and "cut by a" in failures[0]
    assert "|x_0| + \\\\int_0^t" in failures[0] and "<span.math>" in failures[0]
    page = site / "index.html"
    text = page.read_text()
    # scrolling inside its own box is allowed with a cue (a fading edge), not without one
    page.write_text(text.replace("overflow: hidden;", "overflow-x: auto; overflow-y: hidden;"))
    failures = only(check(site, browser), "inline_math_390")
    assert len(failures) == 1 and "scrolls inside a <span.math> without a cue" in failures[0]
    fade = "mask-image: linear-gradient(to right, #000 85%, transparent);"
    page.write_text(text.replace("overflow: hidden;", f"overflow-x: auto; overflow-y: hidden; {fade}"))
    assert check(site, browser).ok


def test_figure_too_small_on_a_phone_without_full_size_is_caught(browser, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "site_phone_figure", site)
    report = check(site, browser)
    failures = only(report, "figure_390")
    assert report.counts["figure_zoom"] == 2 and report.counts["figure_390"] == 2
    assert len(failures) == 1 and "figure font 6.2 px < 9 px" in failures[0]
    assert "no link to the image at full size" in failures[0]
    page = site / "index.html"
    page.write_text(page.read_text().replace('content: "full size \\2197";', ""))  # no cue
    failures = only(check(site, browser), "figure_390")
    assert len(failures) == 2 and "its link to full size shows no cue" in failures[0]


def test_the_sites_own_styles_and_script_pass_the_phone_checks(browser, tmp_path):
    """book.css and book.js on the two defects above: the formula scrolls in its span.math and
    fades at its edge; the bare figure gets a link to its file and the 'full size' label."""
    from book_toolchain.site_fixes import SITE_DIR

    tags = '<link rel="stylesheet" href="book.css"><script defer src="book.js"></script></head>'
    math = with_mathjax("site_inline_math", tmp_path)
    figure = tmp_path / "site_phone_figure"
    shutil.copytree(FIXTURES / "site_phone_figure", figure)
    page = figure / "index.html"  # its own label for the linked figure off: book.css's counts
    page.write_text(page.read_text().replace('content: "full size \\2197";', ""))
    for site in (math, figure):
        for name in ("book.css", "book.js"):
            shutil.copyfile(SITE_DIR / name, site / name)
        page = site / "index.html"
        page.write_text(page.read_text().replace("</head>", tags))
        report = check(site, browser)
        assert report.ok, report.failures
    assert report.counts["figure_390"] == 2
