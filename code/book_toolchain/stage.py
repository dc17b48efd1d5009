"""Stage the book source tree ``_build/stage`` from executed notebooks, then render it."""

from __future__ import annotations

import copy
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cache, locks
from .execute import has_code, read_chapter, run_child
from .pages import claims_csv, claims_json, format_seconds, report_page, theorem_index_page
from .project import (
    CHAPTER_PATTERN,
    GENERATED_PAGES,
    BuildError,
    Interrupted,
    Project,
    find_statements,
    page_text,
    statements_in,
)
from .run_notebook import strip_ansi


@dataclass
class Stage:
    """What the staged book contains."""

    pages: list[str] = field(default_factory=list)  # chapter names rendered, in toc order
    notices: list[str] = field(default_factory=list)


def rerun_line(name: str, parameters: dict[str, Any]) -> str:
    params = " ".join(f"-p {key} {value}" for key, value in parameters.items())
    return f'make chapter NAME={name} PARAMS="{params}"'


def measured_under(measurement: dict[str, Any]) -> str:
    """``load 0.4`` or ``load 2.1, 2 chapters at a time``: what a time was measured under."""
    parts = []
    if measurement.get("load_1min") is not None:
        parts.append(f"load {measurement['load_1min']:.1f}")
    if (measurement.get("jobs") or 1) > 1:
        parts.append(f"{measurement['jobs']} chapters at a time")
    return ", ".join(parts)


def rerun_box(name: str, ledger: dict[str, Any], timings: dict[str, Any]) -> str:
    """Markdown of the compact box under a chapter's title: rerun line, run times, download.

    ``timings`` maps a mode to its seconds or its measurement (seconds, load, jobs). This
    page's time is its own run's. A mode with no recorded time names the command that
    measures it.
    """
    parameters = ledger.get("parameters") or {}
    mode = ledger.get("mode")
    times = []
    for m in ("quick", "full"):
        measured = timings.get(m)
        if not isinstance(measured, dict):
            measured = {} if measured is None else {"seconds": measured}
        if m == mode and ledger.get("elapsed_s"):  # this page's own run
            measured = {"seconds": ledger["elapsed_s"], "load_1min": ledger.get("load_1min"),
                        "jobs": ledger.get("jobs")}
        seconds, under = measured.get("seconds"), measured_under(measured)
        if m == mode:
            times.append(f"{m} mode {format_seconds(seconds)} (this page"
                         + (f", {under})" if under else ")"))
        elif seconds is None:
            times.append(f"{m} mode: run `make book MODE={m}`")
        else:
            times.append(f"{m} mode {format_seconds(seconds)}" + (f" ({under})" if under else ""))
    return (
        "::::{admonition} Rerun this chapter\n"
        ":class: tip rerun-box\n\n"
        f"```\n{rerun_line(name, parameters)}\n```\n\n"
        f"Seed {ledger.get('seed')}. Run time: {'; '.join(times)}. "
        f"{{download}}`Executed notebook </downloads/{name}.ipynb>`\n"
        "::::\n"
    )


def wants_rerun_box(ledger: dict[str, Any]) -> bool:
    """Only pages that check something get the box (the introduction draws, checks nothing)."""
    return bool(ledger.get("claims"))


def stage_notebook(executed: Path, target: Path, box: str | None) -> None:
    """Copy an executed notebook into the stage, with the rerun box (if any) under its title."""
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    for cell in notebook.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.metadata["tags"] = [*cell.metadata["tags"], "remove-cell"]
    if box is not None:
        insert_under_title(notebook, nbformat.v4.new_markdown_cell(box))
    for cell in notebook.cells:  # nbformat ≥ 5.1 wants ids; new cells get fresh ones
        cell.pop("id", None)
    notebook.nbformat_minor = 4
    nbformat.write(notebook, target)


def insert_under_title(notebook, new_cell) -> None:
    """Insert ``new_cell`` right under the page's ``# title`` (splitting its cell if needed)."""
    import nbformat

    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        heading = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
        if heading is None:
            continue
        rest = "\n".join(lines[heading + 1 :]).strip()
        cell.source = "\n".join(lines[: heading + 1])
        new = [new_cell] + ([nbformat.v4.new_markdown_cell(rest)] if rest else [])
        notebook.cells[index + 1 : index + 1] = new
        return
    notebook.cells.insert(0, new_cell)


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
    shutil.copytree(Path(__file__).parent / "vendor" / "tippy", out / "_vendor" / "tippy")

    timings = project.measurements()
    present = set()
    for path in sorted(project.chapters_dir.glob("*.md")):
        name = path.stem
        executed = project.executed_dir / f"{name}.ipynb"
        if executed.exists() and CHAPTER_PATTERN.match(name):
            ledger = project.ledger(name)
            box = rerun_box(name, ledger, timings.get(name, {})) if wants_rerun_box(ledger) else None
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
    # The index and the report link the statements the rendered pages declare: those of the
    # executed notebooks, which may be older than their sources (make chapter renders the book
    # with the other chapters' last runs).
    staged = {f.split("/", 1)[1]: staged_page(out, f.split("/", 1)[1]) for f in rendered}
    statements = [s for n in report_chapters for s in statements_in(n, page_text(staged[n]))]
    stage.notices += check_stale(project, report_chapters, staged)
    ledgers = {name: project.ledger(name) for name in report_chapters}
    from .pages import stage_build_mode  # the site says quick, full or mixed

    stage_build_mode(out / "_config.yml", ledgers)
    for page in GENERATED_PAGES:
        if f"chapters/{page}" in wanted:
            present.add(f"chapters/{page}")
    (out / "chapters" / "reproduction_report.md").write_text(
        report_page(ledgers, statements), encoding="utf-8"
    )
    # The report's downloads: every claim as CSV and as JSON.
    (out / "downloads" / "claims.csv").write_text(claims_csv(ledgers), encoding="utf-8")
    (out / "downloads" / "claims.json").write_text(claims_json(ledgers), encoding="utf-8")
    (out / "chapters" / "theorem_index.md").write_text(
        theorem_index_page(ledgers, statements), encoding="utf-8"
    )
    for file in sorted(present - wanted):
        stage.notices.append(f"{file}: not listed in _toc.yml, not rendered")
    staged_toc = filter_toc(toc, present, stage.notices)
    header = "# Generated by book_toolchain.build from ../../_toc.yml: do not edit.\n"
    (out / "_toc.yml").write_text(header + yaml.safe_dump(staged_toc, sort_keys=False))
    stage.pages = [f.split("/", 1)[1] for f in toc_files(staged_toc)]
    for notice in stage.notices:
        print(f"notice: {notice}", flush=True)
    return stage


