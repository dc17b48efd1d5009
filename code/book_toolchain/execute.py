"""Execute chapters: jupytext converts each source, papermill runs it once with parameters.

Parameters are checked against the chapter's declaration before any kernel starts
(:mod:`book_toolchain.parameters`). A chapter whose source, parameters and package code are
unchanged since its last good run is not executed again (:mod:`book_toolchain.cache`); a kept
run that is up to date is published instead of executing again (:mod:`book_toolchain.runs`).

A run holds its chapter's lock (:mod:`book_toolchain.locks`) and works in
``_build/running/<chapter>/``. Only a run that succeeds is kept (``_build/runs/<chapter>/<run
id>/``) and published, under the book lock, as the chapter's executed notebook, ledger, stamp
and timing; a failed run is moved to ``_build/failed/`` and the last good results stay.

Independent chapters run ``jobs`` at a time, from a :class:`~concurrent.futures.ThreadPoolExecutor`
whose threads each wait for one papermill child (``python -m book_toolchain.run_notebook``).
The child's only child is the kernel, so ``getrusage(RUSAGE_CHILDREN)`` there is the peak
memory of that chapter alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import cache, locks, runs
from . import claims as claims_mod
from .parameters import chapter_parameters, check_overrides, check_value
from .project import KERNEL, BuildError, Interrupted, Project, write_json, write_timing

# Parameters every chapter takes from the command line (--mode, --seed), not from -p.
PIPELINE_PARAMETERS = ("mode", "seed")
# Seconds a papermill child gets to shut its kernel down after Ctrl-C before it is killed.
STOP_GRACE_S = 20.0


@dataclass
class Job:
    """One chapter with the parameters to run it with."""

    name: str
    notebook: Any
    parameters: dict[str, Any]  # as given: papermill's values, the ledger's, the rerun line's
    differs: dict[str, Any] = field(default_factory=dict)  # checked values unlike the defaults

    @property
    def mode(self) -> str:
        return str(self.parameters.get("mode"))

    @property
    def canonical(self) -> dict[str, Any]:
        """What the run depends on: mode, seed and the values that differ from the defaults."""
        return {**{k: self.parameters.get(k) for k in PIPELINE_PARAMETERS}, **self.differs}

    @property
    def run_id(self) -> str:
        return runs.run_id(self.mode, self.differs, cache.digest_data)


@dataclass
class Run:
    """One papermill execution of one chapter (or its cached or kept result)."""

    chapter: str
    parameters: dict[str, Any]
    seconds: float = 0.0
    executed: bool = True
    cached: bool = False
    peak_rss_mb: float | None = None
    restored: str | None = None  # the kept run published instead of executing
    run_id: str | None = None


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


def prepare(project: Project, name: str, parameters: dict[str, Any], notebook=None) -> Job:
    """The chapter's job, after checking ``parameters`` against its declaration."""
    source = project.source(name)
    if name not in project.chapter_names():  # a path such as ../x names no chapter
        known = ", ".join(project.chapter_names()) or "none"
        raise BuildError(f"no chapter {name!r}: {source} is not a chapter (chapters: {known})")
    if notebook is None:
        notebook = read_chapter(source)
    job = Job(name, notebook, dict(parameters))
    if not has_code(notebook):
        return job
    try:
        declared = chapter_parameters(notebook)
        if declared is None:
            raise ValueError("it has no code cell tagged parameters")
        check_overrides(name, *declared, parameters)
        defaults, specs = declared
        for key, value in parameters.items():
            if key == "mode":
                continue
            given = claims_mod.json_safe(check_value(key, specs[key], value))
            if given != claims_mod.json_safe(check_value(key, specs[key], defaults[key])):
                job.differs[key] = given
    except (ValueError, SyntaxError) as error:
        message = str(error)
        prefix = "" if message.startswith(f"chapter {name}") else f"chapter {name}: "
        raise BuildError(f"{prefix}{message}") from None
    return job


def measurement_of(result: dict[str, Any], jobs: int) -> dict[str, Any]:
    """Run time and peak kernel memory with what they were measured under: the load of the
    machine when the run ended and how many chapters ran at once."""
    return {
        "seconds": round(result["seconds"], 1),
        "peak_rss_mb": round(result["peak_rss_mb"]),
        "measured": datetime.now(UTC).date().isoformat(),
        "load_1min": round(os.getloadavg()[0], 1),
        "jobs": jobs,
    }


