"""Check a built HTML site in a real browser: Debian's headless Chromium under Playwright.

Usage: ``python -m book_toolchain.sitecheck _build/html [--claims DIR] [--screenshots DIR]
[--no-screenshots] [--pending FILE] [--chromium /usr/bin/chromium] [--json FILE]``; exit
status 0 when all passed, 1 with the list of failures, 2 on usage errors.

A thread serves the site on 127.0.0.1; Playwright (pinned on PyPI; it never downloads a
browser here) drives ``/usr/bin/chromium``, and a route handler aborts and reports every
request to another host. The in-page half is ``sitecheck.js`` (figures and inline formulas:
``sitecheck_phone.js``). Each page is loaded at
1440 x 900 CSS px, closed ``<details>`` are opened, then it is re-measured at 390 x 844 (a
plain narrow viewport), and its sidebar toggles are clicked at 390, 900 and 1440 px. The
summary prints each check with the number of elements checked:

pages        no JS error (console error, uncaught exception), HTTP error, failed or
             non-local request, nor a reference to a non-local resource.
math         every ``.math`` holds a MathJax ``mjx-container``; no MathJax error.
raw_tex      visible text outside code, ``pre`` and MathJax output has no TeX control word
             (``\\tfrac``, ``\\sum``), no ``\\(``/``\\[``, no ``$...$``/``$$...$$`` pair, no
             ``$`` glued to TeX (``$\\bar``, ``}$``).
paths        visible text (code included) has no ``/root/ /home/ /work/ /tmp/ /Users/``
             path, ``.venv/`` or ``site-packages``.
images       every ``img`` loaded.
figure_zoom  each ``figure``/output-cell ``img`` shows matplotlib's default 10 pt font at
             >= 9 CSS px at 1440 px: 10 * dpi / 72 * shown / natural width >= 9, with dpi
             from the PNG's pHYs chunk (matplotlib writes it), else 100 (matplotlib's
             figure.dpi, the book's inline default); so scale >= 0.648 at 100 dpi.
figure_390   at 390 px a figure whose font shows below 9 px opens full size on a tap: it is
             a link to an image file (the same file: its font >= 9 px at natural size) and
             the link shows a cue (text in ``::after``/``::before``, or a ``.zoom-hint``).
inline_math_390 at 390 px an inline formula (``mjx-container`` not a display) lies inside
             the column, or scrolls inside a box of its own (overflow-x auto or scroll)
             with a cue (``mask-image`` or a ``.scroll-hint`` after it); a box that clips
             it (overflow hidden), the article or the viewport cutting it fails.
links        each internal link's file exists and so does its ``#anchor``; ``xrefs``: no
             Sphinx ``.xref`` outside a link; ``theorems``: sphinx-proof boxes carry their
             number ("Theorem 3.1"), ``:nonumber:`` ones exempt.
pipe_tables  no ``.cell_output``/``.output`` shows Markdown table source: a delimiter row
             (``|---|``, or ``|—|`` after smartquotes) or two ``| a | b |`` lines in a row.
stderr       no ``.output.stderr``/``.stderr`` box at all.
display_1440 for each display (``div.math``, or a MathJax display outside one) the typeset
             formula's box (``mjx-math``) lies, within 1 px, inside the client box of every
             element from the display up to the article (``article.bd-article``), and the
             display does not scroll (scrollWidth <= clientWidth + 1).
display_390  a display may scroll inside its own scroll container (computed overflow-x auto
             or scroll; from the innermost one on, its border box stands for the formula),
             but must not exceed an element that clips (overflow-x hidden/clip), the article
             or the viewport.
page_scroll  ``document.scrollingElement.scrollWidth <= innerWidth`` at 1440 and 390 px.
report_rows  the "Reproduction report" page has one row per ledger claim
             (``claims.all_claims``) in tables with 'measured' and 'bound' columns, naming
             its label and marked as holding.
search       Sphinx's search finds a word of a page title.
navigation   the sidebar toggles open and close the tables of contents at 390, 900 and
             1440 px (:mod:`book_toolchain.sitecheck_nav`).
table_columns at 1440 px no table is wider than the box it scrolls in (no column hidden).
scroll_cue   at 390 px a table or display that scrolls sideways shows a cue: a fading edge
             (``mask-image``) or a visible ``.scroll-hint`` after it.
number_wrap  a table cell, ``.pasted-text`` or ``.num`` whose text is a number takes one line.
repr_output  no output cell shows a dict, list, tuple, array or tensor repr, an object repr or
             a float with 8+ decimals.
code_share   at 1440 px, before any "show code" toggle is opened, visible code cells take at
             most 15% of the article's height (each page's share is in the summary).
caption_code no ``<code>`` in a figure or table caption.
table_caption on a numbered page (h1 "3. ...") every table has a numbered caption.
raw_number   visible prose and tables have no e-notation and no float with 9+ decimals.
heading_number no heading starts with a number after its section number ("5.2.1. 1. ...").
proof_title  no proof box titled twice ("Proof of Theorem 6.1." then "Proof.").
hover_contrast the hover previews (sphinx-tippy) of up to three references per page: every
             text in them has a WCAG contrast of at least 4.5 against what is behind it.
pending      each allow-list entry still catches something (a stale entry fails).

The allow-list (``--pending FILE``: lines ``<page stem> <check>``) defers a content check on a
chapter whose presentation pass is still to come; what it catches is counted as pending, not
failed. Screenshots of every page at 1440 and 390 px (the top 3000 px, as a reader first sees
it: "show code" toggles closed) are saved as ``<page>_<width>.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import os
import re
import sys
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit

from .claims import all_claims
from .sitecheck_nav import check_navigation, take_screenshot
from .sitecheck_report import Report, check_report_tables, read_pending, static_ids

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
CHROMIUM_FLAGS += ["--disable-background-networking", "--disable-component-update"]
CHROMIUM_FLAGS += ["--disable-sync"]
# Belt and braces: should a request escape the route handler, no name but loopback resolves.
CHROMIUM_FLAGS += ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost"]
WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
LOCAL_SCHEMES = {"data", "blob", "about", "file", "chrome", "devtools"}
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", "_panels_static"}
JS_PHONE = "sitecheck_phone.js"  # figures and inline formulas, after sitecheck.js
PER_PAGE = 5  # failures listed per page and check; the rest are counted
_META_REFRESH = re.compile(
    r"""<meta\s+http-equiv=["']?refresh["']?\s+content=["']\s*\d+\s*;\s*url=([^"']+)["']""",
    re.IGNORECASE,
)


class SiteCheckError(RuntimeError):
    """The browser could not be started or driven."""


class Browser:
    """Debian's Chromium launched by Playwright; a context manager. Never downloads a browser."""

    def __init__(self, executable: str = DEFAULT_CHROMIUM, timeout: float = 30.0):
        if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
            raise SiteCheckError(f"{executable} not found or not executable")
        os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        from playwright.sync_api import Error, sync_playwright

        self.timeout = timeout
        self._pw = sync_playwright().start()
        try:
            self.browser = self._pw.chromium.launch(
                executable_path=executable, args=CHROMIUM_FLAGS, timeout=timeout * 1000
            )
        except Error as exc:
            self._pw.stop()
            raise SiteCheckError(f"could not launch {executable}: {exc}") from None
        self.version = self.browser.version

    def close(self) -> None:
        try:
            self.browser.close()
        finally:
            self._pw.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class SiteServer:
    """Serve ``root`` on 127.0.0.1 on a free port, in a daemon thread."""

    def __init__(self, root: Path):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def is_local_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES or not parts.scheme:
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") in LOCAL_HOSTS


def find_pages(site: Path) -> list[Path]:
    return [
        p for p in sorted(site.rglob("*.html")) if p.relative_to(site).parts[0] not in SKIP_DIRS
    ]


class SiteChecker:
    def __init__(
        self, site: Path, browser: Browser, claims_dir=None, screenshot_dir=None, pending=()
    ):
        self.site = Path(site).resolve()
        self.browser = browser
        self.claims_dir = claims_dir
        self.screenshot_dir = screenshot_dir
        self.report = Report(site=self.site, allowed=set(pending))
        self.timeout_ms = browser.timeout * 1000
        here = resources.files("book_toolchain")
        self.js = [here.joinpath(f).read_text("utf-8") for f in ("sitecheck.js", JS_PHONE)]
        self._problems: list[str] = []
        self._warnings: list[str] = []
        self._tablet_checked = False  # the 900 px navigation is clicked on the first page only
        self._blocked: set[str] = set()

    # -- the browser side ------------------------------------------------------------
    def _route(self, route) -> None:
        url = route.request.url
        if is_local_url(url):
            route.continue_()
        else:
            self._blocked.add(url)
            self._problems.append(f"request to a non-local address (blocked): {url}")
            route.abort("blockedbyclient")

    def _on_console(self, msg) -> None:
        # "Failed to load resource" repeats what the route, response and requestfailed
        # handlers report with the URL.
        if msg.type in ("error", "assert") and not msg.text.startswith("Failed to load resource"):
            self._problems.append(f"JavaScript error: console.{msg.type}: {msg.text[:300]}")
        elif msg.type == "warning":
            self._warnings.append(f"console.warn: {msg.text[:200]}")

    def _on_request_failed(self, request) -> None:
        failure = request.failure or ""
        quiet = ("BLOCKED_BY_CLIENT", "ERR_ABORTED")  # blocked by us; a navigation cut short
        if request.url not in self._blocked and not any(q in failure for q in quiet):
            self._problems.append(f"request failed ({failure}): {request.url}")

    def _open(self) -> None:
        self.context = self.browser.browser.new_context(
            viewport=WIDE, device_scale_factor=1, service_workers="block"
        )
        self.context.set_default_timeout(self.timeout_ms)
        for script in self.js:
            self.context.add_init_script(script=script)
        self.context.route("**/*", self._route)
        page = self.page = self.context.new_page()
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self._problems.append(f"JavaScript error: uncaught {exc}"))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_response(self, response) -> None:
        # The browser asks every origin for /favicon.ico by itself: no page's error.
        if response.status >= 400 and urlsplit(response.url).path != "/favicon.ico":
            self._problems.append(f"HTTP {response.status} for {response.url}")

    def _load(self, url: str, viewport: dict = WIDE) -> int:
        """Load ``url`` at ``viewport``, wait for MathJax, images and fonts; the page height."""
        self._problems, self._warnings, self._blocked = [], [], set()
        self.page.set_viewport_size(viewport)
        self.page.goto(url, wait_until="load")
        return self.page.evaluate("window.__sitecheck.ready()")

    def _visit(self, url: str, rel: str) -> tuple[dict, dict]:
        """(what is seen at 1440 px, the geometry at 390 px) of ``url``; screenshots of both
        as a reader first sees them, then the navigation clicked at 390 (900) and 1440 px."""
        shots = self.screenshot_dir
        self._load(url)
        if shots is not None:
            self.report.screenshots.append(take_screenshot(self.page, shots, rel, WIDE["width"]))
        info = self.page.evaluate("window.__sitecheck.collect()")
        self.page.set_viewport_size(PHONE)
        phone = self.page.evaluate("window.__sitecheck.atViewport()")
        self.page.evaluate("window.__sitecheck.closeOpened()")
        if shots is not None:
            self.report.screenshots.append(take_screenshot(self.page, shots, rel, PHONE["width"]))
        count, failures = check_navigation(self.page, tablet=not self._tablet_checked)
        self._tablet_checked = self._tablet_checked or count > 0
        phone["checks"]["navigation"] = [count, failures]
        self.page.wait_for_timeout(50)  # late console errors
        return info, phone

    # -- the checks ------------------------------------------------------------------
    def _fail_all(self, check: str, rel: str, items: list[str]) -> None:
        for item in items[:PER_PAGE]:
            self.report.fail(check, f"{rel}: {item}", page=rel)
        if len(items) > PER_PAGE:
            more = f"{rel}: ... and {len(items) - PER_PAGE} more ({check})"
            self.report.fail(check, more, page=rel)

    def _check_page(self, rel: str, info: dict, phone: dict, base: str) -> None:
        rep = self.report
        rep.counts["pages"] += 1
        off = [u for u in info["resources"] if not (is_local_url(u) or u in self._blocked)]
        off = [f"references a non-local resource: {u}" for u in off]  # (not fetched yet)
        problems = dict.fromkeys(p.replace(base, "/") for p in self._problems + off)
        self._fail_all("pages", rel, list(problems))
        rep.warnings += [f"{rel}: {w}" for w in info["warnings"] + self._warnings]
        rep.code_share[rel] = info.get("codeShare", 0.0)
        for checks in (info["checks"], phone["checks"]):
            for name, (count, failures) in checks.items():
                rep.counts[name] += count
                self._fail_all(name, rel, failures)
        for key in ("figures", "scrolling"):
            self._phone[key] = [a + b for a, b in zip(self._phone[key], phone[key])]

    def _check_links(self, page_info: dict[str, dict], base: str) -> None:
        """Every link to the site (or a file) has its target file and, with #x, the id x."""
        ids = functools.cache(static_ids)
        for rel, info in page_info.items():
            reported = set()
            for link in info["links"]:
                parts = urlsplit(link["href"])
                if parts.scheme in ("mailto", "javascript", "tel", "data"):
                    continue
                if link["href"].startswith(base):
                    path = self.site / unquote(parts.path).lstrip("/")
                elif parts.scheme == "file":
                    path = Path(unquote(parts.path))
                else:
                    self.report.external_links += 1
                    continue
                self.report.counts["links"] += 1
                path = (path / "index.html" if path.is_dir() else path).resolve()
                fragment = unquote(parts.fragment)
                if not path.is_file():
                    problem = "target file does not exist"
                elif fragment and path.suffix == ".html" and fragment not in ids(path):
                    problem = f"anchor #{fragment} not found in {path.relative_to(self.site)}"
                else:
                    continue
                if link["raw"] not in reported:
                    reported.add(link["raw"])
                    msg = f"{rel}: broken link {link['raw']!r} ({link['text']!r}): {problem}"
                    self.report.fail("links", msg)

    def _check_report(self, page_info: dict[str, dict]) -> None:
        rep, ledgers = self.report, self.claims_dir
        titles = {rel: f"{i['h1']} {i['title']}".lower() for rel, i in page_info.items()}
        page = next((rel for rel, t in titles.items() if "reproduction report" in t), None)
        if not (ledgers and ledgers.is_dir() and any(ledgers.glob("*.json"))):
            if page is None:
                rep.notices.append("no 'Reproduction report' page and no claims ledgers: skipped")
            else:
                rep.fail(
                    "report_rows", f"{page}: report present but no claims ledgers in {ledgers}"
                )
        elif page is None:
            rep.fail("report_rows", f"claims recorded in {ledgers} but no 'Reproduction report'")
        else:
            try:
                claims = all_claims(ledgers)
            except ValueError as exc:
                rep.fail("report_rows", str(exc))
                return
            rep.claims = len(claims)
            rows, failures = check_report_tables(page_info[page]["tables"], claims)
            rep.counts["report_rows"] = rows
            for f in failures:
                rep.fail("report_rows", f"{page}: {f}")

    def _check_search(self, page_info: dict[str, dict], base: str) -> None:
        rep = self.report
        if "search.html" not in page_info or not (self.site / "searchindex.js").is_file():
            rep.notices.append("no search.html with searchindex.js: search check skipped")
            return
        special = ("search.html", "genindex.html", "py-modindex.html")
        words = [
            w
            for rel, info in page_info.items()
            if rel not in special and not rel.startswith("prf-")
            for w in re.findall(r"[A-Za-z]{5,}", info["h1"])
        ]
        if not words:
            rep.notices.append("no page title with a word to search for: search check skipped")
            return
        self._load(f"{base}search.html?q={words[0]}")
        found = self.page.evaluate("window.__sitecheck.search()")
        rep.search = f"{words[0]!r}: {found['count']} result(s)"
        rep.counts["search"] = found["count"]
        if not found["count"]:
            rep.fail("search", f"search for {words[0]!r} found nothing: {found['first']}")
        for p in dict.fromkeys(self._problems):
            rep.fail("search", f"search.html?q={words[0]}: {p.replace(base, '/')}")

    def run(self) -> Report:
        from playwright.sync_api import Error

        t0 = time.monotonic()
        rep, site = self.report, self.site
        pages = find_pages(site)
        if not pages:
            rep.fail("pages", f"no HTML pages under {site}")
            return rep
        server = SiteServer(site)
        # At 390 px: [figures, those below 9 px], [displays, those scrolling in their container]
        self._phone = {"figures": [0, 0], "scrolling": [0, 0]}
        page_info: dict[str, dict] = {}
        self._open()
        try:
            for path in pages:
                rel = path.relative_to(site).as_posix()
                text = path.read_text(encoding="utf-8", errors="replace")
                m = _META_REFRESH.search(text[:4000])
                if m and len(text) < 4000:  # a redirect stub, e.g. Jupyter Book's index.html
                    rep.redirects.append(rel)
                    if not (path.parent / unquote(urlsplit(m.group(1).strip()).path)).is_file():
                        rep.fail("links", f"{rel}: redirect to missing page {m.group(1)}")
                    continue
                try:
                    info, phone = self._visit(server.base + rel, rel)
                except Error as exc:
                    rep.fail("pages", f"{rel}: {str(exc).splitlines()[0]}")
                    continue
                rep.pages.append(rel)
                page_info[rel] = info
                self._check_page(rel, info, phone, server.base)
            self._check_links(page_info, server.base)
            self._check_report(page_info)
            self._check_search(page_info, server.base)
            (nf, sf), (nd, sd) = self._phone["figures"], self._phone["scrolling"]
            rep.notices.append(
                f"at 390 px (allowed): {sd} of {nd} displays scroll inside their own container; "
                f"{sf} of {nf} figures show their 10 pt font below 9 px (figure_390: they open "
                "full size on a tap)"
            )
            rep.close_allow_list()
        finally:
            self.context.close()
            server.close()
        rep.seconds = time.monotonic() - t0
        return rep


