"""Check a built HTML site in a real browser (headless Chromium), with the network off.

Usage::

    python -m book_toolchain.sitecheck _build/html [--claims _build/claims]
        [--screenshots _build/screenshots] [--chromium /usr/bin/chromium]

The site directory is served by a local HTTP server on 127.0.0.1 (started here, in a
thread); Debian's Chromium is driven through the Chrome DevTools Protocol over
``--remote-debugging-pipe`` (file descriptors 3 and 4, messages separated by NUL bytes), so
no Python dependency beyond the standard library is needed and no browser is downloaded.

For every HTML page of the site it asserts:

* math is typeset: every Sphinx ``.math`` element holds a MathJax ``mjx-container``, no
  MathJax error, and no raw ``$...$``, ``\\(`` or ``\\[`` left in the visible text (code,
  ``pre`` and MathJax output excluded);
* every ``img`` has loaded (``naturalWidth > 0``);
* every internal link (with or without ``#anchor``, including ``{prf:ref}`` links) points to
  an existing file, and the anchor exists in the target page; no unresolved cross-reference
  (a Sphinx ``.xref`` outside a link) is left;
* every theorem-like box of sphinx-proof (``div.proof.theorem`` etc.) carries its number,
  e.g. "Theorem 3.1" (boxes declared ``:nonumber:`` are exempt);
* no JavaScript error (console ``error``, uncaught exception, error log entry), no local
  resource answered with an HTTP error, and no request leaves the machine: every request to
  a host other than 127.0.0.1/localhost is blocked and reported (a CDN MathJax is a failure);
* the reproduction report (the page titled "Reproduction report") has one table row per
  recorded claim in the claims ledgers (``<claims>/*.json``), each marked as holding.

Screenshots of the introduction, chapter 6 and the reproduction report are saved (a page
that does not exist is skipped with a notice). Exit status 0 when everything passed, 1 with
the list of failures otherwise, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import functools
import html.parser
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit

from .claims import all_claims

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider",
    "--disable-domain-reliability",
    "--metrics-recording-only",
    "--no-pings",
    "--mute-audio",
    "--hide-scrollbars",
    "--window-size=1280,900",
    # Belt and braces: even if a request escaped interception, no name but the loopback
    # ones resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
)
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Schemes that never touch the network.
LOCAL_SCHEMES = {"data", "blob", "about", "file", "chrome", "chrome-extension", "devtools"}
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", "_panels_static"}
VIEWPORT = (1280, 900)
SCREENSHOT_MAX_HEIGHT = 3000

# sphinx-proof's numbered box types (class name -> title word).
THEOREM_KINDS = (
    "theorem",
    "lemma",
    "proposition",
    "corollary",
    "definition",
    "conjecture",
    "remark",
    "example",
    "axiom",
    "criterion",
    "algorithm",
    "property",
    "observation",
    "assumption",
    "notation",
)

SCREENSHOT_TARGETS = (
    # (file name, description, predicate on (relative path, title))
    (
        "introduction.png",
        "introduction",
        lambda rel, title: bool(re.search(r"(^|/)(\d+_)?intro(duction)?\.html$", rel)),
    ),
    (
        "chapter06_space_time_approximation.png",
        "chapter 6 (06_space_time_approximation)",
        lambda rel, title: "06_space_time_approximation" in rel,
    ),
    (
        "reproduction_report.png",
        "reproduction report",
        lambda rel, title: "reproduction report" in title.lower(),
    ),
)


class SiteCheckError(RuntimeError):
    """The browser could not be started or driven."""


# ---------------------------------------------------------------------------------------
# A minimal Chrome DevTools Protocol client over --remote-debugging-pipe.
# ---------------------------------------------------------------------------------------


class Browser:
    """Headless Chromium driven over the DevTools pipe (fd 3: commands in, fd 4: out)."""

    def __init__(self, executable: str = DEFAULT_CHROMIUM, timeout: float = 30.0):
        if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
            raise SiteCheckError(f"{executable} not found or not executable")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="sitecheck-chromium-")
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # Keep the child's ends away from fds 3 and 4, which they are mapped onto.
        child_in = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
        os.close(to_child_r)
        os.close(from_child_w)
        args = [
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={self.profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        # bash (not dash: it takes fds above 9) maps the pipe ends onto fds 3 and 4.
        redirect = f"3<&{child_in} 4>&{child_out} {child_in}<&- {child_out}>&-"
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", f'exec "$0" "$@" {redirect}', *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
            pass_fds=(child_in, child_out),
            start_new_session=True,
        )
        os.close(child_in)
        os.close(child_out)
        self._wfile = os.fdopen(to_child_w, "wb", buffering=0)
        self._rfd = from_child_r
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._next_id = 0
        self._responses: dict[int, dict] = {}
        self._closed = False
        self.handlers: list = []  # callables (method, params, session_id) on the reader thread
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        try:
            self.version = self.call("Browser.getVersion")
        except Exception:
            self.close()
            raise

    # -- transport -------------------------------------------------------------------
    def _read_loop(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._rfd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue
                if "id" in msg:
                    with self._cond:
                        self._responses[msg["id"]] = msg
                        self._cond.notify_all()
                else:
                    for handler in list(self.handlers):
                        try:
                            handler(msg.get("method"), msg.get("params", {}), msg.get("sessionId"))
                        except Exception as exc:  # noqa: BLE001 - a checker bug must not kill the reader
                            print(f"sitecheck: event handler error: {exc!r}", file=sys.stderr)
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        """Send a command without waiting for its answer; returns its id."""
        with self._lock:
            self._next_id += 1
            msg_id = self._next_id
            msg = {"id": msg_id, "method": method, "params": params or {}}
            if session:
                msg["sessionId"] = session
            try:
                self._wfile.write(json.dumps(msg).encode() + b"\0")
            except (BrokenPipeError, ValueError, OSError) as exc:
                raise SiteCheckError(f"browser pipe closed ({exc}); {self.stderr_tail()}") from None
        return msg_id

    def call(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float | None = None,
    ) -> dict:
        """Send a command and wait for its result."""
        msg_id = self.send(method, params, session)
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while msg_id not in self._responses:
                if self._closed:
                    raise SiteCheckError(f"browser exited during {method}; {self.stderr_tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SiteCheckError(f"timeout waiting for {method}")
                self._cond.wait(left)
            msg = self._responses.pop(msg_id)
        if "error" in msg:
            raise SiteCheckError(f"{method} failed: {msg['error']}")
        return msg.get("result", {})

    def stderr_tail(self) -> str:
        try:
            self.stderr.seek(0)
            text = self.stderr.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""
        return "chromium stderr: " + text[-1500:].strip() if text.strip() else ""

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close")
                    self.proc.wait(timeout=5)
                except (SiteCheckError, subprocess.TimeoutExpired):
                    pass
            if self.proc.poll() is None:
                self.proc.kill()  # our own child, by its handle
                self.proc.wait(timeout=5)
        finally:
            for closer in (self._wfile.close, lambda: os.close(self._rfd), self.stderr.close):
                try:
                    closer()
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------
# The local HTTP server.
# ---------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class SiteServer:
    """Serve ``root`` on 127.0.0.1 on a free port, in a daemon thread."""

    def __init__(self, root: Path):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------------------------------
# What is collected in the page (runs in the browser).
# ---------------------------------------------------------------------------------------

WAIT_READY_JS = r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const hasMathJaxScript = !!document.querySelector('script[src*="mathjax" i]');
  if (hasMathJaxScript || window.MathJax) {
    for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
      await sleep(25);
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      try { await MathJax.startup.promise; } catch (e) {}
    }
  }
  const imgs = Array.from(document.images);
  for (const img of imgs) if (img.loading === 'lazy') img.loading = 'eager';
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(r => {
    img.addEventListener('load', r); img.addEventListener('error', r); setTimeout(r, 5000);
  })));
  if (document.fonts && document.fonts.ready) await document.fonts.ready;
  return true;
})()
"""

