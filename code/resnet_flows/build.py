"""The book pipeline: chapters/*.md → notebooks → papermill → staged book → jupyter-book → gate.

Usage (from the repository root; ``make`` wraps these)::

    python -m resnet_flows.build all [--mode quick|full] [--seed 0]   execute all, render, gate
    python -m resnet_flows.build chapter NAME [--mode ...] [-p KEY VALUE ...]
    python -m resnet_flows.build render                                 stage + render only
    python -m resnet_flows.build gate                                   check the claims ledger

Layout under ``<root>/_build``: ``notebooks/`` (jupytext output), ``executed/`` (papermill
output, one per chapter), ``claims/`` (ledgers), ``timings.json`` (last run time per chapter
and mode), ``stage/`` (the book source tree that is rendered), ``html/`` (the website).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resnet_flows import claims as claims_mod

CHAPTER_PATTERN = re.compile(r"^\d\d_[A-Za-z0-9_]+$")
# Pages that check nothing: they need not record a claim.
EXEMPT_FROM_GATE = frozenset({"00_introduction", "references"})
GENERATED_PAGES = ("reproduction_report", "theorem_index")
INDEXED_KINDS = ("theorem", "proposition", "lemma", "corollary", "definition")
KERNEL = "python3"


class BuildError(RuntimeError):
    """A pipeline step failed; the message says which and why."""


@dataclass
class Project:
    """Paths of one book: the repository, or a fixture book in the tests."""

    root: Path

    @property
    def chapters_dir(self) -> Path:
        return self.root / "chapters"

    @property
    def build_dir(self) -> Path:
        return self.root / "_build"

    @property
    def notebooks_dir(self) -> Path:
        return self.build_dir / "notebooks"

    @property
    def executed_dir(self) -> Path:
        return self.build_dir / "executed"

    @property
    def claims_dir(self) -> Path:
        return self.build_dir / "claims"

    @property
    def stage_dir(self) -> Path:
        return self.build_dir / "stage"

    @property
    def html_dir(self) -> Path:
        return self.build_dir / "html"

    @property
    def timings_path(self) -> Path:
        return self.build_dir / "timings.json"

    def chapter_names(self) -> list[str]:
        """Names of the numbered chapter sources ``chapters/NN_topic.md``, in order."""
        return sorted(
            p.stem for p in self.chapters_dir.glob("*.md") if CHAPTER_PATTERN.match(p.stem)
        )

    def source(self, name: str) -> Path:
        return self.chapters_dir / f"{name}.md"


# ---------------------------------------------------------------------------- execution


@dataclass
class Run:
    """One papermill execution of one chapter."""

    chapter: str
    parameters: dict[str, Any]
    seconds: float = 0.0
    executed: bool = True


def parse_value(text: str) -> Any:
    """A ``-p`` value as int, float, bool, None or (otherwise) string."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None, "null": None}.get(text.lower(), text)


