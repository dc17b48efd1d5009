"""The parts of :mod:`book_toolchain.sitecheck` that need no browser: the reproduction
report against the claims ledgers, the ids of a page, the allow-list of chapters whose
presentation pass is still pending, and the report of the check."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit


def static_ids(path: Path) -> set[str]:
    """The anchors of an HTML file: its id attributes (and name, for old-style anchors)."""
    return set(_ID.findall(path.read_text(encoding="utf-8", errors="replace")))


_ID = re.compile(r"""\s(?:id|name)=["']([^"']+)["']""")
_STATUS = re.compile(r"hold|status|result|verdict|\bok\b", re.IGNORECASE)  # a column header
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
    per_label = Counter(str(c.get("label")) for c in claims)
    rows_per_label: Counter = Counter()
    for t in claim_tables:
        status_col = next((i for i, h in enumerate(t["headers"]) if _STATUS.search(h)), None)
        for row in t["rows"]:
            cells = row["cells"]
            ok = status_col is not None and status_col < len(cells)
            status = cells[status_col] if ok else " ".join(cells)
            if status.strip(" —-–") == "":
                continue  # a placeholder row ("no claims recorded"), not a claim
            rows += 1
            # A row names its claim's label as a link to the statement ({prf:ref}); only a row
            # without such a link is read as text (a quantity may mention another label).
            named = {unquote(urlsplit(a).fragment) for a in row["anchors"]} & per_label.keys()
            if not named:
                text = " ".join(cells)
                named = {
                    lb for lb in per_label
                    if re.search(rf"(?<![\w-]){re.escape(lb)}(?![\w-])", text)
                }
            rows_per_label.update(named)
            if _HOLDS_NO.search(status) or not _HOLDS_YES.search(status):
                failures.append(
                    f"reproduction report: a row is not marked as holding: {' | '.join(cells)[:160]}"
                )
    if rows != len(claims):
        failures.append(
            f"reproduction report: {rows} claim row(s) but {len(claims)} claim(s) in the ledgers"
        )
    failures += [
        f"reproduction report: {n} claim(s) of {label!r} recorded but {rows_per_label[label]} "
        "row(s) name it"
        for label, n in sorted(per_label.items())
        if rows_per_label[label] != n
    ]
    failures += [
        f"claims ledger: claim {c.get('label')!r} ({c.get('chapter')}) does not hold: {c.get('quantity')}"
        for c in claims
        if not c.get("holds", False)
    ]
    return rows, failures


# Check name -> what its count counts (the summary prints one line per check).
CHECKS = {
    "pages": "pages: no JS error, HTTP error or non-local request",
    "math": "math elements: typeset, no MathJax error",
    "raw_tex": "text blocks (code excluded): no TeX or $ delimiter",
    "paths": "text blocks (code included): no machine path",
    "images": "images: loaded",
    "figure_zoom": "figures: 10 pt font >= 9 px at 1440 px",
    "figure_390": "figures below 9 px at 390 px: open full size on a tap, with a cue",
    "links": "internal links: target and anchor exist",
    "xrefs": "cross-references: resolved",
    "theorems": "theorem boxes: numbered",
    "pipe_tables": "output areas: no pipe-table text",
    "stderr": "output areas: no stderr box",
    "display_1440": "display equations: fit the column at 1440 px",
    "display_390": "display equations: do not clip the page at 390 px",
    "inline_math_390": "inline formulas at 390 px: in the column or scrolling with a cue",
    "page_scroll": "page views at 1440 and 390 px: no sideways scroll",
    "report_rows": "reproduction report rows: one per ledger claim, holding",
    "search": "search results for a title word",
    "navigation": "sidebar toggles at 390, 900, 1440 px: open and close",
    "table_columns": "tables at 1440 px: every column in view",
    "scroll_cue": "boxes scrolling sideways at 390 px: with a visible cue",
    "number_wrap": "numbers in tables and prose: on one line",
    "repr_output": "output cells: no Python repr (dict, list, array, raw float)",
    "code_share": "pages at 1440 px: visible code <= 15% of the height",
    "caption_code": "captions: no code (backticked names)",
    "table_caption": "tables on numbered pages: numbered caption",
    "raw_number": "text blocks: no e-notation or 9+ decimals",
    "heading_number": "headings: not numbered twice",
    "proof_title": "proofs: titled once",
    "hover_contrast": "hover previews: text contrast >= 4.5",
    "pending": "allow-list entries (chapter, check): still failing",
}
# Checks whose failures depend on a chapter's content: an allow-list entry may defer them until
# the chapter has had its presentation pass (the others are the site's, never deferred).
PENDABLE = {
    "code_share", "repr_output", "caption_code", "raw_number", "table_caption", "number_wrap",
    "table_columns", "heading_number", "proof_title", "stderr",
}


def read_pending(path) -> set[tuple[str, str]]:
    """The allow-list: lines ``<page stem> <check>`` (``#`` starts a comment), e.g.
    ``06_space_time_approximation code_share``. Only :data:`PENDABLE` checks may be listed."""
    if path is None or not Path(path).is_file():
        return set()
    pending = set()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2 or words[1] not in PENDABLE:
            raise ValueError(
                f"{path}:{number}: expected '<page> <check>' with a check among "
                f"{', '.join(sorted(PENDABLE))}, got {line.strip()!r}"
            )
        pending.add((words[0], words[1]))
    return pending


def page_stem(rel: str) -> str:
    """The name a page has in the allow-list: its file name without ``.html``."""
    return rel.rsplit("/", 1)[-1].removesuffix(".html")


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
    # (page stem, check) pairs allowed to fail for now; what they caught goes to ``deferred``.
    allowed: set[tuple[str, str]] = field(default_factory=set)
    deferred: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    deferred_hits: set[tuple[str, str]] = field(default_factory=set)
    code_share: dict[str, float] = field(default_factory=dict)  # page -> visible code share

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, check: str, message: str, page: str | None = None) -> None:
        key = (page_stem(page), check) if page else None
        if key in self.allowed:
            self.deferred[check] += 1
            self.deferred_hits.add(key)
            return
        self.failed[check] += 1
        self.failures.append(message)

    def close_allow_list(self) -> None:
        """An allow-list entry that caught nothing is stale: it fails (remove it)."""
        for stem, check in sorted(self.allowed - self.deferred_hits):
            if any(page_stem(p) == stem for p in self.pages):
                self.fail(
                    "pending",
                    f"allow-list entry '{stem} {check}' is stale: the page passes {check} now; "
                    "remove the line",
                )
            else:
                self.notices.append(f"allow-list entry '{stem} {check}': no such page checked")
        self.counts["pending"] = len(self.allowed)

    def summary(self) -> str:
        lines = [
            f"sitecheck: {self.site}: {len(self.pages)} pages (+{len(self.redirects)} redirects)"
        ]
        lines += [
            f"  {name:<15}{self.counts[name]:>6} {what}"
            + (f"  -- {self.failed[name]} FAILED" if self.failed[name] else "")
            + (f"  ({self.deferred[name]} pending, allow-listed)" if self.deferred[name] else "")
            for name, what in CHECKS.items()
        ]
        if self.code_share:
            shares = ", ".join(
                f"{page_stem(p)} {100 * v:.0f}%" for p, v in sorted(self.code_share.items()) if v
            )
            lines.append(f"  visible code share at 1440 px: {shares or 'none'}")
        if self.allowed:
            pending = ", ".join(f"{s} {c}" for s, c in sorted(self.allowed))
            lines.append(f"  allow-list (pending presentation pass): {pending}")
        lines.append(
            f"  external links not followed: {self.external_links}; claims in the ledgers:"
            f" {self.claims}; search: {self.search}; time: {self.seconds:.0f} s"
        )
        lines.append("  screenshots: " + (", ".join(str(p) for p in self.screenshots) or "none"))
        lines += [f"  notice: {n}" for n in self.notices]
        lines += [f"  warning: {w}" for w in self.warnings[:20]]
        if self.failures:
            lines.append(f"FAILED: {len(self.failures)} failure(s):")
            lines.extend(f"  - {f}" for f in self.failures)
        else:
            lines.append("OK: all checks passed")
        return "\n".join(lines)