COLLECT_JS = r"""
(() => {
  const out = {};
  out.url = location.href;
  out.title = document.title || '';
  const h1 = document.querySelector('main h1, article h1, h1');
  out.h1 = h1 ? h1.textContent.replace(/[#¶]\s*$/, '').trim() : '';

  // Math.
  out.mjx = document.querySelectorAll('mjx-container').length;
  const mathEls = Array.from(document.querySelectorAll('.math'))
    .filter(e => !e.parentElement || !e.parentElement.closest('.math'));
  out.math_total = mathEls.length;
  out.math_untypeset = mathEls.filter(e => !e.querySelector('mjx-container'))
    .map(e => e.textContent.trim().slice(0, 80));
  out.math_errors = Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]'))
    .map(e => (e.getAttribute('data-mjx-error') || e.textContent || '').slice(0, 120));

  // Raw TeX in visible text (code, pre and MathJax output excluded).
  const skip = 'pre, code, kbd, samp, tt, script, style, textarea, noscript, template, ' +
               'mjx-container, mjx-assistive-mml, .highlight, .linenos, .cell_input';
  const blocks = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || !node.data.trim() || el.closest(skip)) continue;
    if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) continue;
    const block = el.closest('p, li, dt, dd, td, th, h1, h2, h3, h4, h5, h6, figcaption, ' +
                             'caption, blockquote, div, section, body') || document.body;
    blocks.set(block, (blocks.get(block) || '') + node.data);
  }
  const rawRe = /\$\$[\s\S]+?\$\$|\$[^$\s](?:[^$\n]*?[^$\s\\])?\$|\\\(|\\\)|\\\[|\\\]|\\begin\{/g;
  out.raw_tex = [];
  for (const [block, text] of blocks) {
    const m = text.match(rawRe);
    if (m) out.raw_tex.push(m.slice(0, 3).map(s => s.slice(0, 60)).join(' | ') +
                            '  in: ' + text.trim().slice(0, 100));
  }

  // Images.
  out.images = Array.from(document.images).map(img => ({
    src: img.currentSrc || img.src || img.getAttribute('src') || '',
    ok: img.complete && img.naturalWidth > 0,
    alt: img.getAttribute('alt'),
  }));

  // Links and anchors.
  out.links = Array.from(document.querySelectorAll('a[href], area[href]'))
    .map(a => ({href: a.href, raw: a.getAttribute('href'), text: (a.textContent || '').trim().slice(0, 60)}));
  out.ids = Array.from(document.querySelectorAll('[id]')).map(e => e.id)
    .concat(Array.from(document.querySelectorAll('a[name]')).map(a => a.getAttribute('name')));
  out.unresolved_xrefs = Array.from(document.querySelectorAll('.xref'))
    .filter(e => !e.closest('a'))
    .map(e => (e.textContent || '').trim().slice(0, 80));

  // Statically referenced resources (a remote one would be fetched, or lazily later).
  const res = [];
  const loading = /(^|\s)(stylesheet|preload|modulepreload|prefetch|preconnect|dns-prefetch|icon|manifest)(\s|$)/i;
  for (const e of document.querySelectorAll('script[src]')) res.push(e.src);
  for (const e of document.querySelectorAll('link[href]'))
    if (loading.test(e.getAttribute('rel') || '')) res.push(e.href);
  for (const e of document.querySelectorAll('img[src], iframe[src], source[src], video[src], audio[src], embed[src], track[src]'))
    res.push(e.src);
  for (const e of document.querySelectorAll('img[srcset], source[srcset]'))
    for (const part of e.srcset.split(',')) { const u = part.trim().split(/\s+/)[0]; if (u) res.push(new URL(u, document.baseURI).href); }
  for (const e of document.querySelectorAll('object[data]')) res.push(e.data);
  out.resources = res;

  // Theorem boxes of sphinx-proof.
  out.boxes = Array.from(document.querySelectorAll('div.proof')).map(d => {
    const t = d.querySelector(':scope > .admonition-title');
    return {classes: Array.from(d.classList), id: d.id,
            title: t ? t.textContent.trim() : '', unnumbered: !!(t && t.id)};
  });

  // Tables (for the reproduction report).
  out.tables = Array.from(document.querySelectorAll('table')).map(t => {
    const headRow = t.querySelector('thead tr') || t.querySelector('tr');
    const headers = headRow ? Array.from(headRow.children).map(c => c.textContent.trim()) : [];
    let rows = Array.from(t.querySelectorAll('tbody tr'));
    if (!t.querySelector('thead')) rows = rows.filter(r => r !== headRow);
    return {headers, rows: rows.map(r => ({
      cells: Array.from(r.children).map(c => c.textContent.trim()),
      anchors: Array.from(r.querySelectorAll('a[href]')).map(a => a.href),
    }))};
  });
  out.scroll_height = Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0);
  return out;
})()
"""


