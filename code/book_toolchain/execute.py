"""Execute chapters: jupytext converts each source, papermill runs it once with parameters.

Parameters are checked against the chapter's declaration before any kernel starts
(:mod:`book_toolchain.parameters`). A chapter whose source, parameters and package code are
unchanged since its last good run is not executed again (:mod:`book_toolchain.cache`).

Each run goes into ``_build/running/<chapter>/`` (notebook and ledger). Only a run that
succeeds replaces the chapter's executed notebook, ledger, timing and stamp; a failed run is
moved to ``_build/failed/`` and the last good results stay as they were.

papermill runs in a child process (``python -m book_toolchain.execute``) whose only child is
the kernel, so ``getrusage(RUSAGE_CHILDREN)`` there is the peak memory of that chapter alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import cache
from . import claims as claims_mod
from .parameters import chapter_parameters, check_overrides
from .project import KERNEL, BuildError, Project, write_timing

# Parameters every chapter takes from the command line (--mode, --seed), not from -p.
PIPELINE_PARAMETERS = ("mode", "seed")


@dataclass
class Run:
    """One papermill execution of one chapter (or its cached result)."""

    chapter: str
    parameters: dict[str, Any]
    seconds: float = 0.0
    executed: bool = True
    cached: bool = False
    peak_rss_mb: float | None = None


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


def load_chapter(project: Project, name: str, parameters: dict[str, Any]):
    """The chapter's notebook, after checking ``parameters`` against its declaration."""
    source = project.source(name)
    if not source.exists():
        known = ", ".join(project.chapter_names()) or "none"
        raise BuildError(f"no chapter {name!r}: {source} does not exist (chapters: {known})")
    notebook = read_chapter(source)
    if not has_code(notebook):
        return notebook
    try:
        declared = chapter_parameters(notebook)
        if declared is None:
            raise ValueError("it has no code cell tagged parameters")
        check_overrides(name, *declared, parameters)
    except (ValueError, SyntaxError) as error:
        message = str(error)
        prefix = "" if message.startswith(f"chapter {name}") else f"chapter {name}: "
        raise BuildError(f"{prefix}{message}") from None
    return notebook


def is_default_run(project: Project, name: str, parameters: dict[str, Any]) -> bool:
    """Whether ``parameters`` are the chapter's own (only the mode chosen)."""
    declared = chapter_parameters(read_chapter(project.source(name)))
    defaults = declared[0] if declared else {}
    return all(k == "mode" or defaults.get(k) == v for k, v in parameters.items())


def execute_chapter(
    project: Project, name: str, parameters: dict[str, Any], force: bool = True, notebook=None
) -> Run:
    """Execute one chapter (unless ``force`` is off and it is up to date); raise on error."""
    import nbformat

    if notebook is None:
        notebook = load_chapter(project, name, parameters)
    stamp = cache.chapter_stamp(project, name, parameters)
    if not force and not cache.stale_reasons(project, name, stamp):
        return Run(name, parameters, executed=False, cached=True)
    for directory in (project.notebooks_dir, project.executed_dir, project.claims_dir):
        directory.mkdir(parents=True, exist_ok=True)
    converted = project.notebooks_dir / f"{name}.ipynb"
    nbformat.write(notebook, converted)
    started = time.time()
    if not has_code(notebook):
        shutil.copyfile(converted, project.executed_dir / f"{name}.ipynb")
        ledger = {**claims_mod.new_ledger(name, parameters, started), "executed": False}
        claims_mod.write_ledger(project.claims_dir / f"{name}.json", ledger)
        cache.write_stamp(project, name, stamp)
        return Run(name, parameters, 0.0, executed=False)

    running = project.build_dir / "running" / name
    shutil.rmtree(running, ignore_errors=True)
    (running / "claims").mkdir(parents=True)
    output, ledger_path = running / f"{name}.ipynb", running / "claims" / f"{name}.json"
    claims_mod.write_ledger(ledger_path, claims_mod.new_ledger(name, parameters, started))
    env = {
        claims_mod.ENV_CHAPTER: name,
        claims_mod.ENV_CLAIMS_DIR: str(ledger_path.parent),
        claims_mod.ENV_PARAMETERS: json.dumps(claims_mod.json_safe(parameters)),
        claims_mod.ENV_STARTED: repr(started),
        "PYTHONHASHSEED": "0",
    }
    job = {
        "input": str(converted),
        "output": str(output),
        "parameters": parameters,
        "cwd": str(project.chapters_dir),
        "result": str(running / "result.json"),
    }
    (running / "job.json").write_text(json.dumps(claims_mod.json_safe(job)), encoding="utf-8")
    child = subprocess.run(
        [sys.executable, "-m", "book_toolchain.execute", str(running / "job.json")],
        env={**os.environ, **env},
        check=False,
    )
    seconds = time.time() - started
    result_path = running / "result.json"
    result = json.loads(result_path.read_text()) if result_path.exists() else {}
    if child.returncode != 0 or "error" in result or "crash" in result:
        failed = keep_failed(project, name, running)
        if "error" in result:
            error = result["error"]
            raise BuildError(
                f"chapter {name} failed after {seconds:.1f} s in cell {error['cell']}:\n"
                f"{error['traceback']}\n\nchapter {name} raised {error['ename']}: "
                f"{error['evalue']}\n(failed notebook: {failed}; the last good run is kept)"
            )
        why = result.get("crash") or f"exit status {child.returncode}"
        raise BuildError(
            f"chapter {name} could not be executed: {why}\n"
            f"(failed notebook, if any: {failed}; the last good run is kept)"
        )

    ledger = json.loads(ledger_path.read_text(encoding="utf-8"))
    ledger["elapsed_s"] = round(result["seconds"], 3)
    claims_mod.write_ledger(ledger_path, ledger)
    os.replace(output, project.executed_dir / f"{name}.ipynb")
    os.replace(ledger_path, project.claims_dir / f"{name}.json")
    shutil.rmtree(running, ignore_errors=True)
    for stale in (project.failed_dir / f"{name}.ipynb", project.failed_dir / f"{name}.json"):
        stale.unlink(missing_ok=True)
    measurement = {
        "seconds": round(result["seconds"], 1),
        "peak_rss_mb": round(result["peak_rss_mb"]),
        "measured": datetime.now(UTC).date().isoformat(),
        # Load of the machine at the end of the run: times measured on a busy machine are long.
        "load_1min": round(os.getloadavg()[0], 1),
    }
    mode = str(parameters.get("mode"))
    write_timing(project.timings_path, name, mode, measurement)
    if project.record_timings and is_default_run(project, name, parameters):
        write_timing(project.committed_timings_path, name, mode, measurement)
    cache.write_stamp(project, name, stamp)
    return Run(name, parameters, result["seconds"], peak_rss_mb=result["peak_rss_mb"])


