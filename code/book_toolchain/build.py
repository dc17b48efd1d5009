"""The book pipeline: chapters/*.md → notebooks → papermill → staged book → jupyter-book → gate.

Usage (from the repository root; ``make`` wraps these)::

    python -m book_toolchain.build all [--mode quick|full] [--seed 0] [--force]
    python -m book_toolchain.build chapter NAME [--mode ...] [-p KEY VALUE ...]
    python -m book_toolchain.build render                                 stage + render only
    python -m book_toolchain.build gate                                   check the claims ledger
    python -m book_toolchain.build timings                     measured times and memory table

``all`` executes only the chapters whose source, parameters or package code changed since
their last good run, and renders only when an input of the website changed; ``--force`` redoes
everything (``make test``). ``chapter`` always executes the chapter it names.

Layout under ``<root>/_build``: ``notebooks/`` (jupytext output), ``executed/`` (papermill
output and stamp, one per chapter), ``claims/`` (ledgers), ``failed/`` (the last failed run of
a chapter), ``timings.json`` (run time and peak memory per chapter and mode), ``stage/`` (the
book source tree that is rendered), ``html/`` (the website). Runs with the book's own
parameters also record their timing in the committed ``<root>/book_timings.json``.
This module imports neither torch, scipy nor resnet_flows: the chapters do, in their kernels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import cache
from . import claims as claims_mod
from .execute import execute_chapters, parse_value
from .pages import format_seconds
from .project import EXEMPT_FROM_GATE, BuildError, Project, find_statements
from .stage import render


def gate(project: Project) -> list[str]:
    """Problems with the claims: chapters without claims, failing claims, claims without a
    kind, unknown labels, and statements whose evidence is weak without a note saying so."""
    names = project.chapter_names()
    labels = {s.label for s in find_statements(project, names) if s.label}
    problems = []
    everything, notes = [], []
    for name in names:
        if name in EXEMPT_FROM_GATE:
            continue
        ledger = project.ledger(name)
        if not ledger:
            problems.append(f"{name}: not executed (no ledger {project.claims_dir / name}.json)")
            continue
        if not ledger.get("claims"):
            problems.append(f"{name}: recorded no claim (call record_claim for its theorem)")
        everything += ledger.get("claims", [])
        notes += ledger.get("strength_notes", [])
        for claim in ledger.get("claims", []):
            if not claim["holds"]:
                problems.append(
                    f"{name}: {claim.get('kind', 'unknown')} claim {claim['label']!r} does not "
                    f"hold: {claim['quantity']}: measured {claim['measured']:.6g}, bound "
                    f"{claim['bound']:.6g} (relation {claim.get('relation', '<=')})"
                )
            if claims_mod.claim_scope(claim) not in claims_mod.SCOPES:
                problems.append(
                    f"{name}: claim {claim['label']!r} ({claim['quantity']}) has scope "
                    f"{claim.get('scope')!r}; pass scope= one of {', '.join(claims_mod.SCOPES)}"
                )
            if claim.get("kind") not in claims_mod.KINDS:
                problems.append(
                    f"{name}: claim {claim['label']!r} ({claim['quantity']}) has no kind; pass "
                    f"kind= one of {', '.join(claims_mod.KINDS)}"
                )
            if claim["label"] not in labels:
                problems.append(
                    f"{name}: claim label {claim['label']!r} is not the :label: of any prf "
                    "directive in the chapters"
                )
    # The strength of a statement is that of the claim checking its own inequality (its
    # headline); a strong part (a node bound, one term of a sum) never stands in for it.
    for label, entry in claims_mod.strength_by_label(everything, notes).items():
        if entry["status"] in ("rate only", "not tested at full strength") and not entry["note"]:
            best, part = entry["headline"], entry["parts"]
            beside = "" if part is None else f"; its parts reach {part['ratio']:.3g}"
            problems.append(
                f"statement {label!r}: {entry['status']} (headline ratio, the strongest "
                f"bound/sharpness claim of its own inequality: "
                f"{'none' if best is None else format(best['ratio'], '.3g')} < "
                f"{claims_mod.FULL_STRENGTH_RATIO}{beside}); check the statement at full "
                "strength or say why with record_strength_note"
            )
    return problems


def run_gate(project: Project) -> None:
    problems = gate(project)
    n = sum(len(project.ledger(name).get("claims", [])) for name in project.chapter_names())
    if problems:
        raise BuildError("reproduction gate failed:\n" + "\n".join(f"  - {p}" for p in problems))
    print(f"reproduction gate passed: {n} claims, all holding", flush=True)


def timings_table(project: Project) -> str:
    """Markdown table of the measured run time and peak kernel memory per chapter and mode
    (for the README), from ``book_timings.json`` merged with this build's timings."""
    measured = project.measurements()
    rows = ["| Chapter | quick | full |", "| --- | --- | --- |"]
    for name in project.chapter_names():
        cells = []
        for mode in ("quick", "full"):
            m = measured.get(name, {}).get(mode, {})
            seconds = format_seconds(m.get("seconds"))
            memory = f", {m['peak_rss_mb'] / 1024:.1f} GB" if "peak_rss_mb" in m else ""
            cells.append(seconds + memory + (f" ({m['measured']})" if "measured" in m else ""))
        rows.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return "\n".join(rows)