SEARCH_RESULTS_JS = r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  for (let i = 0; i < 200; i++) {
    const items = document.querySelectorAll('#search-results ul.search li, ul.search li');
    if (items.length) return {count: items.length, first: items[0].textContent.trim().slice(0, 80)};
    const summary = document.querySelector('#search-results .search-summary, #search-results p');
    if (summary && /did not match|no results|not match any/i.test(summary.textContent))
      return {count: 0, first: summary.textContent.trim().slice(0, 120)};
    await sleep(50);
  }
  return {count: 0, first: 'no search results after 10 s'};
})()
"""


# ---------------------------------------------------------------------------------------
# The check.
# ---------------------------------------------------------------------------------------


@dataclass
class PageEvents:
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    load_failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Report:
    site: Path
    pages: list[str] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)
    images: int = 0
    internal_links: int = 0
    internal_targets: int = 0
    external_links: int = 0
    math_elements: int = 0
    math_sources: int = 0
    theorem_boxes: int = 0
    claims: int | None = None
    search: str | None = None
    report_rows: int | None = None
    screenshots: list[Path] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        lines = [
            f"sitecheck: {self.site}",
            f"  pages checked:      {len(self.pages)} in the browser"
            + (f" (+{len(self.redirects)} redirect page(s))" if self.redirects else ""),
            f"  images loaded:      {self.images}",
            (
                f"  internal links:     {self.internal_links} checked "
                f"({self.internal_targets} distinct targets); {self.external_links} external "
                f"link(s) not followed"
            ),
            (
                f"  math elements:      {self.math_elements} MathJax outputs "
                f"({self.math_sources} Sphinx math elements)"
            ),
            f"  theorem boxes:      {self.theorem_boxes}",
        ]
        if self.search is not None:
            lines.append(f"  search:             {self.search}")
        if self.claims is not None:
            lines.append(
                f"  claims:             {self.claims} recorded, "
                f"{self.report_rows if self.report_rows is not None else 'no'} "
                f"report row(s)"
            )
        lines.append(
            "  screenshots:        " + (", ".join(str(p) for p in self.screenshots) or "none")
        )
        lines.append(f"  time:               {self.seconds:.1f} s")
        for notice in self.notices:
            lines.append(f"  notice: {notice}")
        for warning in self.warnings[:20]:
            lines.append(f"  warning: {warning}")
        if len(self.warnings) > 20:
            lines.append(f"  ... and {len(self.warnings) - 20} more warning(s)")
        if self.failures:
            lines.append(f"FAILED: {len(self.failures)} failure(s):")
            lines.extend(f"  - {f}" for f in self.failures)
        else:
            lines.append("OK: all checks passed")
        return "\n".join(lines)


def is_local_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES or not parts.scheme:
        return True
    if parts.scheme in ("http", "https", "ws", "wss"):
        return (parts.hostname or "") in LOCAL_HOSTS
    return False


def _is_implicit_favicon(url: str) -> bool:
    """The browser asks every origin for /favicon.ico by itself; its absence is no page error."""
    parts = urlsplit(url)
    return is_local_url(url) and parts.path == "/favicon.ico"


def find_pages(site: Path) -> list[Path]:
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site)
        if rel.parts and rel.parts[0] in SKIP_DIRS:
            continue
        pages.append(path)
    return pages


_META_REFRESH = re.compile(
    r"""<meta\s+http-equiv=["']?refresh["']?\s+content=["']\s*\d+\s*;\s*url=([^"']+)["']""",
    re.IGNORECASE,
)


class _IdParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if (key == "id" or (tag == "a" and key == "name")) and value:
                self.ids.add(value)


def static_ids(path: Path) -> set[str]:
    parser = _IdParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser.ids


_HOLDS_YES = re.compile(r"✓|✔|\bholds?\b|\byes\b|\btrue\b|\bpass(ed)?\b|\bok\b", re.IGNORECASE)
_HOLDS_NO = re.compile(
    r"✗|✘|❌|\bfails?\b|\bfailed\b|\bviolated\b|\bno\b|\bfalse\b|"
    r"does not hold|not hold",
    re.IGNORECASE,
)


def check_report_tables(tables: list[dict], claims: list[dict]) -> tuple[int, list[str]]:
    """Rows of the report's claim table(s) against the ledgers: (row count, failures)."""
    failures = []

    def is_claim_table(t):
        head = " ".join(t["headers"]).lower()
        return "measured" in head and "bound" in head

    claim_tables = [t for t in tables if is_claim_table(t)]
    if not claim_tables and len(tables) == 1:
        claim_tables = tables
    if not claim_tables:
        msg = "reproduction report: no claims table found (expected 'measured' and 'bound' columns)"
        return 0, [msg]
    rows = 0
    labels = {str(c.get("label")) for c in claims}
    rows_per_label: dict[str, int] = {}
    for t in claim_tables:
        status_col = next(
            (
                i
                for i, h in enumerate(t["headers"])
                if re.search(r"hold|status|result|verdict|\bok\b", h, re.IGNORECASE)
            ),
            None,
        )
        for row in t["rows"]:
            cells = row["cells"]
            status = (
                cells[status_col]
                if status_col is not None and status_col < len(cells)
                else " ".join(cells)
            )
            if status.strip(" —-–") == "":
                continue  # a placeholder row ("no claims recorded"), not a claim
            rows += 1
            # A row names its claim's label as a link to the statement ({prf:ref}) or as text.
            named = {unquote(urlsplit(a).fragment) for a in row["anchors"]} & labels
            text = " ".join(cells)
            named |= {
                label
                for label in labels
                if re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", text)
            }
            for label in named:
                rows_per_label[label] = rows_per_label.get(label, 0) + 1
            if _HOLDS_NO.search(status) or not _HOLDS_YES.search(status):
                failures.append(
                    f"reproduction report: a row is not marked as holding: "
                    f"{' | '.join(cells)[:160]}"
                )
    if rows != len(claims):
        failures.append(
            f"reproduction report: {rows} claim row(s) but {len(claims)} "
            f"claim(s) recorded in the ledgers"
        )
    claims_per_label: dict[str, int] = {}
    for claim in claims:
        label = str(claim.get("label"))
        claims_per_label[label] = claims_per_label.get(label, 0) + 1
    for label, count in sorted(claims_per_label.items()):
        if rows_per_label.get(label, 0) != count:
            failures.append(
                f"reproduction report: {count} claim(s) of {label!r} recorded but "
                f"{rows_per_label.get(label, 0)} row(s) name it"
            )
    for claim in claims:
        if not claim.get("holds", False):
            failures.append(
                f"claims ledger: claim {claim.get('label')!r} "
                f"({claim.get('chapter')}) does not hold: {claim.get('quantity')}"
            )
    return rows, failures


class SiteChecker:
    def __init__(
        self,
        site: Path,
        browser: Browser,
        claims_dir: Path | None = None,
        screenshot_dir: Path | None = None,
        page_timeout: float = 30.0,
    ):
        self.site = Path(site).resolve()
        self.browser = browser
        self.claims_dir = claims_dir
        self.screenshot_dir = screenshot_dir
        self.page_timeout = page_timeout
        self.report = Report(site=self.site)
        self._events = PageEvents()
        self._events_lock = threading.Lock()
        self._session: str | None = None
        self._load_fired = threading.Event()
        self._blocked_ids: set[str] = set()

    # -- events (reader thread) ------------------------------------------------------
    def _on_event(self, method: str, params: dict, session: str | None) -> None:
        b = self.browser
        ev = self._events
        if method == "Fetch.requestPaused":
            url = params["request"]["url"]
            if is_local_url(url):
                b.send("Fetch.continueRequest", {"requestId": params["requestId"]}, session)
            else:
                with self._events_lock:
                    ev.blocked.append(url)
                    if params.get("networkId"):
                        self._blocked_ids.add(params["networkId"])
                b.send(
                    "Fetch.failRequest",
                    {"requestId": params["requestId"], "errorReason": "BlockedByClient"},
                    session,
                )
        elif method == "Target.attachedToTarget":
            # Workers and out-of-process frames: block their network too, then let them run.
            sub = params["sessionId"]
            b.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, sub)
            b.send("Runtime.enable", {}, sub)
            b.send("Runtime.runIfWaitingForDebugger", {}, sub)
        elif method == "Page.loadEventFired" and session == self._session:
            self._load_fired.set()
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(
                str(a.get("value", a.get("description", ""))) for a in params.get("args", [])
            )
            with self._events_lock:
                if params.get("type") in ("error", "assert"):
                    ev.console_errors.append(f"console.{params['type']}: {text[:300]}")
                elif params.get("type") == "warning":
                    ev.warnings.append(f"console.warn: {text[:200]}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exc = details.get("exception", {}).get("description") or details.get("text", "")
            with self._events_lock:
                ev.console_errors.append(
                    f"uncaught exception: {str(exc)[:300]} "
                    f"({details.get('url', '')}:{details.get('lineNumber', '')})"
                )
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                url = entry.get("url", "")
                if _is_implicit_favicon(url):
                    return
                if entry.get("source") == "network" and url and not is_local_url(url):
                    return  # already reported as a blocked request
                with self._events_lock:
                    ev.console_errors.append(
                        f"log error ({entry.get('source')}): {entry.get('text', '')[:300]} {url}"
                    )
        elif method == "Network.responseReceived":
            resp = params.get("response", {})
            if resp.get("status", 0) >= 400 and not _is_implicit_favicon(resp.get("url", "")):
                with self._events_lock:
                    ev.http_errors.append(f"HTTP {resp['status']} for {resp.get('url')}")
        elif method == "Network.loadingFailed":
            if params.get("requestId") in self._blocked_ids or params.get("canceled"):
                return
            if params.get("blockedReason") or "BLOCKED_BY_CLIENT" in params.get("errorText", ""):
                return
            with self._events_lock:
                ev.load_failures.append(
                    f"request failed ({params.get('errorText')}, {params.get('type', '')})"
                )

    def _take_events(self) -> PageEvents:
        with self._events_lock:
            ev, self._events = self._events, PageEvents()
            self._blocked_ids = set()
        return ev

    # -- driving ---------------------------------------------------------------------
    def _open_tab(self) -> None:
        b = self.browser
        b.handlers.append(self._on_event)
        target = b.call("Target.createTarget", {"url": "about:blank"})
        self._target = target["targetId"]
        s = b.call("Target.attachToTarget", {"targetId": self._target, "flatten": True})
        self._session = s["sessionId"]
        for method, params in (
            ("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}),
            ("Network.enable", {}),
            ("Network.setCacheDisabled", {"cacheDisabled": True}),
            ("Page.enable", {}),
            ("Runtime.enable", {}),
            ("Log.enable", {}),
            (
                "Emulation.setDeviceMetricsOverride",
                {
                    "width": VIEWPORT[0],
                    "height": VIEWPORT[1],
                    "deviceScaleFactor": 1,
                    "mobile": False,
                },
            ),
            (
                "Target.setAutoAttach",
                {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
            ),
        ):
            b.call(method, params, self._session)

    def _close_tab(self) -> None:
        if self._on_event in self.browser.handlers:
            self.browser.handlers.remove(self._on_event)
        try:
            self.browser.call("Target.closeTarget", {"targetId": self._target}, timeout=5)
        except SiteCheckError:
            pass

    def _evaluate(self, expression: str, timeout: float) -> object:
        res = self.browser.call(
            "Runtime.evaluate",
            {
                "expression": expression,
                "awaitPromise": True,
                "returnByValue": True,
                "timeout": int(timeout * 1000),
            },
            self._session,
            timeout=timeout + 5,
        )
        if "exceptionDetails" in res:
            raise SiteCheckError(
                f"page script failed: {res['exceptionDetails'].get('text')} "
                f"{res['exceptionDetails'].get('exception', {}).get('description', '')}"
            )
        return res.get("result", {}).get("value")

    def _visit(self, url: str) -> tuple[dict, PageEvents]:
        self._take_events()
        self._load_fired.clear()
        nav = self.browser.call(
            "Page.navigate", {"url": url}, self._session, timeout=self.page_timeout
        )
        if nav.get("errorText"):
            raise SiteCheckError(f"navigation to {url} failed: {nav['errorText']}")
        if not self._load_fired.wait(self.page_timeout):
            raise SiteCheckError(f"page {url} did not finish loading in {self.page_timeout} s")
        self._evaluate(WAIT_READY_JS, self.page_timeout)
        info = self._evaluate(COLLECT_JS, self.page_timeout)
        time.sleep(0.05)  # let trailing events (late console errors) arrive
        return info, self._take_events()

    def _screenshot(self, path: Path, height: int) -> None:
        height = max(VIEWPORT[1], min(int(height or 0), SCREENSHOT_MAX_HEIGHT))
        shot = self.browser.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": VIEWPORT[0], "height": height, "scale": 1},
            },
            self._session,
            timeout=self.page_timeout,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    # -- the whole check -------------------------------------------------------------
    def run(self) -> Report:
        t0 = time.monotonic()
        rep = self.report
        site = self.site
        pages = find_pages(site)
        if not pages:
            rep.failures.append(f"no HTML pages under {site}")
            return rep
        server = SiteServer(site)
        page_info: dict[str, dict] = {}
        try:
            self._open_tab()
            try:
                for path in pages:
                    rel = path.relative_to(site).as_posix()
                    text = path.read_text(encoding="utf-8", errors="replace")
                    m = _META_REFRESH.search(text[:4000])
                    if m and len(text) < 4000:  # a redirect stub, e.g. Jupyter Book's index.html
                        rep.redirects.append(rel)
                        target = urlsplit(m.group(1).strip()).path
                        if not (path.parent / unquote(target)).is_file():
                            rep.failures.append(f"{rel}: redirect to missing page {target}")
                        continue
                    try:
                        info, events = self._visit(server.base + rel)
                    except SiteCheckError as exc:
                        rep.failures.append(f"{rel}: {exc}")
                        continue
                    rep.pages.append(rel)
                    page_info[rel] = info
                    self._check_page(rel, info, events, server)
                self._check_links(page_info, server)
                self._check_report(page_info)
                self._check_search(page_info, server)
                self._take_screenshots(page_info, server)
            finally:
                self._close_tab()
        finally:
            server.close()
        rep.seconds = time.monotonic() - t0
        return rep

    def _check_page(self, rel: str, info: dict, events: PageEvents, server: SiteServer) -> None:
        rep = self.report
        fail = rep.failures.append
        # Math.
        rep.math_elements += info["mjx"]
        rep.math_sources += info["math_total"]
        if info["math_untypeset"]:
            fail(
                f"{rel}: {len(info['math_untypeset'])} of {info['math_total']} math "
                f"element(s) not typeset by MathJax, e.g. {info['math_untypeset'][0]!r}"
            )
        for err in info["math_errors"][:5]:
            fail(f"{rel}: MathJax error: {err}")
        for raw in info["raw_tex"][:5]:
            fail(f"{rel}: raw TeX in visible text: {raw}")
        if len(info["raw_tex"]) > 5:
            fail(f"{rel}: ... {len(info['raw_tex']) - 5} more block(s) with raw TeX")
        # Images.
        for img in info["images"]:
            if img["ok"]:
                rep.images += 1
            else:
                src = (img["src"] or "(no src)").replace(server.base, "/")
                fail(f"{rel}: image did not load: {src}")
            if not img.get("alt") and img["ok"]:
                src = img["src"].replace(server.base, "/")
                rep.warnings.append(f"{rel}: image without alt text: {src}")
        # Unresolved references.
        for xref in info["unresolved_xrefs"][:10]:
            fail(f"{rel}: unresolved cross-reference: {xref!r}")
        # Theorem boxes.
        for box in info["boxes"]:
            kinds = [k for k in THEOREM_KINDS if k in box["classes"]]
            if not kinds:
                continue  # a proof
            rep.theorem_boxes += 1
            if box["unnumbered"]:
                continue
            kind = kinds[0]
            if not re.match(rf"^{kind}\s+\d+(\.\d+)*\b", box["title"], re.IGNORECASE):
                fail(
                    f"{rel}: {kind} box #{box['id']} has no number in its title: "
                    f"{box['title'][:80]!r}"
                )
        # Network and JavaScript.
        for url in sorted(set(events.blocked)):
            fail(f"{rel}: request to a non-local address (blocked): {url}")
        for url in sorted(set(info["resources"])):
            if not is_local_url(url) and url not in events.blocked:
                fail(f"{rel}: references a non-local resource: {url}")
        for msg in dict.fromkeys(events.console_errors):
            fail(f"{rel}: JavaScript error: {msg.replace(server.base, '/')}")
        for msg in dict.fromkeys(events.http_errors):
            fail(f"{rel}: {msg.replace(server.base, '/')}")
        for msg in dict.fromkeys(events.load_failures):
            fail(f"{rel}: {msg}")
        rep.warnings.extend(f"{rel}: {w}" for w in dict.fromkeys(events.warnings))

    def _resolve(self, url: str, server: SiteServer) -> tuple[Path, str] | None:
        """Internal URL -> (file, fragment); None when the URL is not internal."""
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc == server.base.split("/")[2]:
            path = self.site / unquote(parts.path).lstrip("/")
        elif parts.scheme == "file":
            path = Path(unquote(parts.path))
        else:
            return None
        if path.is_dir():
            path = path / "index.html"
        return path, unquote(parts.fragment)

    def _check_links(self, page_info: dict[str, dict], server: SiteServer) -> None:
        rep = self.report
        ids_cache: dict[Path, set[str]] = {
            (self.site / rel).resolve(): set(info["ids"]) for rel, info in page_info.items()
        }
        targets = set()
        reported = set()
        for rel, info in page_info.items():
            for link in info["links"]:
                href = link["href"]
                scheme = urlsplit(href).scheme
                if scheme in ("mailto", "javascript", "tel", "data"):
                    continue
                resolved = self._resolve(href, server)
                if resolved is None:
                    rep.external_links += 1
                    continue
                rep.internal_links += 1
                path, fragment = resolved
                targets.add((path, fragment))
                shown = link["raw"]
                key = (rel, shown)
                if not path.resolve().is_relative_to(self.site) and not path.is_file():
                    problem = "points outside the site"
                elif not path.is_file():
                    problem = "target file does not exist"
                elif fragment and path.suffix == ".html":
                    rpath = path.resolve()
                    if rpath not in ids_cache:
                        ids_cache[rpath] = static_ids(rpath)
                    problem = (
                        None
                        if fragment in ids_cache[rpath]
                        else f"anchor #{fragment} not found in {rpath.relative_to(self.site)}"
                    )
                else:
                    problem = None
                if problem and key not in reported:
                    reported.add(key)
                    rep.failures.append(
                        f"{rel}: broken link {shown!r} ({link['text']!r}): {problem}"
                    )
        rep.internal_targets = len(targets)

    def _find_report_page(self, page_info: dict[str, dict]) -> str | None:
        for rel, info in page_info.items():
            if "reproduction report" in (info["h1"] + " " + info["title"]).lower():
                return rel
        return None

    def _check_report(self, page_info: dict[str, dict]) -> None:
        rep = self.report
        report_page = self._find_report_page(page_info)
        claims_dir = self.claims_dir
        has_ledgers = bool(claims_dir and claims_dir.is_dir() and any(claims_dir.glob("*.json")))
        if report_page is None:
            if has_ledgers:
                rep.failures.append(
                    f"claims are recorded in {claims_dir} but no page titled "
                    f"'Reproduction report' was found"
                )
            else:
                rep.notices.append(
                    "no 'Reproduction report' page and no claims ledgers: report check skipped"
                )
            return
        if not has_ledgers:
            rep.failures.append(
                f"{report_page}: reproduction report present but no claims "
                f"ledgers found in {claims_dir}"
            )
            return
        try:
            claims = all_claims(claims_dir)
        except ValueError as exc:
            rep.failures.append(str(exc))
            return
        rep.claims = len(claims)
        rows, failures = check_report_tables(page_info[report_page]["tables"], claims)
        rep.report_rows = rows
        rep.failures.extend(f"{report_page}: {f}" for f in failures)

    def _check_search(self, page_info: dict[str, dict], server: SiteServer) -> None:
        """Sphinx's search, from the local search index, finds a word of a page title."""
        rep = self.report
        if "search.html" not in page_info or not (self.site / "searchindex.js").is_file():
            rep.notices.append("no search.html with searchindex.js: search check skipped")
            return
        special = ("search.html", "genindex.html", "py-modindex.html")
        words = [
            word
            for rel, info in page_info.items()
            if rel not in special and not rel.startswith("prf-")
            for word in re.findall(r"[A-Za-z]{5,}", info["h1"])
        ]
        if not words:
            rep.notices.append("no page title with a word to search for: search check skipped")
            return
        term = words[0]
        try:
            _, events = self._visit(f"{server.base}search.html?q={term}")
            found = self._evaluate(SEARCH_RESULTS_JS, self.page_timeout)
        except SiteCheckError as exc:
            rep.failures.append(f"search.html?q={term}: {exc}")
            return
        rep.search = f"{term!r}: {found['count']} result(s)"
        if not found["count"]:
            rep.failures.append(f"search for {term!r} found nothing: {found['first']}")
        late = self._take_events()  # while the results were being computed
        problems = events.console_errors + events.blocked + events.http_errors
        problems += late.console_errors + late.blocked + late.http_errors
        for msg in dict.fromkeys(problems):
            rep.failures.append(f"search.html?q={term}: {msg.replace(server.base, '/')}")

    def _take_screenshots(self, page_info: dict[str, dict], server: SiteServer) -> None:
        rep = self.report
        if self.screenshot_dir is None:
            return
        for filename, description, matches in SCREENSHOT_TARGETS:
            found = next(
                (
                    rel
                    for rel, info in page_info.items()
                    if matches(rel, info["h1"] + " " + info["title"])
                ),
                None,
            )
            if found is None:
                rep.notices.append(f"screenshot of the {description} skipped: no such page")
                print(f"sitecheck: notice: no page for the {description}; screenshot skipped")
                continue
            path = self.screenshot_dir / filename
            try:
                info, _ = self._visit(server.base + found)
                self._screenshot(path, info["scroll_height"])
            except SiteCheckError as exc:
                rep.failures.append(f"{found}: screenshot failed: {exc}")
                continue
            rep.screenshots.append(path)


def check_site(
    site: str | os.PathLike,
    claims_dir: str | os.PathLike | None = None,
    screenshot_dir: str | os.PathLike | None = None,
    chromium: str = DEFAULT_CHROMIUM,
    browser: Browser | None = None,
) -> Report:
    """Check the built site ``site`` in headless Chromium; returns the :class:`Report`.

    ``claims_dir`` defaults to ``<site>/../claims`` (``_build/claims`` for ``_build/html``);
    without ``screenshot_dir`` no screenshot is taken. An open ``browser`` may be shared
    between several checks.
    """
    site = Path(site)
    if not site.is_dir():
        raise SiteCheckError(f"site directory {site} does not exist")
    if claims_dir is None:
        claims_dir = site.resolve().parent / "claims"
    own = browser is None
    browser = browser or Browser(chromium)
    try:
        checker = SiteChecker(
            site,
            browser,
            Path(claims_dir) if claims_dir is not None else None,
            Path(screenshot_dir) if screenshot_dir is not None else None,
        )
        return checker.run()
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
    claims = Path(args.claims) if args.claims else site.resolve().parent / "claims"
    shots = (
        None
        if args.no_screenshots
        else (Path(args.screenshots) if args.screenshots else site.resolve().parent / "screenshots")
    )
    try:
        report = check_site(site, claims, shots, chromium=args.chromium)
    except SiteCheckError as exc:
        print(f"sitecheck: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    if args.json:
        data = {k: (str(v) if isinstance(v, Path) else v) for k, v in report.__dict__.items()}
        data["screenshots"] = [str(p) for p in report.screenshots]
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
