"""The generated pages: the Reproduction report and the Theorem index (MyST sources).

Claim kinds (``claim["kind"]``): ``bound``, ``sharpness`` and ``rate`` compare a measurement
with what a theorem predicts and count as *evidence*; ``consistency``, ``design`` and
``example`` do not. A claim's scope says whether it checks the statement's own inequality
(``statement``) or one part of it (``part``). One definition of strength serves the report,
the index and the gate (:func:`book_toolchain.claims.strength_by_label`): a statement's
*headline ratio* is the largest measured/bound ratio over its bound and sharpness claims of
scope ``statement`` (a rate claim's ratio is a slope over its tolerance, not a bound's ratio),
and its *strength* follows from it and from the notes a chapter records with
``record_strength_note``. The best ratio of its parts is shown beside, never in its place.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from .claims import EVIDENCE_KINDS, claim_scope, strength_by_label
from .claims import KINDS as CLAIM_KINDS
from .numbers import MINUS, fmt
from .project import INDEXED_KINDS, Statement

UNKNOWN_KIND = "kind not recorded"
# A ratio this close to 1 is an attained bound (measured == bound up to round-off).
ATTAINED_TOLERANCE = 1e-12
CSV_FIELDS = ("chapter", "label", "kind", "quantity", "measured", "bound", "ratio", "holds")


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "not measured"
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def number(value: float) -> str:
    """As the book prints numbers (:func:`book_toolchain.numbers.fmt`), three digits."""
    return fmt(value, 3)


def attained(claim: dict[str, Any]) -> bool:
    return claim.get("ratio") is not None and abs(claim["ratio"] - 1.0) <= ATTAINED_TOLERANCE


def bound_text(claim: dict[str, Any]) -> str:
    """The bound; a lower bound (``relation '>='``, measured >= bound) is marked ≥."""
    prefix = "≥ " if claim.get("relation") == ">=" else ""
    return prefix + number(claim["bound"])


def format_ratio(claim: dict[str, Any]) -> str:
    """The ratio to 3 significant digits; an attained bound is marked, and a ratio that only
    rounds to 1 is written as its distance from 1 ("1 − 4 × 10⁻⁵")."""
    ratio = claim.get("ratio")
    if ratio is None:  # a lower-bound claim that fails with measured <= 0
        return "—"
    if attained(claim):
        return "**1** (attained)"
    text = number(ratio)
    if text == "1":
        gap = fmt(abs(1.0 - ratio), 2)
        text = f"1\u202f{MINUS if ratio < 1 else '+'}\u202f{gap}"
    return text


def claim_kind(claim: dict[str, Any]) -> str | None:
    """The claim's kind; ledgers written before ``kind`` existed carry it in the context."""
    kind = claim.get("kind") or (claim.get("context") or {}).get("kind")
    return kind if kind in CLAIM_KINDS else None


def strength_entries(ledgers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per label, :func:`book_toolchain.claims.strength_by_label`'s entry (headline, parts,
    status), from the claims and the chapters' strength notes."""
    claims = [{**c, "kind": claim_kind(c)} for _, c in _claims(ledgers)]
    notes = [n for ledger in ledgers.values() for n in ledger.get("strength_notes", [])]
    return strength_by_label(claims, notes)


def strongest_ratio(claims: list[dict[str, Any]]) -> float | None:
    """The largest ratio among bound and sharpness claims of a statement's own inequality: a
    design or consistency check's ratio, or a part's, says nothing about a theorem's constant."""
    ratios = [
        c["ratio"]
        for c in claims
        if claim_kind(c) in ("bound", "sharpness") and claim_scope(c) == "statement"
        and c.get("ratio") is not None
    ]
    return max(ratios) if ratios else None


def headline_text(entry: dict[str, Any] | None) -> str:
    """The headline ratio (the statement's own inequality), or — without one."""
    best = None if entry is None else entry["headline"]
    return "—" if best is None else number(best["ratio"])


def parts_text(entry: dict[str, Any] | None) -> str:
    """The best ratio of the statement's parts and their number of evidence claims: beside
    the headline, never in its place."""
    best = None if entry is None else entry["parts"]
    count = 0 if entry is None else entry["scopes"].get("part", 0)
    if best is None:
        return f"rate ×{count}" if count else "—"
    return f"{number(best['ratio'])} (of {count})"


def kinds_summary(claims: list[dict[str, Any]]) -> str:
    """``bound ×3, rate ×1 · consistency ×2``: evidence kinds first, then the others."""
    counts: dict[str, int] = {}
    for claim in claims:
        kind = claim_kind(claim) or UNKNOWN_KIND
        counts[kind] = counts.get(kind, 0) + 1

    def part(kinds):
        return ", ".join(f"{k} ×{counts[k]}" for k in kinds if k in counts)

    parts = [part(EVIDENCE_KINDS), part(CLAIM_KINDS[3:]), part((UNKNOWN_KIND,))]
    return " · ".join(p for p in parts if p) or "—"


