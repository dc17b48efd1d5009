"""Check a built HTML site in a real browser (Debian's headless Chromium under Playwright).

Usage::

    python -m book_toolchain.sitecheck _build/html [--claims _build/claims]
        [--screenshots _build/screenshots] [--chromium /usr/bin/chromium] [--json FILE]

The site is served on 127.0.0.1 by a thread of this process. Playwright (pip, pinned) drives
``/usr/bin/chromium``; no browser is ever downloaded, and every request to a host other
than the loopback one is aborted by a route handler and reported. The in-page code is
``sitecheck.js`` (package data). Every HTML page is loaded at 1440 x 900 CSS px, then
re-measured at 390 x 844 (a phone; plain viewport, no touch emulation). Checks (the name is
the one the summary prints with the number of elements checked):

``pages``        no JavaScript error (console error, uncaught exception), no HTTP error for a
                 local resource, no failed request, no request or reference off the machine.
``math``         every Sphinx ``.math`` element holds a MathJax ``mjx-container``; no MathJax
                 error.
``raw_tex``      visible text outside code, ``pre`` and MathJax output holds no TeX control
                 word (``\\tfrac``, ``\\sum``, ``\\begin``), no ``\\(``/``\\[``, no ``$...$``
                 or ``$$...$$`` pair and no ``$`` glued to TeX (``$\\bar``, ``}$``).
``images``       every ``img`` loaded (``naturalWidth > 0``).
``links``        every internal link points to an existing file and, with ``#anchor``, to an
                 id in it; ``xrefs``: no Sphinx ``.xref`` outside a link (unresolved).
``theorems``     every sphinx-proof box (theorem, lemma, ...) has its number ("Theorem 3.1");
                 boxes declared ``:nonumber:`` are exempt.
``pipe_tables``  no output area (``.cell_output``, ``.output``) shows Markdown table source: a
                 delimiter row ``|---|`` (or ``|—|``) or two lines ``| a | b |`` in a row.
``stderr``       no stderr output box (``.output.stderr``, ``.stderr``) at all.
``paths``        no visible text (code included) holds a machine path: ``/root/``, ``/home/``,
                 ``/work/``, ``/tmp/``, ``/Users/``, ``.venv/`` or ``site-packages``.
``display_1440`` display equations (``div.math``, MathJax display containers outside one):
                 at 1440 px the typeset formula (``mjx-math``) lies inside the client box of
                 every element from the display up to the article (``article.bd-article``),
                 within 1 px, and the display does not scroll (scrollWidth <= clientWidth + 1).
``display_390``  at 390 px a display may scroll inside a scroll container of its own
                 (computed ``overflow-x`` auto or scroll): from the innermost such element on,
                 that element's border box counts instead of the formula. The formula (or that
                 box) must not exceed an element that clips (``overflow-x`` hidden or clip),
                 the article, or the viewport.
``page_scroll``  ``document.scrollingElement.scrollWidth <= innerWidth`` at 1440 and 390 px.
``figure_zoom``  each content image (``figure img``, output-cell ``img``) at 1440 px shows a
                 matplotlib default font (10 pt at the PNG's pHYs dpi, else 100 dpi) at
                 >= 9 CSS px: scale = shown / natural width >= 9 / (10 * dpi / 72), i.e.
                 >= 0.648 at 100 dpi. At 390 px the count of smaller figures is a notice.
``report_rows``  the page titled "Reproduction report" has one row per claim of the ledgers
                 (``book_toolchain.claims.all_claims``), naming its label, marked as holding.
``search``       Sphinx's search (local index) finds a word of a page title.

Closed ``<details>`` are opened before the checks (a reader sees them after one click).
Screenshots at 1440 and 390 px of the introduction, chapter 6 and the reproduction report,
scrolled to the left edge (at most 3000 px tall), are saved as ``NAME_WIDTH.png``. Exit
status 0 when everything passed, 1 with the list of failures, 2 on usage errors.
"""

from __future__ import annotations