def execute_chapter(
    project: Project, name: str, parameters: dict[str, Any], force: bool = True, notebook=None,
    *, jobs: int = 1, slot: int = 0,
) -> Run:
    """Execute one chapter (unless ``force`` is off and it is up to date), holding its lock;
    raise :class:`BuildError` on error. ``jobs`` chapters run at once (recorded with the
    timing); ``slot`` is this one's line for the progress bar in a terminal."""
    job = prepare(project, name, parameters, notebook)
    stamp = cache.chapter_stamp(project, name, job.canonical)
    if not force and not cache.stale_reasons(project, name, stamp):
        return Run(name, job.parameters, executed=False, cached=True)
    with locks.chapter_locks(project, [name]):
        if not has_code(job.notebook):
            return copy_page(project, job, stamp)
        return run_papermill(project, job, stamp, jobs, slot)


def copy_page(project: Project, job: Job, stamp: dict[str, str]) -> Run:
    """A page without code (the introduction) is its own executed notebook."""
    import nbformat

    name = job.name
    with locks.book_lock(project, f"{name}: publishing"):
        for directory in (project.notebooks_dir, project.executed_dir, project.claims_dir):
            directory.mkdir(parents=True, exist_ok=True)
        converted = project.notebooks_dir / f"{name}.ipynb"
        nbformat.write(job.notebook, converted)
        runs.link(converted, project.executed_dir / f"{name}.ipynb")
        ledger = {**claims_mod.new_ledger(name, job.parameters, time.time()), "executed": False}
        claims_mod.write_ledger(project.claims_dir / f"{name}.json", ledger)
        cache.write_stamp(project, name, stamp)
    return Run(name, job.parameters, 0.0, executed=False)