# Pseudo-ASCII of the chapters' quantity strings, as Unicode (longest names first).
_GREEK = {
    "Lambda": "Λ", "lambda": "λ", "alpha": "α", "delta": "δ", "sigma": "σ", "theta": "θ",
    "omega": "ω", "Phi": "Φ", "Psi": "Ψ", "rho": "ρ", "eta": "η", "eps": "ε", "tau": "τ",
}
_SUBSCRIPT = dict(zip("0123456789kijnmxlthps+-()", "₀₁₂₃₄₅₆₇₈₉ₖᵢⱼₙₘₓₗₜₕₚₛ₊₋₍₎", strict=True))
_SUPERSCRIPT = dict(
    zip("0123456789+-()abcdehijklmnoprstuvwxyzLTα", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾ᵃᵇᶜᵈᵉʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴸᵀᵅ", strict=True)
)
_SYMBOLS = {"<=": "≤", ">=": "≥", " - ": " − ", "||": "‖"}
# Names replaced only where they start a word ("DPsi" is the derivative of Psi).
_WORDS = {"DPsi": "DΨ", "sqrt(": "√(", "sum_": "Σ_", "sum ": "Σ ", "prod(": "∏(", "prod ": "∏ ",
          "prod_": "∏_", "int_": "∫_", "int ": "∫ "}


def pretty_quantity(text: str) -> str:
    """A quantity as Markdown: ``$…$`` parts stay TeX (typeset by MathJax), the pseudo-ASCII
    of the rest (``max_k |x_k - Phi(t_k)|``, ``rho0``, ``<=``, ``sqrt(d)``) becomes Unicode."""
    text = re.sub(r"\^(\d+\.\d+)", r"$^{\1}$", str(text))  # t^0.5: a decimal exponent as TeX
    parts = re.split(r"(\$[^$]+\$)", text)
    return "".join(part if part.startswith("$") else _pretty_ascii(part) for part in parts)


def _script(match: re.Match) -> str:
    """``_k``, ``^2``, ``_{j<k}`` as Unicode sub/superscripts where Unicode has them."""
    table = _SUBSCRIPT if match.group(1) == "_" else _SUPERSCRIPT
    if match.group(2) is not None:  # braces: convert what can be, keep the rest
        return "".join(table.get(c, c) for c in match.group(2))
    chars = match.group(3)
    return "".join(table[c] for c in chars) if all(c in table for c in chars) else match.group(0)


_E_NOTATION = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][+-]?\d+(?![\w.])")


def _pretty_ascii(text: str) -> str:
    text = _E_NOTATION.sub(lambda m: fmt(float(m.group(0))), text)  # 1e-12 -> 10⁻¹²
    for ascii_, symbol in _SYMBOLS.items():
        text = text.replace(ascii_, symbol)
    for ascii_, symbol in _WORDS.items():
        text = re.sub(rf"(?<![A-Za-z]){re.escape(ascii_)}", symbol, text)
    names = "|".join(sorted(_GREEK, key=len, reverse=True))
    text = re.sub(rf"(?<![A-Za-z])({names})(?![A-Za-z])", lambda m: _GREEK[m.group(1)], text)
    text = re.sub(r"(?<=[ρεx])0\b", "₀", text)
    text = re.sub(r"(?<=\S)([_^])(?:\{([^{}]+)\}|(-?[0-9]+|[A-Za-zα])(?![A-Za-z]))", _script, text)
    return cell(text).replace("*", "\\*").replace("_", "\\_")


def _claims(ledgers: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, c) for name, ledger in ledgers.items() for c in ledger.get("claims", [])]


def _chapter_number(name: str) -> int:
    return int(name[:2]) if name[:2].isdigit() else 0


