"""The book pipeline: chapters/*.md → notebooks → papermill → staged book → jupyter-book → gate.

Usage (from the repository root; ``make`` wraps these)::

    python -m book_toolchain.build all [--mode quick|full] [--seed 0] [--force] [-j N]
    python -m book_toolchain.build chapter NAME [--mode ...] [-p KEY VALUE ...] [--publish]
    python -m book_toolchain.build render                                 stage + render only
    python -m book_toolchain.build gate                                   check the claims ledger
    python -m book_toolchain.build timings [--commit]          measured times and memory table
    python -m book_toolchain.build runs                      kept runs and how to publish them

``all`` executes only the chapters whose source, parameters or package code changed since
their last good run (``-j N`` at a time; default: the machine's cores), and renders only when
an input of the website changed; ``--force`` redoes everything (``make test``). ``chapter``
always executes the chapter it names (``--publish``: and keeps it in the book).

Layout under ``<root>/_build``: ``notebooks/`` (jupytext output of pages without code),
``running/`` (runs in progress), ``runs/`` (every successful run, kept under its own name:
:mod:`book_toolchain.runs`), ``executed/`` (the book's run of each chapter and its stamp),
``claims/`` (their ledgers), ``failed/`` (the last failed run of a chapter), ``timings.json``
(run time and peak memory per chapter and mode, the chapters' own parameters),
``published.json`` (runs chosen with ``--publish``), ``locks/``, ``logs/render.log``,
``stage/`` (the book source tree that is rendered), ``html/`` (the website). Only
``timings --commit`` (``make timings``) writes the committed ``<root>/book_timings.json``.
This module imports neither torch, scipy nor resnet_flows: the chapters do, in their kernels.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from . import cache, locks, runs
from . import claims as claims_mod
from .execute import (
    chapter_line,
    default_jobs,
    execute_chapter,
    execute_chapters,
    parse_value,
    prepare,
    restore,
    stop_children,
)
from .pages import format_seconds
from .project import (
    EXEMPT_FROM_GATE,
    BuildError,
    Interrupted,
    Project,
    find_statements,
    read_timings,
    write_timing,
)
from .stage import measured_under, render


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
    (for the README), from ``book_timings.json`` merged with this build's timings, each with
    the date, load and parallelism it was measured under."""
    measured = project.measurements()
    rows = ["| Chapter | quick | full |", "| --- | --- | --- |"]
    for name in project.chapter_names():
        cells = []
        for mode in ("quick", "full"):
            m = measured.get(name, {}).get(mode, {})
            seconds = format_seconds(m.get("seconds"))
            memory = f", {m['peak_rss_mb'] / 1024:.1f} GB" if "peak_rss_mb" in m else ""
            when = ", ".join(filter(None, [m.get("measured"), measured_under(m)]))
            cells.append(seconds + memory + (f" ({when})" if when else ""))
        rows.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return "\n".join(rows)


def commit_timings(project: Project) -> int:
    """Copy this build's measurements (the chapters' own parameters) into the committed
    ``book_timings.json``; how many."""
    count = 0
    for chapter, modes in read_timings(project.timings_path).items():
        for mode, measurement in modes.items():
            write_timing(project.committed_timings_path, chapter, mode, measurement)
            count += 1
    return count


def render_and_stamp(project: Project) -> None:
    """Render; the stamp is removed first so that a failed render is never taken as current."""
    cache.render_path(project).unlink(missing_ok=True)
    render(project)
    cache.write_render_stamp(project)


def value_text(value) -> str:
    """A parameter value as ``-p`` takes it (lists with commas, no spaces)."""
    if isinstance(value, list | tuple):
        if all(isinstance(v, int | float | str) for v in value):
            return ",".join(map(str, value))
        return repr(value).replace(" ", "")
    return str(value)