def run_papermill(project: Project, job: Job, stamp: dict[str, str], jobs: int,
                  slot: int) -> Run:
    import nbformat

    name = job.name
    running = project.running_dir / name
    shutil.rmtree(running, ignore_errors=True)
    (running / "claims").mkdir(parents=True)
    converted = running / f"{name}.source.ipynb"
    nbformat.write(job.notebook, converted)
    output, ledger_path = running / f"{name}.ipynb", running / "claims" / f"{name}.json"
    started = time.time()
    claims_mod.write_ledger(ledger_path, claims_mod.new_ledger(name, job.parameters, started))
    env = {
        claims_mod.ENV_CHAPTER: name,
        claims_mod.ENV_CLAIMS_DIR: str(ledger_path.parent),
        claims_mod.ENV_PARAMETERS: json.dumps(claims_mod.json_safe(job.parameters)),
        claims_mod.ENV_STARTED: repr(started),
        "PYTHONHASHSEED": "0",
    }
    if jobs > 1:  # kernels side by side: as many threads each as there are cores for it
        threads = str(max(1, default_jobs() // jobs))
        env.update({k: os.environ.get(k, threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    result_path = running / "result.json"
    job_file = {
        "input": str(converted),
        "output": str(output),
        "parameters": job.parameters,
        "cwd": str(project.chapters_dir),
        "result": str(result_path),
        "parent": os.getpid(),
        "progress": {"desc": name, "position": slot} if sys.stderr.isatty() else None,
    }
    write_json(running / "job.json", claims_mod.json_safe(job_file))
    lock = locks.held_lock(project, name)
    try:
        returncode = run_child(
            [sys.executable, "-m", "book_toolchain.run_notebook", str(running / "job.json")],
            env={**os.environ, **env}, pass_fds=(lock.fd,) if lock and lock.fd is not None else (),
        )
    except KeyboardInterrupt:
        shutil.rmtree(running, ignore_errors=True)
        raise
    seconds = time.time() - started
    try:
        result = json.loads(result_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        result = {}
    if result.get("interrupted") or returncode in (-signal.SIGINT, -signal.SIGTERM, 130):
        shutil.rmtree(running, ignore_errors=True)
        raise Interrupted(f"chapter {name} interrupted after {seconds:.0f} s")
    if returncode != 0 or "error" in result or "crash" in result:
        failed = keep_failed(project, name, running)
        if "error" in result:
            error = result["error"]
            raise BuildError(
                f"chapter {name} failed after {seconds:.1f} s in cell {error['cell']}:\n"
                f"{error['traceback']}\n\nchapter {name} raised {error['ename']}: "
                f"{error['evalue']}\n(failed notebook: {failed}; the last good run is kept)"
            )
        why = result.get("crash") or f"exit status {returncode}"
        raise BuildError(
            f"chapter {name} could not be executed: {why}\n"
            f"(failed notebook, if any: {failed}; the last good run is kept)"
        )

    measured = measurement_of(result, jobs)
    ledger = claims_mod.read_ledger(ledger_path)
    ledger.update(elapsed_s=round(result["seconds"], 3), load_1min=measured["load_1min"],
                  jobs=jobs)
    claims_mod.write_ledger(ledger_path, ledger)
    record = {"parameters": claims_mod.json_safe(job.parameters), "differs": job.differs,
              "stamp": stamp, "finished": datetime.now(UTC).isoformat(timespec="seconds"),
              **measured}
    kept = runs.keep(project, name, job.run_id, output, ledger_path, record)
    with locks.book_lock(project, f"{name}: publishing"):
        runs.publish(project, name, kept)
        if not job.differs and project.record_timings:
            write_timing(project.timings_path, name, job.mode, measured)
        for stale in (project.failed_dir / f"{name}.ipynb", project.failed_dir / f"{name}.json"):
            stale.unlink(missing_ok=True)
    shutil.rmtree(running, ignore_errors=True)
    return Run(name, job.parameters, result["seconds"], peak_rss_mb=result["peak_rss_mb"],
               run_id=job.run_id)


def restore(project: Project, job: Job, stamp: dict[str, str]) -> Run | None:
    """Publish the kept run of ``job`` instead of executing it, when it is up to date."""
    kept = runs.run_dir(project, job.name, job.run_id)
    record = runs.read_record(kept / runs.RECORD) if kept.exists() else {}
    if record.get("stamp") != stamp or not (kept / f"{job.name}.ipynb").exists():
        return None
    with locks.chapter_locks(project, [job.name]), locks.book_lock(project, job.name):
        runs.publish(project, job.name, kept)
    return Run(job.name, job.parameters, record.get("seconds", 0.0), executed=False,
               restored=job.run_id, run_id=job.run_id, peak_rss_mb=record.get("peak_rss_mb"))


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


# ------------------------------------------------------------------- the papermill children

_CHILDREN: set[subprocess.Popen] = set()
_CHILDREN_GUARD = threading.Lock()


def run_child(command: list[str], **popen) -> int:
    """Run a child in its own session (Ctrl-C reaches it once, from :func:`stop_children`);
    its exit status."""
    child = subprocess.Popen(command, start_new_session=True, **popen)
    with _CHILDREN_GUARD:
        _CHILDREN.add(child)
    try:
        return child.wait()
    except KeyboardInterrupt:
        stop_children()
        raise
    finally:
        with _CHILDREN_GUARD:
            _CHILDREN.discard(child)


def stop_children() -> None:
    """Stop every running child (SIGTERM: a papermill child shuts its kernel down, quietly),
    kill those that linger."""
    with _CHILDREN_GUARD:
        children = list(_CHILDREN)
    for child in children:
        with_signal(child, signal.SIGTERM)
    deadline = time.time() + STOP_GRACE_S
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            with_signal(child, signal.SIGKILL)
            child.wait()


def with_signal(child: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(child.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


# ------------------------------------------------------------------------- many chapters


def default_jobs() -> int:
    """The machine's cores (those this process may use)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def longest_first(project: Project, jobs_list: list[Job]) -> list[Job]:
    """Chapters by their last measured run time, longest (or never measured) first, so that
    side by side the long ones do not end up last."""
    timings = project.timings()

    def key(job: Job) -> float:
        return -timings.get(job.name, {}).get(job.mode, float("inf"))

    return sorted(jobs_list, key=key)


def say(text: str) -> None:
    """Print a line; in a terminal first clear the line, where a progress bar may stand."""
    print(("\r\x1b[K" if sys.stdout.isatty() else "") + text, flush=True)


def chapter_line(project: Project, run: Run) -> str:
    """One line: time, claims and peak memory of a run (or why it did not execute)."""
    if run.cached:
        return "up to date"
    if run.restored:
        return f"restored the kept run {run.restored} (up to date)"
    if not run.executed:
        return "no code, copied"
    claims = project.ledger(run.chapter).get("claims", [])
    failing = sum(not c.get("holds") for c in claims)
    kept = "" if run.run_id and run.run_id.endswith("-default") else f", kept as {run.run_id}"
    counted = f"{len(claims)} claim{'' if len(claims) == 1 else 's'}"
    holding = (" all hold" if len(claims) > 1 else " holds") if claims and not failing else ""
    return f"{run.seconds:.1f} s, {counted}{holding}, peak {run.peak_rss_mb:.0f} MB{kept}"


def execute_chapters(
    project: Project, names: list[str], parameters: dict[str, Any] | dict[str, dict],
    force: bool = True, jobs: int = 1, per_chapter: bool = False,
) -> list[Run]:
    """Check every chapter's parameters, then execute those that are not up to date (all
    with ``force``), ``jobs`` at a time, each under its lock. An up-to-date kept run is
    published instead of executing again. After a failure no further chapter starts, those
    running finish (and are published), and the failures are raised together.

    ``parameters`` is one dict for all chapters, or, with ``per_chapter``, name → dict.
    """
    plan = [prepare(project, name, dict(parameters[name] if per_chapter else parameters))
            for name in names]
    runs_done: list[Run] = []
    todo: list[tuple[Job, list[str], dict[str, str]]] = []
    fresh = []
    for job in plan:
        stamp = cache.chapter_stamp(project, job.name, job.canonical)
        reasons = ["forced"] if force else cache.stale_reasons(project, job.name, stamp)
        if not reasons:
            fresh.append(job.name)
            runs_done.append(Run(job.name, job.parameters, executed=False, cached=True))
            continue
        restored = None if force else restore(project, job, stamp)
        if restored is not None:
            print(f"{job.name}: {chapter_line(project, restored)}", flush=True)
            runs_done.append(restored)
            continue
        todo.append((job, reasons, stamp))
    if fresh:
        print(f"up to date: {', '.join(fresh)}", flush=True)
    if not todo:
        return runs_done
    total = time.time()
    jobs = max(1, min(jobs, len(todo)))
    order = longest_first(project, [job for job, _, _ in todo])
    why = {job.name: reasons for job, reasons, _ in todo}
    failures: list[str] = []
    slots = list(range(jobs))
    started: set[str] = set()
    slot_guard = threading.Lock()

    def one(job: Job) -> Run:
        with slot_guard:
            slot = slots.pop(0)
            started.add(job.name)
        try:
            return execute_chapter(project, job.name, job.parameters, True, job.notebook,
                                   jobs=jobs, slot=slot)
        finally:
            with slot_guard:
                slots.append(slot)

    count = 0
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="chapter") as pool:
        pending = {pool.submit(one, job): job for job in order}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    if future.cancelled():
                        continue
                    count += 1
                    tag = f"[{count}/{len(todo)}] {job.name}"
                    try:
                        run = future.result()
                    except BuildError as error:
                        failures.append(str(error))
                        say(f"{tag}: FAILED")
                        for other in pending:
                            other.cancel()
                        continue
                    runs_done.append(run)
                    reasons = "" if force else f" ({', '.join(why[job.name])})"
                    say(f"{tag}{reasons}: {chapter_line(project, run)}")
        except KeyboardInterrupt:
            locks.STOP.set()  # workers waiting for the book lock give up
            for other in pending:
                other.cancel()
            stop_children()
            raise
    skipped = [job.name for job in order if job.name not in started]
    if failures:
        tail = f"\n(not executed after the failure: {', '.join(skipped)})" if skipped else ""
        raise BuildError("\n\n".join(failures) + tail)
    print(f"executed {len(todo)} of {len(plan)} chapters in {time.time() - total:.1f} s "
          f"({jobs} at a time)", flush=True)
    return runs_done