def check_site(
    site, claims_dir=None, screenshot_dir=None, chromium=DEFAULT_CHROMIUM, browser=None,
    pending=None,
) -> Report:
    """Check the built site ``site``; returns the :class:`Report`.

    ``claims_dir`` defaults to ``<site>/../claims``; without ``screenshot_dir`` no screenshot
    is taken. ``pending`` is the allow-list file (see :func:`read_pending`). An open
    :class:`Browser` may be shared between several checks.
    """
    allowed = read_pending(pending)
    site = Path(site)
    if not site.is_dir():
        raise SiteCheckError(f"site directory {site} does not exist")
    claims_dir = Path(claims_dir or site.resolve().parent / "claims")
    shots = Path(screenshot_dir) if screenshot_dir is not None else None
    with contextlib.nullcontext(browser) if browser else Browser(chromium) as b:
        return SiteChecker(site, b, claims_dir, shots, allowed).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m book_toolchain.sitecheck", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("site", help="built HTML site directory, e.g. _build/html")
    parser.add_argument("--claims", help="claims ledger directory (default: SITE/../claims)")
    parser.add_argument("--screenshots", help="screenshot directory (default: SITE/../screenshots)")
    parser.add_argument("--no-screenshots", action="store_true")
    parser.add_argument("--pending", help="allow-list of (page, check) pairs still pending")
    parser.add_argument("--chromium", default=DEFAULT_CHROMIUM)
    parser.add_argument("--json", help="also write the report as JSON to this file")
    args = parser.parse_args(argv)
    site = Path(args.site)
    if not site.is_dir():
        print(f"sitecheck: no site directory {site}", file=sys.stderr)
        return 2
    shots = (
        None
        if args.no_screenshots
        else Path(args.screenshots or site.resolve().parent / "screenshots")
    )
    try:
        report = check_site(site, args.claims, shots, chromium=args.chromium, pending=args.pending)
    except (SiteCheckError, ValueError) as exc:
        print(f"sitecheck: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    if args.json:
        data = {k: v for k, v in report.__dict__.items() if k != "screenshots"}
        data["allowed"] = sorted(map(list, report.allowed))
        data["deferred_hits"] = sorted(map(list, report.deferred_hits))
        data |= {"site": str(report.site), "screenshots": [str(p) for p in report.screenshots]}
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