def chapter_command(name: str, parameters: dict, publish: bool = True) -> str:
    """The ``make chapter`` line that runs ``name`` with ``parameters`` (and publishes it)."""
    parts = [f"make chapter NAME={name}"]
    if parameters.get("mode", "quick") != "quick":
        parts.append(f"MODE={parameters['mode']}")
    if parameters.get("seed", 0) != 0:
        parts.append(f"SEED={parameters['seed']}")
    others = [f"-p {k} {value_text(v)}" for k, v in parameters.items() if k not in ("mode", "seed")]
    if others:
        parts.append(f'PARAMS="{" ".join(others)}"')
    return " ".join(parts + (["PUBLISH=1"] if publish else []))


def unpublished_runs(project: Project, names: list[str], mode: str) -> list[str]:
    """A line per kept run that is not the book's (the book's own parameters in ``mode``
    aside): its name and the command that publishes it."""
    lines = []
    for name in names:
        current = runs.published_run(project, name)
        for record in runs.kept_runs(project, name):
            if record["id"] in (current, f"{mode}-default"):
                continue
            lines.append(f"  {name} {record['id']} ({format_seconds(record.get('seconds'))}, "
                         f"{record.get('finished', '?')[:16]}): "
                         f"{chapter_command(name, record.get('parameters', {}))}")
    return lines


def report_unpublished(project: Project, names: list[str], mode: str) -> None:
    lines = unpublished_runs(project, names, mode)
    if lines:
        print(f"kept runs not in the book ({project.runs_dir}):\n" + "\n".join(lines),
              flush=True)


def book_parameters(project: Project, names: list[str], book: dict, force: bool) -> dict:
    """Name → parameters for ``make book``: the book's, or those of a run chosen with
    ``--publish`` (ignored with ``--force``, as ``make test`` checks the book's own)."""
    chosen = runs.choices(project)
    plan = {name: dict(book) for name in names}
    for name, choice in sorted(chosen.items()):
        if name not in plan:
            continue
        if force:
            print(f"{name}: --force runs the book's parameters, not the published run "
                  f"{choice['id']} (the next make book restores it)", flush=True)
        else:
            plan[name] = dict(choice["parameters"])
    return plan


def run_all(project: Project, args, book: dict) -> None:
    names = project.chapter_names()
    ACTIVITY["now"] = "executing"
    with locks.chapter_locks(project, names):
        plan = book_parameters(project, names, book, args.force)
        execute_chapters(project, names, plan, args.force, args.jobs, per_chapter=True)
    report_unpublished(project, names, book["mode"])
    ACTIVITY["now"] = "rendering"
    with locks.book_lock(project, "render"):
        if not args.no_render:
            if args.force or not cache.render_is_current(project):
                render_and_stamp(project)
            else:
                print("the website is up to date: not rendered again", flush=True)
        run_gate(project)


def run_chapter(project: Project, args, parameters: dict) -> None:
    name = args.name
    ACTIVITY["now"] = "executing"
    job = prepare(project, name, parameters)
    run = None
    with locks.chapter_locks(project, [name]):
        if args.publish:  # an up-to-date kept run is published as it is
            run = restore(project, job, cache.chapter_stamp(project, name, job.canonical))
        if run is None:
            run = execute_chapter(project, name, parameters, True, job.notebook, jobs=1)
        print(f"{name}: {chapter_line(project, run)}", flush=True)
        if args.publish:
            book_default = not job.differs and job.mode == "quick"
            with locks.book_lock(project, f"{name}: publishing"):
                runs.choose(project, name, None if book_default else job.run_id,
                            claims_mod.json_safe(job.parameters))
            print(f"{name}: {job.run_id} is the book's run of {name}"
                  + ("" if book_default else " (make book keeps it; PUBLISH=1 without "
                     "parameters goes back to the book's own)"), flush=True)
        else:
            chosen = runs.choices(project).get(name)
            book_run = chosen["id"] if chosen else "quick-default"
            if job.run_id != book_run:
                print(f"{name}: kept as {runs.run_dir(project, name, job.run_id)}; the next "
                      f"make book goes back to {book_run} unless this run is published: "
                      f"{chapter_command(name, job.parameters)}", flush=True)
    if args.no_render:
        return
    never_run = [n for n in project.chapter_names()
                 if n != name and not (project.executed_dir / f"{n}.ipynb").exists()]
    if never_run:
        with locks.chapter_locks(project, never_run, skip_held=True) as free:
            for busy in sorted(set(never_run) - set(free)):
                print(f"{busy}: being run by another process, left out of this render")
            if free:
                print(f"the book also needs {', '.join(free)}: executing with defaults")
                defaults = {"mode": args.mode, "seed": args.seed}
                execute_chapters(project, free, defaults, False, args.jobs)
    ACTIVITY["now"] = "rendering"
    with locks.book_lock(project, "render"):
        if not cache.render_is_current(project):
            render_and_stamp(project)
        else:
            print("the website is up to date: not rendered again", flush=True)


