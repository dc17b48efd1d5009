"""The book pipeline: chapters/*.md → notebooks → papermill → staged book → jupyter-book → gate.

Usage (from the repository root; ``make`` wraps these)::

    python -m book_toolchain.build all [--mode quick|full] [--seed 0]   execute all, render, gate
    python -m book_toolchain.build chapter NAME [--mode ...] [-p KEY VALUE ...]
    python -m book_toolchain.build render                                 stage + render only
    python -m book_toolchain.build gate                                   check the claims ledger

Layout under ``<root>/_build``: ``notebooks/`` (jupytext output), ``executed/`` (papermill
output, one per chapter), ``claims/`` (ledgers), ``timings.json`` (last run time per chapter
and mode), ``stage/`` (the book source tree that is rendered), ``html/`` (the website).
This module imports neither torch, scipy nor resnet_flows: the chapters do, in their kernels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import claims as claims_mod
from .execute import execute_chapters, parse_value
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
    for label, entry in claims_mod.strength_by_label(everything, notes).items():
        if entry["status"] in ("rate only", "not tested at full strength") and not entry["note"]:
            best = entry["strongest"]
            problems.append(
                f"statement {label!r}: {entry['status']} (strongest bound/sharpness ratio "
                f"{'none' if best is None else format(best['ratio'], '.3g')} < "
                f"{claims_mod.FULL_STRENGTH_RATIO}); check it at full strength or say why with "
                "record_strength_note"
            )
    return problems


def run_gate(project: Project) -> None:
    problems = gate(project)
    n = sum(len(project.ledger(name).get("claims", [])) for name in project.chapter_names())
    if problems:
        raise BuildError("reproduction gate failed:\n" + "\n".join(f"  - {p}" for p in problems))
    print(f"reproduction gate passed: {n} claims, all holding", flush=True)


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

    with_parameters(commands.add_parser("all", help="execute every chapter, render, gate"))
    one = commands.add_parser("chapter", help="execute one chapter and render the book")
    one.add_argument("name")
    with_parameters(one)
    commands.add_parser("render", help="stage and render from the executed notebooks")
    commands.add_parser("gate", help="check the claims ledger")
    args = parser.parse_args(argv)

    project = Project(args.root.resolve())
    try:
        if args.command in ("all", "chapter"):
            parameters = {"mode": args.mode, "seed": args.seed}
            parameters.update({key: parse_value(value) for key, value in args.parameter})
            if parameters["mode"] not in ("quick", "full"):
                raise BuildError(f"mode must be quick or full, got {parameters['mode']!r}")
            if args.command == "all":
                execute_chapters(project, project.chapter_names(), parameters)
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
                    execute_chapters(project, never_run, defaults)
            if not args.no_render:
                render(project)
            if args.command == "all":
                run_gate(project)
            else:
                ledger = project.ledger(args.name)
                for claim in ledger.get("claims", []):
                    ratio = "n/a" if claim["ratio"] is None else f"{claim['ratio']:.3g}"
                    print(f"  {claim['label']} [{claim.get('kind')}]: {claim['quantity']}: "
                          f"ratio {ratio}")
        elif args.command == "render":
            render(project)
        elif args.command == "gate":
            run_gate(project)
        if args.command != "gate" and not getattr(args, "no_render", False):
            print(f"\nthe book: {project.html_dir / 'index.html'}", flush=True)
    except BuildError as error:
        print(f"\nBUILD FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