def keep_failed(project: Project, name: str, running: Path) -> Path:
    """Move a failed run's notebook and ledger to ``_build/failed/``; the notebook's path."""
    project.failed_dir.mkdir(parents=True, exist_ok=True)
    notebook = project.failed_dir / f"{name}.ipynb"
    for source, target in (
        (running / f"{name}.ipynb", notebook),
        (running / "claims" / f"{name}.json", project.failed_dir / f"{name}.json"),
    ):
        if source.exists():
            os.replace(source, target)
    shutil.rmtree(running, ignore_errors=True)
    return notebook


def execute_chapters(
    project: Project, names: list[str], parameters: dict[str, Any], force: bool = True
) -> list[Run]:
    """Check every chapter's parameters, then execute each in order (skipping those that are
    up to date unless ``force``); stop at the first failure."""
    notebooks = {name: load_chapter(project, name, dict(parameters)) for name in names}
    runs = []
    total = time.time()
    for index, name in enumerate(names, start=1):
        tag = f"[{index}/{len(names)}] {name}"
        if not force:
            stamp = cache.chapter_stamp(project, name, dict(parameters))
            reasons = cache.stale_reasons(project, name, stamp)
            if not reasons:
                print(f"{tag} up to date", flush=True)
                runs.append(Run(name, dict(parameters), executed=False, cached=True))
                continue
            print(f"{tag} ({', '.join(reasons)}) ...", flush=True)
        else:
            print(f"{tag} ...", flush=True)
        run = execute_chapter(project, name, dict(parameters), True, notebooks[name])
        runs.append(run)
        n_claims = len(project.ledger(name).get("claims", []))
        if run.executed:
            what = f"{run.seconds:.1f} s, peak {run.peak_rss_mb:.0f} MB, {n_claims} claims"
        else:
            what = "no code, copied"
        print(f"{tag} done ({what})", flush=True)
    done = sum(not run.cached for run in runs)
    print(
        f"executed {done} of {len(names)} chapters in {time.time() - total:.1f} s"
        f" ({len(names) - done} up to date)",
        flush=True,
    )
    return runs


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


# ------------------------------------------------------------- the child process (papermill)


def run_job(job_path: str) -> int:
    """Run papermill on one job file; write seconds, peak kernel memory or the error."""
    import resource

    import papermill
    from papermill.exceptions import PapermillExecutionError

    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    result: dict[str, Any] = {}
    started = time.time()
    try:
        papermill.execute_notebook(
            job["input"],
            job["output"],
            parameters=job["parameters"],
            kernel_name=KERNEL,
            cwd=job["cwd"],
            progress_bar=sys.stderr.isatty(),
            log_output=False,
        )
    except PapermillExecutionError as error:
        result["error"] = {
            "cell": error.exec_count,
            "ename": error.ename,
            "evalue": strip_ansi(error.evalue),
            "traceback": strip_ansi("\n".join(error.traceback)),
        }
    except Exception as error:  # noqa: BLE001 (kernel death, missing kernel: told to the parent)
        result["crash"] = repr(error)
    result["seconds"] = time.time() - started
    # ru_maxrss is in KiB on Linux; the kernel was this process's only child.
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    Path(job["result"]).write_text(json.dumps(result), encoding="utf-8")
    return 0 if "error" not in result and "crash" not in result else 1


if __name__ == "__main__":
    sys.exit(run_job(sys.argv[1]))