def staged_page(out: Path, name: str) -> Path:
    """The staged file of page ``name``: its executed notebook or its Markdown source."""
    notebook = out / "chapters" / f"{name}.ipynb"
    return notebook if notebook.exists() else out / "chapters" / f"{name}.md"


def source_is_newer(project: Project, name: str) -> bool:
    """Whether chapter ``name``'s source changed since its executed notebook was made: the
    source's hash differs from the run's stamp (without a stamp: the notebook is older)."""
    executed, source = project.executed_dir / f"{name}.ipynb", project.source(name)
    if not executed.exists():
        return False
    stamp = cache.stamp_path(project, name)
    if stamp.exists():
        try:
            old = json.loads(stamp.read_text(encoding="utf-8")).get("source")
        except ValueError:
            old = None
        return old != cache.digest_files([source])
    return executed.stat().st_mtime < source.stat().st_mtime


_PRF_REF = re.compile(r"\{prf:ref\}`(?:[^`<]*<)?([^`<>]+)>?`")


def check_stale(project: Project, names: list[str], staged: dict[str, Path]) -> list[str]:
    """Notices for chapters whose executed notebook is older than their source. A label that
    only the newer source declares, but that a rendered page refers to, cannot render: a
    :class:`BuildError` names the stale chapter and the command that brings it up to date."""
    stale = [n for n in names if source_is_newer(project, n)]
    if not stale:
        return []
    refs: dict[str, set[str]] = {}
    for page, path in staged.items():
        for label in _PRF_REF.findall(path.read_text(encoding="utf-8")):
            refs.setdefault(label.strip(), set()).add(page)
    notices, errors = [], []
    for name in stale:
        rendered = {s.label for s in statements_in(name, page_text(staged[name]))}
        new = {s.label for s in find_statements(project, [name])} - rendered - {None}
        for label in sorted(new & refs.keys()):
            errors.append(
                f"label {label!r} is declared by chapters/{name}.md but not by its executed "
                f"notebook, which is older than the source; {', '.join(sorted(refs[label]))} "
                f"refer(s) to it. Run `make chapter NAME={name}` (then render again)"
            )
        notices.append(
            f"chapters/{name}: its executed notebook is older than its source; the book shows "
            f"the last run (run `make chapter NAME={name}` to bring it up to date)"
        )
    if errors:
        raise BuildError("stale chapters:\n" + "\n".join(f"  - {e}" for e in errors))
    return notices


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


def render(project: Project) -> Path:
    """Stage the book and build the website strictly (every warning is an error), holding
    the book lock (the caller takes it). Sphinx's output goes to ``_build/logs/render.log``;
    the terminal gets one line, or the warnings and the log's name when the build fails."""
    started = time.time()
    staged = stage_book(project)
    project.logs_dir.mkdir(parents=True, exist_ok=True)
    log = project.logs_dir / "render.log"
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
    lock = locks.held_book_lock(project)
    with open(log, "w", encoding="utf-8") as out:
        out.write("$ " + " ".join(command) + "\n")
        out.flush()
        # The jupyter-book child holds the book lock too: one left behind by a killed run
        # finishes before another render starts.
        returncode = run_child(command, cwd=project.root, stdout=out, stderr=subprocess.STDOUT,
                               pass_fds=(lock.fd,) if lock is not None else ())
    if returncode != 0:
        if returncode in (-signal.SIGINT, -signal.SIGTERM):
            raise Interrupted("the render was interrupted")
        problems = render_problems(log.read_text(encoding="utf-8", errors="replace"))
        shown = "\n".join(f"  {line}" for line in problems[:40])
        more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
        raise BuildError(
            f"jupyter-book build failed (exit {returncode}) with {len(problems)} warnings or "
            f"errors:\n{shown}{more}\nthe full log: {log}"
        )
    index = project.html_dir / "index.html"
    print(f"rendered {len(staged.pages)} pages in {time.time() - started:.1f} s (log: {log})",
          flush=True)
    return index


def render_problems(log: str) -> list[str]:
    """The warning and error lines of a Sphinx log."""
    lines = [strip_ansi(line).strip() for line in log.splitlines()]
    return [line for line in lines if re.search(r"WARNING|ERROR|Error|Exception", line)]