import argparse
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
from .sitecheck_rules import (
    ABS_PATH,
    MIN_FONT_PX,
    RAW_TEX,
    Report,
    check_report_tables,
    figure_font_px,
    image_bytes,
    pipe_table_lines,
    png_dpi,
    static_ids,
)

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Belt and braces: should a request escape the route handler, no name but loopback resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]
WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
LOCAL_SCHEMES = {"data", "blob", "about", "file", "chrome", "devtools"}
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", "_panels_static"}
SCREENSHOT_MAX_HEIGHT = 3000
PER_PAGE = 5  # failures listed per page and check; the rest are counted
THEOREM_KINDS = ("theorem", "lemma", "proposition", "corollary", "definition", "conjecture")
THEOREM_KINDS += ("remark", "example", "axiom", "criterion", "algorithm", "property")
THEOREM_KINDS += ("observation", "assumption", "notation")
SCREENSHOT_TARGETS = (  # (file stem, description, predicate on (relative path, titles))
    (
        "introduction",
        "introduction",
        lambda rel, t: re.search(r"(^|/)(\d+_)?intro(duction)?\.html$", rel),
    ),
    (
        "chapter06_space_time_approximation",
        "chapter 6",
        lambda rel, t: "06_space_time_approximation" in rel,
    ),
    (
        "reproduction_report",
        "reproduction report",
        lambda rel, t: "reproduction report" in t.lower(),
    ),
)
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
    def __init__(self, site: Path, browser: Browser, claims_dir=None, screenshot_dir=None):
        self.site = Path(site).resolve()
        self.browser = browser
        self.claims_dir = claims_dir
        self.screenshot_dir = screenshot_dir
        self.report = Report(site=self.site)
        self.timeout_ms = browser.timeout * 1000
        self.js = resources.files("book_toolchain").joinpath("sitecheck.js").read_text("utf-8")
        self._problems: list[str] = []
        self._warnings: list[str] = []
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
        self.context.add_init_script(script=self.js)
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

    def _load(self, url: str, viewport: dict = WIDE) -> None:
        """Load ``url`` at ``viewport`` and wait for MathJax, images and fonts."""
        self._problems, self._warnings, self._blocked = [], [], set()
        self.page.set_viewport_size(viewport)
        self.page.goto(url, wait_until="load")
        self.page.evaluate("window.__sitecheck.ready()")

    def _visit(self, url: str) -> tuple[dict, dict]:
        """(what is seen at 1440 px, the geometry at 390 px) of ``url``."""
        self._load(url)
        info = self.page.evaluate("window.__sitecheck.collect()")
        self.page.set_viewport_size(PHONE)
        phone = self.page.evaluate("window.__sitecheck.atViewport()")
        self.page.wait_for_timeout(50)  # late console errors
        return info, phone

    # -- the checks ------------------------------------------------------------------
    def _fail_all(self, check: str, rel: str, items: list[str]) -> None:
        for item in items[:PER_PAGE]:
            self.report.fail(check, f"{rel}: {item}")
        if len(items) > PER_PAGE:
            self.report.fail(check, f"{rel}: ... and {len(items) - PER_PAGE} more ({check})")

    def _check_page(self, rel: str, info: dict, phone: dict, base: str) -> None:
        rep, count, fail = self.report, self.report.counts, self._fail_all
        count["pages"] += 1
        resources_off = [
            f"references a non-local resource: {u}"
            for u in info["resources"]
            if not is_local_url(u) and u not in self._blocked
        ]
        fail(
            "pages",
            rel,
            [p.replace(base, "/") for p in dict.fromkeys(self._problems + resources_off)],
        )
        rep.warnings += [f"{rel}: {w}" for w in dict.fromkeys(self._warnings)]

        count["math"] += info["math_total"]
        if info["math_untypeset"]:
            rep.fail(
                "math",
                f"{rel}: {len(info['math_untypeset'])} of {info['math_total']} math "
                f"element(s) not typeset by MathJax, e.g. {info['math_untypeset'][0]!r}",
            )
        fail("math", rel, [f"MathJax error: {e}" for e in info["math_errors"]])
        count["raw_tex"] += len(info["prose"])
        fail(
            "raw_tex",
            rel,
            [
                f"raw TeX in visible text: {' | '.join(m[:60] for m in found[:3])}  in: {' '.join(t.split())[:100]}"
                for t in info["prose"]
                if (found := RAW_TEX.findall(t))
            ],
        )
        count["paths"] += len(info["text"])
        fail(
            "paths",
            rel,
            [
                f"machine path in page text: {m[:100]}"
                for t in info["text"]
                for m in ABS_PATH.findall(t)
            ],
        )

        count["images"] += len(info["images"])
        fail(
            "images",
            rel,
            [
                f"image did not load: {(i['src'] or '(no src)').replace(base, '/')}"
                for i in info["images"]
                if not i["ok"]
            ],
        )
        rep.warnings += [
            f"{rel}: image without alt text: {i['src'].replace(base, '/')}"
            for i in info["images"]
            if i["ok"] and not i.get("alt")
        ]
        count["figure_zoom"] += len(info["figures"])
        fail(
            "figure_zoom",
            rel,
            [
                f"figure font {px:.1f} px < {MIN_FONT_PX:g} px: {f['natural']} px wide shown at "
                f"{f['shown']:.0f} px ({f['shown'] / f['natural']:.0%}): {f['src'].replace(base, '/')[:80]}"
                for f in info["figures"]
                if (px := self._font_px(f, base)) < MIN_FONT_PX
            ],
        )
        self._small_on_phone += sum(
            self._font_px(f, base) < MIN_FONT_PX for f in phone["figures_small"]
        )
        self._figures_on_phone += len(phone["figures_small"])

        count["xrefs"] += info["xrefs"]
        fail("xrefs", rel, [f"unresolved cross-reference: {x!r}" for x in info["unresolved_xrefs"]])
        for box in info["boxes"]:
            kind = next((k for k in THEOREM_KINDS if k in box["classes"]), None)
            if kind is None:
                continue  # a proof
            count["theorems"] += 1
            if not box["unnumbered"] and not re.match(
                rf"^{kind}\s+\d+(\.\d+)*\b", box["title"], re.IGNORECASE
            ):
                rep.fail(
                    "theorems",
                    f"{rel}: {kind} box #{box['id']} has no number in its title: "
                    f"{box['title'][:80]!r}",
                )

        count["pipe_tables"] += len(info["outputs"])
        count["stderr"] += len(info["outputs"])
        fail(
            "pipe_tables",
            rel,
            [
                f"pipe-table text in an output cell: {' / '.join(lines[:3])[:120]}"
                for o in info["outputs"]
                if (lines := pipe_table_lines(o))
            ],
        )
        if info["stderr"]:
            rep.fail(
                "stderr",
                f"{rel}: {len(info['stderr'])} stderr output box(es), e.g. "
                f"{info['stderr'][0][:100]!r}",
            )

        for geo, name in ((info, "display_1440"), (phone, "display_390")):
            count[name] += geo["displays"]
            fail(
                name,
                rel,
                [
                    f"display equation {d['tex']!r}{' #' + d['id'] if d['id'] else ''} "
                    f"at {geo['viewport']} px: {d['problem']}"
                    for d in geo["display_problems"]
                ],
            )
            count["page_scroll"] += 1
            if geo["page_width"] > geo["viewport"] + 1:
                rep.fail(
                    "page_scroll",
                    f"{rel}: page scrolls sideways at {geo['viewport']} px "
                    f"(scrollWidth {geo['page_width']})",
                )

    def _font_px(self, fig: dict, base: str) -> float:
        data = image_bytes(fig["src"], base, self.site)
        return figure_font_px(fig["natural"], fig["shown"], png_dpi(data) if data else None)

    def _check_links(self, page_info: dict[str, dict], base: str) -> None:
        rep = self.report
        ids = {(self.site / rel).resolve(): set(info["ids"]) for rel, info in page_info.items()}
        host = urlsplit(base).netloc
        for rel, info in page_info.items():
            reported = set()
            for link in info["links"]:
                parts = urlsplit(link["href"])
                if parts.scheme in ("mailto", "javascript", "tel", "data"):
                    continue
                if parts.scheme in ("http", "https") and parts.netloc == host:
                    path = self.site / unquote(parts.path).lstrip("/")
                elif parts.scheme == "file":
                    path = Path(unquote(parts.path))
                else:
                    rep.external_links += 1
                    continue
                rep.counts["links"] += 1
                path = path / "index.html" if path.is_dir() else path
                fragment = unquote(parts.fragment)
                if not path.is_file():
                    problem = "target file does not exist"
                elif fragment and path.suffix == ".html":
                    rpath = path.resolve()
                    if rpath not in ids:
                        ids[rpath] = static_ids(rpath)
                    found = fragment in ids[rpath]
                    problem = (
                        None
                        if found
                        else f"anchor #{fragment} not found in {rpath.relative_to(self.site)}"
                    )
                else:
                    problem = None
                if problem and link["raw"] not in reported:
                    reported.add(link["raw"])
                    rep.fail(
                        "links", f"{rel}: broken link {link['raw']!r} ({link['text']!r}): {problem}"
                    )

    def _check_report(self, page_info: dict[str, dict]) -> None:
        rep = self.report
        page = next(
            (
                rel
                for rel, i in page_info.items()
                if "reproduction report" in (i["h1"] + " " + i["title"]).lower()
            ),
            None,
        )
        ledgers = bool(
            self.claims_dir and self.claims_dir.is_dir() and any(self.claims_dir.glob("*.json"))
        )
        if page is None:
            if ledgers:
                rep.fail(
                    "report_rows",
                    f"claims are recorded in {self.claims_dir} but no page "
                    "titled 'Reproduction report' was found",
                )
            else:
                rep.notices.append(
                    "no 'Reproduction report' page and no claims ledgers: report check skipped"
                )
            return
        if not ledgers:
            rep.fail(
                "report_rows",
                f"{page}: reproduction report present but no claims ledgers "
                f"found in {self.claims_dir}",
            )
            return
        try:
            claims = all_claims(self.claims_dir)
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

    def _take_screenshots(self, page_info: dict[str, dict], base: str) -> None:
        rep = self.report
        for stem, description, matches in SCREENSHOT_TARGETS:
            rel = next(
                (r for r, i in page_info.items() if matches(r, i["h1"] + " " + i["title"])), None
            )
            if rel is None:
                rep.notices.append(f"screenshot of the {description} skipped: no such page")
                continue
            for viewport in (WIDE, PHONE):
                path = self.screenshot_dir / f"{stem}_{viewport['width']}.png"
                self._load(base + rel, viewport)
                height = self.page.evaluate("window.__sitecheck.atViewport()")["height"]
                clip = {
                    "x": 0,
                    "y": 0,
                    "width": viewport["width"],
                    "height": max(viewport["height"], min(height, SCREENSHOT_MAX_HEIGHT)),
                }
                path.parent.mkdir(parents=True, exist_ok=True)
                self.page.screenshot(path=path, full_page=True, clip=clip)
                rep.screenshots.append(path)

    def run(self) -> Report:
        from playwright.sync_api import Error

        t0 = time.monotonic()
        rep, site = self.report, self.site
        pages = find_pages(site)
        if not pages:
            rep.fail("pages", f"no HTML pages under {site}")
            return rep
        server = SiteServer(site)
        self._small_on_phone = self._figures_on_phone = 0
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
                    info, phone = self._visit(server.base + rel)
                except Error as exc:
                    rep.fail("pages", f"{rel}: {str(exc).splitlines()[0]}")
                    continue
                rep.pages.append(rel)
                page_info[rel] = info
                self._check_page(rel, info, phone, server.base)
            self._check_links(page_info, server.base)
            self._check_report(page_info)
            self._check_search(page_info, server.base)
            if self._small_on_phone:
                rep.notices.append(
                    f"at 390 px, {self._small_on_phone} of {self._figures_on_phone} "
                    f"figure(s) show their font below {MIN_FONT_PX:g} px"
                )
            if self.screenshot_dir is not None:
                self._take_screenshots(page_info, server.base)
        finally:
            self.context.close()
            server.close()
        rep.seconds = time.monotonic() - t0
        return rep