def interrupt(signum, frame):  # SIGTERM: stop as Ctrl-C does
    raise KeyboardInterrupt


# What the command line is doing, for the one line Ctrl-C prints.
ACTIVITY = {"now": "starting"}
AFTER_INTERRUPT = {
    "executing": "the chapters that had not finished were not published (their last good "
    "runs are kept)",
    "rendering": "the website was left unfinished (the next make book renders it again)",
}


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
            "-j", "--jobs", type=int, default=default_jobs(),
            help=f"chapters executed at once (default: the machine's cores, {default_jobs()})",
        )

    with_parameters(commands.add_parser("all", help="execute every chapter, render, gate"))
    one = commands.add_parser("chapter", help="execute one chapter and render the book")
    one.add_argument("name")
    one.add_argument(
        "--publish", action="store_true",
        help="make this run the book's: make book keeps it (publishing an up-to-date kept run "
        "executes nothing)",
    )
    with_parameters(one)
    commands.add_parser("render", help="stage and render from the executed notebooks")
    commands.add_parser("gate", help="check the claims ledger")
    timings = commands.add_parser("timings", help="print the measured run times and memory")
    timings.add_argument("--commit", action="store_true",
                         help="first copy this build's measurements into book_timings.json")
    commands.add_parser("runs", help="list the kept runs that are not in the book")
    args = parser.parse_args(argv)
    if getattr(args, "jobs", 1) < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")

    project = Project(args.root.resolve())
    locks.COMMAND = "python -m book_toolchain.build " + " ".join(
        argv if argv is not None else sys.argv[1:])
    locks.STOP.clear()
    ACTIVITY["now"] = args.command
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, interrupt) if in_main else None
    try:
        if args.command in ("all", "chapter"):
            parameters = {"mode": args.mode, "seed": args.seed}
            parameters.update({key: parse_value(value) for key, value in args.parameter})
            if parameters["mode"] not in ("quick", "full"):
                raise BuildError(f"mode must be quick or full, got {parameters['mode']!r}")
            if args.command == "all":
                run_all(project, args, parameters)
            else:
                run_chapter(project, args, parameters)
        elif args.command == "render":
            ACTIVITY["now"] = "rendering"
            with locks.book_lock(project, "render"):
                render_and_stamp(project)
        elif args.command == "gate":
            with locks.book_lock(project, "gate"):
                run_gate(project)
        elif args.command == "timings":
            if args.commit:
                with locks.book_lock(project, "timings"):
                    count = commit_timings(project)
                print(f"{project.committed_timings_path}: {count} measurements from "
                      f"{project.timings_path}", flush=True)
            print(timings_table(project))
            return 0
        elif args.command == "runs":
            lines = unpublished_runs(project, project.chapter_names(), "quick")
            print("\n".join(lines) if lines else "no kept runs outside the book")
            return 0
        if args.command not in ("gate",) and not getattr(args, "no_render", False):
            print(f"the book: {project.html_dir / 'index.html'}", flush=True)
    except (KeyboardInterrupt, Interrupted):
        locks.STOP.set()
        stop_children()
        now = ACTIVITY["now"]
        after = AFTER_INTERRUPT.get(now, "nothing was changed")
        print(f"\ninterrupted while {now}: {after}; locks released", file=sys.stderr,
              flush=True)
        return 130
    except BuildError as error:
        print(f"\nBUILD FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