def render_and_stamp(project: Project) -> None:
    """Render; the stamp is removed first so that a failed render is never taken as current."""
    cache.render_path(project).unlink(missing_ok=True)
    render(project)
    cache.write_render_stamp(project)


# ---------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m book_toolchain.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="book root (default: cwd)")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_parameters(sub):
        sub.add_argument("--mode", choices=("quick", "full"), default="quick")
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument(
            "-p",
            "--parameter",
            nargs=2,
            action="append",
            default=[],
            metavar=("KEY", "VALUE"),
            help="papermill parameter override, e.g. -p eps 1e-3",
        )
        sub.add_argument("--no-render", action="store_true", help="execute only")
        sub.add_argument(
            "--force", action="store_true", help="execute and render even what is up to date"
        )
        sub.add_argument(
            "--no-record-timings",
            action="store_true",
            help="do not write run times into the committed book_timings.json",
        )

    with_parameters(commands.add_parser("all", help="execute every chapter, render, gate"))
    one = commands.add_parser("chapter", help="execute one chapter and render the book")
    one.add_argument("name")
    with_parameters(one)
    commands.add_parser("render", help="stage and render from the executed notebooks")
    commands.add_parser("gate", help="check the claims ledger")
    commands.add_parser("timings", help="print the measured run times and memory (Markdown)")
    args = parser.parse_args(argv)

    project = Project(args.root.resolve())
    project.record_timings = not getattr(args, "no_record_timings", False)
    try:
        if args.command in ("all", "chapter"):
            parameters = {"mode": args.mode, "seed": args.seed}
            parameters.update({key: parse_value(value) for key, value in args.parameter})
            if parameters["mode"] not in ("quick", "full"):
                raise BuildError(f"mode must be quick or full, got {parameters['mode']!r}")
            if args.command == "all":
                execute_chapters(project, project.chapter_names(), parameters, args.force)
            else:
                execute_chapters(project, [args.name], parameters)
                never_run = [
                    name
                    for name in project.chapter_names()
                    if name != args.name and not (project.executed_dir / f"{name}.ipynb").exists()
                ]
                if never_run and not args.no_render:
                    print(f"the book also needs {', '.join(never_run)}: executing with defaults")
                    defaults = {"mode": args.mode, "seed": args.seed}
                    execute_chapters(project, never_run, defaults, args.force)
            if not args.no_render:
                if args.force or not cache.render_is_current(project):
                    render_and_stamp(project)
                else:
                    print("the website is up to date: not rendered again", flush=True)
            if args.command == "all":
                run_gate(project)
            else:
                ledger = project.ledger(args.name)
                for claim in ledger.get("claims", []):
                    ratio = "n/a" if claim["ratio"] is None else f"{claim['ratio']:.3g}"
                    print(f"  {claim['label']} [{claim.get('kind')}]: {claim['quantity']}: "
                          f"ratio {ratio}")
        elif args.command == "render":
            render_and_stamp(project)
        elif args.command == "gate":
            run_gate(project)
        elif args.command == "timings":
            print(timings_table(project))
            return 0
        if args.command != "gate" and not getattr(args, "no_render", False):
            print(f"\nthe book: {project.html_dir / 'index.html'}", flush=True)
    except BuildError as error:
        print(f"\nBUILD FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