def report_page(ledgers: dict[str, dict[str, Any]], statements: list[Statement]) -> str:
    """MyST source of the reproduction report: summary per statement, runs, claims per chapter.

    Each claim is one row of a chapter's table (Statement, …, Measured, Bound, Ratio, Holds),
    which the browser check compares with the ledgers.
    """
    labels = {s.label for s in statements if s.label}
    all_claims = _claims(ledgers)
    failing = [c for _, c in all_claims if not c["holds"]]
    versions = next((ledger.get("versions") for ledger in ledgers.values() if ledger), {}) or {}
    n_chapters = sum(1 for ledger in ledgers.values() if ledger.get("claims"))
    lines = [
        "# Reproduction report",
        "",
        (
            "Every numerical claim this book checks, as recorded by the chapters while they ran "
            "for this build: a measured quantity, the bound the theorem gives for it, and their "
            "ratio. A claim holds when the measured value does not exceed the bound; a chapter "
            "stops with an error when one does not, so a rendered book has only holding claims. "
            "Claims of kind *bound*, *sharpness* and *rate* are evidence for their statement; "
            "*consistency*, *design* and *example* claims check the code and the examples. "
            "The {doc}`theorem_index` lists every statement with its status."
        ),
        "",
        _mode_line(ledgers),
        "",
        f"**{len(all_claims)} claims** in {n_chapters} chapters; "
        f"{'all hold' if not failing else f'{len(failing)} do NOT hold'}. "
        "Download them as {download}`CSV </downloads/claims.csv>` or "
        "{download}`JSON </downloads/claims.json>`. "
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "## Summary by statement",
        "",
        (
            "Headline ratio: the largest measured/bound ratio among the bound and sharpness "
            "claims that check the statement's own inequality. Strength: *full strength* when "
            "it is at least 0.5, so that the statement with a constant twice too optimistic "
            "would fail; otherwise the chapter says why (*rate only*, *not tested at full "
            "strength*). Parts: the largest ratio among the claims that check one part of the "
            "statement (a step of its proof, one term of a sum of bounds), with their number; "
            "a part never counts for the strength."
        ),
        "",
        ("| Statement | Kinds of evidence | Headline ratio | Strength | Parts | Claims "
         "| All hold |"),
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    by_label: dict[str, list[dict[str, Any]]] = {}
    for _, claim in all_claims:
        by_label.setdefault(claim["label"], []).append(claim)
    ordered = [s.label for s in statements if s.label in by_label]
    ordered += sorted(set(by_label) - set(ordered))
    entries = strength_entries(ledgers)
    for label in ordered:
        checks, entry = by_label[label], entries.get(label)
        lines.append(
            f"| {_ref(label, labels)} | {kinds_summary(checks)} | {headline_text(entry)} "
            f"| {'—' if entry is None else entry['status']} | {parts_text(entry)} "
            f"| {len(checks)} "
            f"| {'yes' if all(c['holds'] for c in checks) else '**NO**'} |"
        )
    if not all_claims:
        lines.append("| — | — | — | — | — | 0 | — |")
    lines += [
        "",
        "## Runs",
        "",
        "| Chapter | Mode | Seed | Parameters | Run time | Claims |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, ledger in ledgers.items():
        params = ", ".join(
            f"`{k}={v}`"
            for k, v in (ledger.get("parameters") or {}).items()
            if k not in ("mode", "seed")
        )
        run_time = (
            format_seconds(ledger["elapsed_s"]) if ledger.get("executed", True) else "no code"
        )
        lines.append(
            f"| {{doc}}`{name}` | {ledger.get('mode')} | {ledger.get('seed')} | {params or '—'} "
            f"| {run_time} | {len(ledger.get('claims', []))} |"
        )
    lines += [
        "",
        "## Claims by chapter",
        "",
        (
            "Each chapter's claims, largest ratio first; its strongest ratio is the largest among "
            "the bound and sharpness claims of its statements' own inequalities (a design or "
            "consistency check's ratio, or a part's, says nothing about a theorem's constant)."
        ),
        "",
    ]
    for name, ledger in ledgers.items():
        claims = sorted(ledger.get("claims", []), key=lambda c: -(c.get("ratio") or 0.0))
        if not claims:
            continue
        holding = "all hold" if all(c["holds"] for c in claims) else "some do NOT hold"
        strongest = strongest_ratio(claims)
        title = (
            f"Chapter {_chapter_number(name)}: {len(claims)} claims, strongest ratio "
            f"{'—' if strongest is None else number(strongest)}, {holding}"
        )
        lines += [
            f":::{{dropdown}} {title}",
            "",
            f"{{doc}}`{name}`",
            "",
            "| Statement | Kind | Quantity | Measured | Bound | Ratio | Holds |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for claim in claims:
            part = " (part)" if claim_scope(claim) == "part" else ""
            lines.append(
                f"| {_ref(claim['label'], labels)} | {claim_kind(claim) or '—'}{part} "
                f"| {pretty_quantity(claim['quantity'])} | {number(claim['measured'])} "
                f"| {bound_text(claim)} | {format_ratio(claim)} "
                f"| {'yes' if claim['holds'] else '**NO**'} |"
            )
        lines += [":::", ""]
    return "\n".join(lines) + "\n"


def _mode_line(ledgers: dict[str, dict[str, Any]]) -> str:
    """The report's sentence on the build: quick, full or mixed (each chapter's mode is in the
    Runs table)."""
    mode = build_mode(ledgers)
    if mode == "quick":
        return ("This is the **quick build**: every chapter ran in quick mode (smaller samples, "
                "fewer points on the scaling figures); `make book MODE=full` runs them all at "
                "publication quality.")
    if mode == "full":
        return "This is the **full build**: every chapter ran in full mode."
    if mode == "mixed":
        return "This build **mixes modes**: the Runs table gives each chapter's."
    return "No chapter recorded its mode."


def build_mode(ledgers: dict[str, dict[str, Any]]) -> str:
    """``quick`` or ``full`` when every executed chapter ran in that mode, else ``mixed``
    ('' when no chapter recorded a mode)."""
    modes = {ledger.get("mode") for ledger in ledgers.values() if ledger.get("mode")}
    if not modes:
        return ""
    return modes.pop() if len(modes) == 1 else "mixed"


def stage_build_mode(config_path, ledgers: dict[str, dict[str, Any]]) -> str:
    """Write the build's mode into the staged ``_config.yml`` (Sphinx config
    ``book_build_mode``, read by :mod:`book_toolchain.site_fixes`); returns the mode."""
    from pathlib import Path

    import yaml

    path = Path(config_path)
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    mode = build_mode(ledgers)
    config.setdefault("sphinx", {}).setdefault("config", {})["book_build_mode"] = mode
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return mode


def _ref(label: str, labels: set[str]) -> str:
    return f"{{prf:ref}}`{label}`" if label in labels else f"`{label}` (unknown label)"


def claims_csv(ledgers: dict[str, dict[str, Any]]) -> str:
    """Every claim as CSV (one row each; ``context`` as a JSON object in the last column)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_FIELDS, "context"])
    for name, claim in _claims(ledgers):
        row = {**claim, "chapter": name, "kind": claim_kind(claim) or ""}
        writer.writerow(
            [row[f] for f in CSV_FIELDS] + [json.dumps(claim.get("context") or {}, sort_keys=True)]
        )
    return out.getvalue()


def claims_json(ledgers: dict[str, dict[str, Any]]) -> str:
    """Every claim as a JSON list, each with its chapter and kind."""
    rows = [
        {"chapter": name, **claim, "kind": claim_kind(claim)} for name, claim in _claims(ledgers)
    ]
    return json.dumps(rows, indent=1, allow_nan=False) + "\n"


def theorem_index_page(ledgers: dict[str, dict[str, Any]], statements: list[Statement]) -> str:
    """MyST source of the theorem index with each statement's checked status.

    Seven columns that fit the 790 px column at 1440 px: the number of claims leads their
    kinds in one cell ("24: bound ×16, … · consistency ×1"), and a statement without claims
    says "none" there and "—" under Holds (the intro says so), instead of a long status."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for _, claim in _claims(ledgers):
        by_label.setdefault(claim["label"], []).append(claim)
    lines = [
        "# Theorem index",
        "",
        (
            "Every definition and result of the book, with the numerical checks made of it in "
            "this build (see the {doc}`reproduction_report`). *Claims*: their number and kinds "
            "(evidence first, then the checks of the code and the examples), or *none* when "
            "the statement is not checked numerically. *Headline ratio*: the largest ratio of "
            "measured value to bound among the bound and sharpness claims of the statement's "
            "own inequality; *strength* follows from it. *Parts*: the best ratio of the claims "
            "that check only a part of the statement (with their number). *Holds*: whether all "
            "its claims hold (— when it has none). A statement's number says its chapter "
            "(Theorem 6.1 is in chapter 6)."
        ),
        "",
        "| Statement | Title | Claims | Headline ratio | Strength | Parts | Holds |",
        "| --- | --- | --- | ---: | --- | --- | --- |",
    ]
    entries = strength_entries(ledgers)
    for s in statements:
        if s.kind not in INDEXED_KINDS:
            continue
        ref = f"{{prf:ref}}`{s.label}`" if s.label else f"{s.kind} (no label)"
        checks, entry = by_label.get(s.label or "", []), entries.get(s.label or "")
        if checks:
            claims = f"{len(checks)}: {kinds_summary(checks)}"
            status = "all hold" if all(c["holds"] for c in checks) else "**fails**"
        else:
            claims, status = "none", "—"
        lines.append(
            f"| {ref} | {cell(s.title) or '—'} | {claims} | {headline_text(entry)} "
            f"| {'—' if entry is None else entry['status']} | {parts_text(entry)} | {status} |"
        )
    if not any(s.kind in INDEXED_KINDS for s in statements):
        lines.append("| no statements yet | | | | | | |")
    return "\n".join(lines) + "\n"
