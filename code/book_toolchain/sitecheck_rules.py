"""The rules of :mod:`book_toolchain.sitecheck` that need no browser: text patterns, the
figure zoom threshold, the reproduction report against the claims ledgers, and the report."""

from __future__ import annotations

import base64
import html.parser
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

# TeX left in prose: a $...$ or $$...$$ pair, \( \) \[ \], any control word (\tfrac, \sum,
# \begin), or a `$` glued to TeX (`$\bar`, `}$`): what a broken inline formula leaves behind.
RAW_TEX = re.compile(
    r"\$\$[\s\S]+?\$\$|\$[^$\s](?:[^$\n]*?[^$\s\\])?\$|\\[()\[\]]|\\[A-Za-z]+|\$\\|[}^_]\$"
)
# A Markdown table printed as text: a delimiter row (`|---|`, or `|—|` after smartquotes)
# anywhere, or two consecutive lines that start and end with `|` around at least two cells.
PIPE_DELIMITER = re.compile(r"\|\s*:?(?:-{3,}|[—–]+):?\s*\|")
PIPE_ROW = re.compile(r"^\s*\|(?:[^|\n]*\|){2,}\s*$")
# A path of the machine that built the book (a venv, a home, a scratch directory).
ABS_PATH = re.compile(
    r"(?<![\w.~/-])(?:/root|/home|/work|/tmp|/Users)/\S*|\S*(?:\.venv/|site-packages)\S*"
)

# Figure zoom. Matplotlib's default font.size is 10 pt (tick labels and legends are
# "medium" = font.size); a PNG saved at D dpi draws it ~10 * D / 72 px tall. Shown at
# `scale` = displayed width / natural width, it is 10 * D / 72 * scale CSS px; it must be at
# least MIN_FONT_PX. D comes from the PNG's pHYs chunk (matplotlib writes it); without one
# it is matplotlib's default figure.dpi, 100, which the book's inline figures use.
FIGURE_FONT_PT = 10.0
MIN_FONT_PX = 9.0
DEFAULT_DPI = 100.0


def pipe_table_lines(text: str) -> list[str]:
    """Lines of ``text`` that are Markdown table source shown as text."""
    lines = text.splitlines()
    rows = [bool(PIPE_ROW.match(line)) for line in lines]
    return [
        line.strip()
        for i, line in enumerate(lines)
        if PIPE_DELIMITER.search(line)
        or (rows[i] and ((i and rows[i - 1]) or (i + 1 < len(lines) and rows[i + 1])))
    ]


def png_dpi(data: bytes) -> float | None:
    """Horizontal resolution in dots per inch from a PNG's pHYs chunk; None without one."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"pHYs" and length == 9:
            ppu_x, _, unit = struct.unpack(">IIB", data[pos + 8 : pos + 17])
            return ppu_x * 0.0254 if unit == 1 and ppu_x else None
        if kind in (b"IDAT", b"IEND"):
            return None  # pHYs must come before the image data
        pos += 12 + length
    return None


def image_bytes(src: str, base: str, site: Path) -> bytes | None:
    """The bytes of an image URL of the site (served from ``base``) or a data: URL."""
    if src.startswith("data:image/png;base64,"):
        return base64.b64decode(src.split(",", 1)[1])
    if src.startswith(base):
        path = site / unquote(urlsplit(src).path).lstrip("/")
        return path.read_bytes() if path.is_file() else None
    return None


def figure_font_px(natural: float, shown: float, dpi: float | None) -> float:
    """On-screen size in CSS px of the figure's default font (see FIGURE_FONT_PT)."""
    return FIGURE_FONT_PT * (dpi or DEFAULT_DPI) / 72.0 * shown / natural


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
    r"✗|✘|❌|\bfails?\b|\bfailed\b|\bviolated\b|\bno\b|\bfalse\b|does not hold|not hold",
    re.IGNORECASE,
)