def check_site(
    site, claims_dir=None, screenshot_dir=None, chromium=DEFAULT_CHROMIUM, browser=None
) -> Report:
    """Check the built site ``site``; returns the :class:`Report`.

    ``claims_dir`` defaults to ``<site>/../claims``; without ``screenshot_dir`` no screenshot
    is taken. An open :class:`Browser` may be shared between several checks.
    """
    site = Path(site)
    if not site.is_dir():
        raise SiteCheckError(f"site directory {site} does not exist")
    claims_dir = Path(claims_dir) if claims_dir is not None else site.resolve().parent / "claims"
    own = browser is None
    browser = browser or Browser(chromium)
    try:
        shots = Path(screenshot_dir) if screenshot_dir is not None else None
        return SiteChecker(site, browser, claims_dir, shots).run()
    finally:
        if own:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m book_toolchain.sitecheck", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("site", help="built HTML site directory, e.g. _build/html")
    parser.add_argument("--claims", help="claims ledger directory (default: SITE/../claims)")
    parser.add_argument("--screenshots", help="screenshot directory (default: SITE/../screenshots)")
    parser.add_argument("--no-screenshots", action="store_true")
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
        report = check_site(site, args.claims, shots, chromium=args.chromium)
    except SiteCheckError as exc:
        print(f"sitecheck: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    if args.json:
        data = {k: v for k, v in report.__dict__.items() if k != "screenshots"}
        data |= {"site": str(report.site), "screenshots": [str(p) for p in report.screenshots]}
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
