"""The website in a real browser: headless Debian Chromium, network off (book_toolchain.sitecheck).

``test_built_site`` checks the book built into ``_build/html`` (the Makefile builds it before
the tests); the other tests run the checker on tiny hand-made sites under
``tests/fixtures/site_*``, each with one defect that must be caught, and need no book build.

Without ``/usr/bin/chromium`` every test here is skipped, loudly. Set
``BOOK_REQUIRE_SITE=1`` to make a missing ``_build/html`` a failure, not a skip.
"""

import json
import os
import shutil
import sys
import warnings
from pathlib import Path

import pytest

from book_toolchain import sitecheck

REPO = Path(__file__).resolve().parents[1]
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


# ------------------------------------------------------------------ the built book


def test_built_site(browser):
    if not (SITE / "index.html").is_file():
        message = f"browser check of the book skipped: {SITE} not built (run `make book`)"
        if os.environ.get("BOOK_REQUIRE_SITE") == "1":
            pytest.fail(message.replace("skipped", "impossible"))
        _skip_loudly(message)
    report = check(
        SITE,
        browser,
        claims_dir=SITE.parent / "claims",
        screenshot_dir=SITE.parent / "screenshots",
    )
    assert report.pages, "no page was checked"
    assert report.ok, "\n".join(report.failures)
    for path in report.screenshots:
        assert path.stat().st_size > 1000, path


# ------------------------------------------------------------------ fixtures: clean sites


def test_clean_fixture_site_passes(browser, tmp_path):
    report = check(FIXTURES / "site_ok", browser, screenshot_dir=tmp_path)
    assert report.ok, report.failures
    assert sorted(report.pages) == ["index.html", "sub/index.html", "sub/page.html"]
    assert report.images == 1
    # index: #sec-2, #top, sub/; sub/page: ../index.html#thm-a; sub/index: page.html
    assert report.internal_links == 5 and report.external_links == 1
    assert report.theorem_boxes == 2  # the numbered theorem and the :nonumber: remark
    assert report.math_elements == 0
    assert [p.name for p in report.screenshots] == []  # no introduction, chapter 6, report
    assert any("no page for" in n or "skipped" in n for n in report.notices)


def test_typeset_math_with_local_mathjax_passes(browser, tmp_path):
    mathjax = pytest.importorskip("mathjax", reason="django-static-mathjax is not installed")
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "site_math", site)
    target = site / "_static" / "mathjax"
    target.mkdir(parents=True)
    shutil.copyfile(es5 / "tex-chtml.js", target / "tex-chtml.js")
    for part in ("input", "output", "adaptors", "a11y", "ui", "sre"):
        if (es5 / part).is_dir():
            shutil.copytree(es5 / part, target / part)
    report = check(site, browser)
    assert report.ok, report.failures
    assert report.math_sources == 2 and report.math_elements == 2


def test_report_rows_match_the_claims(browser, tmp_path):
    report = check(FIXTURES / "site_report" / "html", browser, screenshot_dir=tmp_path)
    assert report.ok, report.failures
    assert report.claims == 2 and report.report_rows == 2
    assert [p.name for p in report.screenshots] == ["reproduction_report.png"]
    assert (tmp_path / "reproduction_report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
    assert report.images == 1


def test_raw_tex_is_caught(browser):
    report = check(FIXTURES / "site_raw_math", browser)
    assert failures_matching(report, "raw TeX", r"$\Phi_t(x)$")
    assert failures_matching(report, "raw TeX", r"\(")
    assert failures_matching(report, "not typeset by MathJax")


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
    extra = {
        "chapter": "02_extra",
        "claims": [
            {
                "label": "thm-extra",
                "quantity": "q",
                "measured": 1.0,
                "bound": 2.0,
                "ratio": 0.5,
                "holds": True,
                "context": {},
            }
        ],
    }
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


def test_command_line_exit_status(tmp_path, capsys):
    if not os.path.isfile(CHROMIUM):
        _skip_loudly(SKIP_MESSAGE)
    args = ["--chromium", CHROMIUM, "--no-screenshots"]
    assert sitecheck.main([str(FIXTURES / "site_ok"), *args]) == 0
    assert "OK: all checks passed" in capsys.readouterr().out
    assert sitecheck.main([str(FIXTURES / "site_broken_link"), *args]) == 1
    out = capsys.readouterr().out
    assert "FAILED: 2 failure(s)" in out and "missing.html" in out
    assert sitecheck.main([str(tmp_path / "nowhere")]) == 2