def read_chapter(path: Path):
    """The chapter as a notebook with the ``python3`` kernel."""
    import jupytext

    notebook = jupytext.read(path, fmt="md:myst")
    notebook.metadata["kernelspec"] = {
        "name": KERNEL,
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


def has_code(notebook) -> bool:
    return any(cell.cell_type == "code" and cell.source.strip() for cell in notebook.cells)


def execute_chapter(project: Project, name: str, parameters: dict[str, Any]) -> Run:
    """Convert and execute one chapter with papermill; record its time; raise on error."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = project.source(name)
    if not source.exists():
        known = ", ".join(project.chapter_names()) or "none"
        raise BuildError(f"no chapter {name!r}: {source} does not exist (chapters: {known})")
    notebook = read_chapter(source)
    for directory in (project.notebooks_dir, project.executed_dir, project.claims_dir):
        directory.mkdir(parents=True, exist_ok=True)
    converted = project.notebooks_dir / f"{name}.ipynb"
    executed = project.executed_dir / f"{name}.ipynb"
    nbformat.write(notebook, converted)

    started = time.time()
    ledger_path = project.claims_dir / f"{name}.json"
    claims_mod.write_ledger(ledger_path, claims_mod.new_ledger(name, parameters, started))
    if not has_code(notebook):
        shutil.copyfile(converted, executed)
        ledger = claims_mod.new_ledger(name, parameters, started)
        claims_mod.write_ledger(ledger_path, {**ledger, "executed": False})
        return Run(name, parameters, 0.0, executed=False)

    env = {
        claims_mod.ENV_CHAPTER: name,
        claims_mod.ENV_CLAIMS_DIR: str(project.claims_dir),
        claims_mod.ENV_PARAMETERS: json.dumps(claims_mod.json_safe(parameters)),
        claims_mod.ENV_STARTED: repr(started),
        "PYTHONHASHSEED": "0",
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # the kernel inherits the environment of this process
    try:
        papermill.execute_notebook(
            str(converted),
            str(executed),
            parameters=parameters,
            kernel_name=KERNEL,
            cwd=str(project.chapters_dir),
            progress_bar=sys.stderr.isatty(),
            log_output=False,
        )
    except PapermillExecutionError as error:
        seconds = time.time() - started
        trace = strip_ansi("\n".join(error.traceback))
        raise BuildError(
            f"chapter {name} failed after {seconds:.1f} s in cell {error.exec_count}:\n"
            f"{trace}\n\nchapter {name} raised {error.ename}: {strip_ansi(error.evalue)}\n"
            f"(executed notebook with the error: {executed})"
        ) from None
    except Exception as error:  # kernel death, timeouts, missing kernel
        raise BuildError(f"chapter {name} could not be executed: {error!r}") from error
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    seconds = time.time() - started
    ledger = json.loads(ledger_path.read_text(encoding="utf-8"))
    ledger["elapsed_s"] = round(seconds, 3)
    claims_mod.write_ledger(ledger_path, ledger)
    save_timing(project, name, str(parameters.get("mode")), seconds)
    return Run(name, parameters, seconds)


def execute_chapters(project: Project, names: list[str], parameters: dict[str, Any]) -> list[Run]:
    """Execute each chapter once, in order, printing progress; stop at the first failure."""
    runs = []
    total = time.time()
    for index, name in enumerate(names, start=1):
        print(f"[{index}/{len(names)}] {name} ...", flush=True)
        run = execute_chapter(project, name, dict(parameters))
        runs.append(run)
        n_claims = len(load_ledger(project, name).get("claims", []))
        what = f"{run.seconds:.1f} s, {n_claims} claims" if run.executed else "no code, copied"
        print(f"[{index}/{len(names)}] {name} done ({what})", flush=True)
    print(f"executed {len(names)} chapters in {time.time() - total:.1f} s", flush=True)
    return runs


def load_ledger(project: Project, name: str) -> dict[str, Any]:
    path = project.claims_dir / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def load_timings(project: Project) -> dict[str, dict[str, float]]:
    path = project.timings_path
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def save_timing(project: Project, name: str, mode: str, seconds: float) -> None:
    timings = load_timings(project)
    timings.setdefault(name, {})[mode] = round(seconds, 1)
    project.timings_path.write_text(json.dumps(timings, indent=1, sort_keys=True) + "\n")


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


# ---------------------------------------------------------------------------- theorems


@dataclass
class Statement:
    """A ``prf:`` directive found in a chapter source."""

    chapter: str
    kind: str
    title: str
    label: str | None


_DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\{prf:([a-z]+)\}\s*(.*?)\s*$")
_OPTION = re.compile(r"^\s*:([A-Za-z_-]+):\s*(.*?)\s*$")


def find_statements(project: Project, names: list[str]) -> list[Statement]:
    """Every ``prf:*`` directive (except proofs) in the given chapters, in order."""
    statements = []
    for name in names:
        lines = project.source(name).read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            match = _DIRECTIVE.match(line)
            if not match or match.group(2) == "proof":
                continue
            label = None
            for option_line in lines[i + 1 :]:
                option = _OPTION.match(option_line)
                if not option:
                    break
                if option.group(1) == "label":
                    label = option.group(2)
            statements.append(Statement(name, match.group(2), match.group(3), label))
    return statements


# ---------------------------------------------------------------------------- staging


@dataclass
class Stage:
    """What the staged book contains."""

    pages: list[str] = field(default_factory=list)  # chapter names rendered, in toc order
    notices: list[str] = field(default_factory=list)


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "not measured yet"
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def rerun_line(name: str, parameters: dict[str, Any]) -> str:
    params = " ".join(f"-p {key} {value}" for key, value in parameters.items())
    return f'make chapter NAME={name} PARAMS="{params}"'


def rerun_box(name: str, ledger: dict[str, Any], timings: dict[str, float]) -> str:
    """Markdown of the box at the top of a chapter page: rerun line, timings, download."""
    parameters = ledger.get("parameters") or {}
    mode = ledger.get("mode")
    times = " · ".join(
        f"{m} mode: {format_seconds(timings.get(m))}" + (" (this build)" if m == mode else "")
        for m in ("quick", "full")
    )
    return (
        "::::{admonition} Rerun this chapter\n"
        ":class: tip rerun-box\n\n"
        f"This page was executed in **{mode}** mode with seed {ledger.get('seed')}. "
        "To execute it again with the same parameters (change them after `-p`):\n\n"
        f"```\n{rerun_line(name, parameters)}\n```\n\n"
        f"Run time on the build machine: {times}. "
        f"{{download}}`Download the executed notebook </downloads/{name}.ipynb>`\n"
        "::::\n"
    )


def stage_notebook(executed: Path, target: Path, box: str) -> None:
    """Copy an executed notebook into the stage, with the rerun box under its title."""
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    for cell in notebook.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.metadata["tags"] = [*cell.metadata["tags"], "remove-cell"]
    box_cell = nbformat.v4.new_markdown_cell(box)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        heading = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
        if heading is None:
            continue
        rest = "\n".join(lines[heading + 1 :]).strip()
        cell.source = "\n".join(lines[: heading + 1])
        new = [box_cell] + ([nbformat.v4.new_markdown_cell(rest)] if rest else [])
        notebook.cells[index + 1 : index + 1] = new
        break
    else:
        notebook.cells.insert(0, box_cell)
    for cell in notebook.cells:  # nbformat ≥ 5.1 wants ids; new cells get fresh ones
        cell.pop("id", None)
    notebook.nbformat_minor = 4
    nbformat.write(notebook, target)


def filter_toc(toc: dict[str, Any], present: set[str], notices: list[str]) -> dict[str, Any]:
    """The toc without the entries whose file is not in ``present`` (notices say which)."""
    toc = copy.deepcopy(toc)

    def keep(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = []
        for entry in entries:
            if "file" in entry and entry["file"] not in present:
                notices.append(f"{entry['file']}: not available, left out of the book")
                continue
            for key in ("sections", "chapters"):
                if key in entry:
                    entry[key] = keep(entry[key])
                    if not entry[key]:
                        del entry[key]
            kept.append(entry)
        return kept

    if toc.get("root") not in present:
        raise BuildError(f"the book's root page {toc.get('root')} is not available")
    for key in ("parts", "chapters"):
        if key in toc:
            toc[key] = [part for part in keep(toc[key]) if key != "parts" or part.get("chapters")]
    return toc


def toc_files(toc: dict[str, Any]) -> list[str]:
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    walk(toc.get("parts", []) + toc.get("chapters", []))
    return files


def stage_book(project: Project) -> Stage:
    """Write the book source tree ``_build/stage`` from the executed notebooks."""
    import yaml

    stage = Stage()
    out = project.stage_dir
    if out.exists():
        shutil.rmtree(out)
    (out / "chapters").mkdir(parents=True)
    (out / "downloads").mkdir()
    for name in ("_config.yml", "references.bib"):
        if (project.root / name).exists():
            shutil.copyfile(project.root / name, out / name)
    copy_mathjax(out / "_vendor" / "mathjax")

    timings = load_timings(project)
    present = set()
    for path in sorted(project.chapters_dir.glob("*.md")):
        name = path.stem
        executed = project.executed_dir / f"{name}.ipynb"
        if executed.exists() and CHAPTER_PATTERN.match(name):
            box = rerun_box(name, load_ledger(project, name), timings.get(name, {}))
            stage_notebook(executed, out / "chapters" / f"{name}.ipynb", box)
            shutil.copyfile(executed, out / "downloads" / f"{name}.ipynb")
        elif CHAPTER_PATTERN.match(name) and has_code(read_chapter(path)):
            stage.notices.append(f"chapters/{name}: not executed yet, left out of the book")
            continue
        else:  # a page without code: copied as it is
            shutil.copyfile(path, out / "chapters" / path.name)
        present.add(f"chapters/{name}")

    toc = yaml.safe_load((project.root / "_toc.yml").read_text(encoding="utf-8"))
    wanted = set(toc_files(toc))
    rendered = [f for f in toc_files(toc) if f in present]
    report_chapters = [
        f.split("/", 1)[1] for f in rendered if CHAPTER_PATTERN.match(f.split("/")[-1])
    ]
    statements = find_statements(project, report_chapters)
    ledgers = {name: load_ledger(project, name) for name in report_chapters}
    for page in GENERATED_PAGES:
        if f"chapters/{page}" in wanted:
            present.add(f"chapters/{page}")
    (out / "chapters" / "reproduction_report.md").write_text(
        report_page(ledgers, statements), encoding="utf-8"
    )
    (out / "chapters" / "theorem_index.md").write_text(
        theorem_index_page(ledgers, statements), encoding="utf-8"
    )
    for file in sorted(present - wanted):
        stage.notices.append(f"{file}: not listed in _toc.yml, not rendered")
    staged_toc = filter_toc(toc, present, stage.notices)
    header = "# Generated by resnet_flows.build from ../../_toc.yml: do not edit.\n"
    (out / "_toc.yml").write_text(header + yaml.safe_dump(staged_toc, sort_keys=False))
    stage.pages = [f.split("/", 1)[1] for f in toc_files(staged_toc)]
    for notice in stage.notices:
        print(f"notice: {notice}", flush=True)
    return stage


def copy_mathjax(target: Path) -> None:
    """MathJax 3 (CommonHTML output, its fonts and lazily loaded parts) from its PyPI package."""
    try:
        import mathjax  # the django-static-mathjax package
    except ImportError:
        raise BuildError("MathJax is missing: pip install -r requirements.txt") from None
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    target.mkdir(parents=True)
    shutil.copyfile(es5 / "tex-chtml.js", target / "tex-chtml.js")
    for part in ("a11y", "adaptors", "input", "output", "sre", "ui"):
        shutil.copytree(es5 / part, target / part)


# ---------------------------------------------------------------------------- pages


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


# ---------------------------------------------------------------------------- render, gate


def render(project: Project) -> Path:
    """Stage the book and build the website strictly (every warning is an error)."""
    started = time.time()
    stage_book(project)
    command = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(project.stage_dir),
        "--path-output",
        str(project.root),
        "--builder",
        "html",
        "--all",
        "-W",
        "-n",
        "--keep-going",
    ]
    print(f"rendering: {' '.join(command)}", flush=True)
    result = subprocess.run(command, cwd=project.root, check=False)
    if result.returncode != 0:
        raise BuildError(
            f"jupyter-book build failed (exit {result.returncode}): see the warnings above"
        )
    index = project.html_dir / "index.html"
    print(f"rendered in {time.time() - started:.1f} s: {index}", flush=True)
    return index


def gate(project: Project) -> list[str]:
    """Problems with the claims: chapters without claims, failing claims, unknown labels."""
    names = project.chapter_names()
    labels = {s.label for s in find_statements(project, names) if s.label}
    problems = []
    for name in names:
        if name in EXEMPT_FROM_GATE:
            continue
        ledger = load_ledger(project, name)
        if not ledger:
            problems.append(f"{name}: not executed (no ledger {project.claims_dir / name}.json)")
            continue
        if not ledger.get("claims"):
            problems.append(f"{name}: recorded no claim (call record_claim for its theorem)")
        for claim in ledger.get("claims", []):
            if not claim["holds"]:
                problems.append(
                    f"{name}: claim {claim['label']!r} does not hold: {claim['quantity']} "
                    f"measured {claim['measured']:.6g} > bound {claim['bound']:.6g}"
                )
            if claim["label"] not in labels:
                problems.append(
                    f"{name}: claim label {claim['label']!r} is not the :label: of any prf "
                    "directive in the chapters"
                )
    return problems


def run_gate(project: Project) -> None:
    problems = gate(project)
    n = sum(len(load_ledger(project, name).get("claims", [])) for name in project.chapter_names())
    if problems:
        raise BuildError("reproduction gate failed:\n" + "\n".join(f"  - {p}" for p in problems))
    print(f"reproduction gate passed: {n} claims, all holding", flush=True)


# ---------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m resnet_flows.build", description=__doc__.split("\n")[0]
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
                ledger = load_ledger(project, args.name)
                for claim in ledger.get("claims", []):
                    print(f"  {claim['label']}: {claim['quantity']}: ratio {claim['ratio']:.3g}")
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
