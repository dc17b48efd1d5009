"""Execute chapters: jupytext converts each source, papermill runs it once with parameters."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import claims as claims_mod
from .project import KERNEL, BuildError, Project


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
        n_claims = len(project.ledger(name).get("claims", []))
        what = f"{run.seconds:.1f} s, {n_claims} claims" if run.executed else "no code, copied"
        print(f"[{index}/{len(names)}] {name} done ({what})", flush=True)
    print(f"executed {len(names)} chapters in {time.time() - total:.1f} s", flush=True)
    return runs


def save_timing(project: Project, name: str, mode: str, seconds: float) -> None:
    timings = project.timings()
    timings.setdefault(name, {})[mode] = round(seconds, 1)
    project.timings_path.write_text(json.dumps(timings, indent=1, sort_keys=True) + "\n")


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


