"""The generated pages: the Reproduction report and the Theorem index (MyST sources)."""

from __future__ import annotations

from typing import Any

from .project import INDEXED_KINDS, Statement


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "not measured yet"
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def number(value: float) -> str:
    return f"{value:.3g}" if 1e-3 <= abs(value) < 1e4 else f"{value:.3e}"


def report_page(ledgers: dict[str, dict[str, Any]], statements: list[Statement]) -> str:
    """MyST source of the reproduction report."""
    labels = {s.label for s in statements if s.label}
    all_claims = [(name, c) for name, ledger in ledgers.items() for c in ledger.get("claims", [])]
    failing = [c for _, c in all_claims if not c["holds"]]
    versions = next((ledger.get("versions") for ledger in ledgers.values() if ledger), {}) or {}
    lines = [
        "# Reproduction report",
        "",
        (
            "Every numerical claim this book checks, as recorded by the chapters while they ran "
            "for this build: a measured quantity, the bound the theorem gives for it, and their "
            "ratio. A claim holds when the measured value does not exceed the bound; a chapter "
            "stops with an error when one does not, so a rendered book has only holding claims."
        ),
        "",
        f"**{len(all_claims)} claims** in {sum(1 for ledger in ledgers.values() if ledger.get('claims'))} "
        f"chapters; {'all hold' if not failing else f'{len(failing)} do NOT hold'}. "
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
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
        "## Claims",
        "",
        "| Chapter | Theorem | Quantity | Measured | Bound | Ratio | Holds |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, claim in all_claims:
        label = claim["label"]
        ref = f"{{prf:ref}}`{label}`" if label in labels else f"`{label}` (unknown label)"
        lines.append(
            f"| {{doc}}`{name[:2]} <{name}>` | {ref} | {cell(claim['quantity'])} | {number(claim['measured'])} "
            f"| {number(claim['bound'])} | {claim['ratio']:.3g} | {'yes' if claim['holds'] else '**NO**'} |"
        )
    if not all_claims:
        lines.append("| — | — | no claims recorded | | | | |")
    return "\n".join(lines) + "\n"


def theorem_index_page(ledgers: dict[str, dict[str, Any]], statements: list[Statement]) -> str:
    """MyST source of the theorem index with each statement's checked status."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for ledger in ledgers.values():
        for claim in ledger.get("claims", []):
            by_label.setdefault(claim["label"], []).append(claim)
    lines = [
        "# Theorem index",
        "",
        (
            "Every definition and result of the book, with the numerical checks made of it in "
            "this build (see the {doc}`reproduction_report`): the number of recorded claims, the "
            "worst ratio of measured value to bound, and whether all of them hold."
        ),
        "",
        "| Chapter | Statement | Title | Claims | Worst ratio | Status |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in statements:
        if s.kind not in INDEXED_KINDS:
            continue
        ref = f"{{prf:ref}}`{s.label}`" if s.label else f"{s.kind} (no label)"
        checks = by_label.get(s.label or "", [])
        if checks:
            worst = f"{max(c['ratio'] for c in checks):.3g}"
            status = "all hold" if all(c["holds"] for c in checks) else "**fails**"
        else:
            worst, status = "—", "not checked numerically"
        lines.append(
            f"| {{doc}}`{s.chapter}` | {ref} | {cell(s.title) or '—'} | {len(checks)} | {worst} | {status} |"
        )
    if not any(s.kind in INDEXED_KINDS for s in statements):
        lines.append("| — | no statements yet | | | | |")
    return "\n".join(lines) + "\n"