def check_report_tables(tables: list[dict], claims: list[dict]) -> tuple[int, list[str]]:
    """Rows of the report's claim table(s) against the ledgers: (row count, failures).

    A claim table has 'measured' and 'bound' column headers; each of its rows is one claim,
    names the claim's label (as a link fragment or as text) and is marked as holding.
    """
    claim_tables = [
        t for t in tables if {"measured", "bound"} <= set(" ".join(t["headers"]).lower().split())
    ] or (tables if len(tables) == 1 else [])
    if not claim_tables:
        return 0, [
            "reproduction report: no claims table found (expected 'measured' and 'bound' columns)"
        ]
    failures, rows = [], 0
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
            ok = status_col is not None and status_col < len(cells)
            status = cells[status_col] if ok else " ".join(cells)
            if status.strip(" —-–") == "":
                continue  # a placeholder row ("no claims recorded"), not a claim
            rows += 1
            named = {unquote(urlsplit(a).fragment) for a in row["anchors"]} & labels
            text = " ".join(cells)
            named |= {
                lb for lb in labels if re.search(rf"(?<![\w-]){re.escape(lb)}(?![\w-])", text)
            }
            for label in named:
                rows_per_label[label] = rows_per_label.get(label, 0) + 1
            if _HOLDS_NO.search(status) or not _HOLDS_YES.search(status):
                failures.append(
                    f"reproduction report: a row is not marked as holding: {' | '.join(cells)[:160]}"
                )
    if rows != len(claims):
        failures.append(
            f"reproduction report: {rows} claim row(s) but {len(claims)} claim(s) recorded in the ledgers"
        )
    per_label: dict[str, int] = {}
    for claim in claims:
        per_label[str(claim.get("label"))] = per_label.get(str(claim.get("label")), 0) + 1
    for label, count in sorted(per_label.items()):
        if rows_per_label.get(label, 0) != count:
            failures.append(
                f"reproduction report: {count} claim(s) of {label!r} recorded but "
                f"{rows_per_label.get(label, 0)} row(s) name it"
            )
    failures += [
        f"claims ledger: claim {c.get('label')!r} ({c.get('chapter')}) does not hold: {c.get('quantity')}"
        for c in claims
        if not c.get("holds", False)
    ]
    return rows, failures


# Check name -> what its count counts (the summary prints one line per check).
CHECKS = {
    "pages": "pages loaded without JS error or non-local request",
    "math": "math elements typeset by MathJax",
    "raw_tex": "visible text blocks free of TeX and $ delimiters",
    "images": "images loaded",
    "links": "internal links with existing target and anchor",
    "xrefs": "cross-references resolved",
    "theorems": "theorem boxes numbered",
    "pipe_tables": "output areas without pipe-table text",
    "stderr": "output areas, none of them stderr",
    "paths": "visible text blocks without a machine path",
    "display_1440": "display equations fitting the column at 1440 px",
    "display_390": "display equations not clipping the page at 390 px",
    "page_scroll": "page views (1440 and 390 px) without horizontal scroll",
    "figure_zoom": f"figures whose {FIGURE_FONT_PT:g} pt font is >= {MIN_FONT_PX:g} px at 1440 px",
    "report_rows": "reproduction report rows matching the ledgers",
    "search": "search results",
}


@dataclass
class Report:
    site: Path
    pages: list[str] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    failed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    external_links: int = 0
    claims: int | None = None
    search: str | None = None
    screenshots: list[Path] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, check: str, message: str) -> None:
        self.failed[check] += 1
        self.failures.append(message)

    def summary(self) -> str:
        lines = [
            f"sitecheck: {self.site}: {len(self.pages)} pages (+{len(self.redirects)} redirects)"
        ]
        lines += [
            f"  {name:<13}{self.counts[name]:>6} {what}"
            + (f"  -- {self.failed[name]} FAILED" if self.failed[name] else "")
            for name, what in CHECKS.items()
        ]
        lines.append(
            f"  {self.external_links} external link(s) not followed; search: {self.search}"
        )
        if self.claims is not None:
            lines.append(f"  claims: {self.claims} recorded in the ledgers")
        lines.append("  screenshots: " + (", ".join(str(p) for p in self.screenshots) or "none"))
        lines.append(f"  time: {self.seconds:.1f} s")
        lines += [f"  notice: {n}" for n in self.notices]
        lines += [f"  warning: {w}" for w in self.warnings[:20]]
        if self.failures:
            lines.append(f"FAILED: {len(self.failures)} failure(s):")
            lines.extend(f"  - {f}" for f in self.failures)
        else:
            lines.append("OK: all checks passed")
        return "\n".join(lines)
