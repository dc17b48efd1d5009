"""Kept runs: every successful run of a chapter under its own name, and which one is the book's.

``_build/runs/<chapter>/<run id>/`` holds a run's notebook ``<chapter>.ipynb``, its ledger
``<chapter>.json`` and ``run.json`` (its parameters, the stamp of what it was made from, its
time, peak memory and the load it ran under). The run id is ``<mode>-default`` for the
chapter's own parameters and ``<mode>-<hash>`` of the values that differ from them otherwise
(``quick-3fa2c1d0``), so a run with other parameters never overwrites another.

The book's run of a chapter (``_build/executed/<chapter>.ipynb`` and ``.stamp.json``,
``_build/claims/<chapter>.json``) is a hard-linked copy of one kept run, put in place by
:func:`publish` under the book lock. ``make book`` uses the book's parameters for every
chapter, except those listed in ``_build/published.json`` (``make chapter ... PUBLISH=1``),
and restores a kept run instead of executing again when it is up to date.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from .project import BuildError, Project, read_json, write_json

RECORD = "run.json"


def run_id(mode: str, differs: dict[str, Any], digest) -> str:
    """``<mode>-default``, or ``<mode>-<hash>`` of the parameters that differ from the
    chapter's own (``digest`` hashes JSON data)."""
    return f"{mode}-default" if not differs else f"{mode}-{digest(differs)[:8]}"


def run_dir(project: Project, name: str, identifier: str) -> Path:
    return project.runs_dir / name / identifier


def read_record(path: Path) -> dict[str, Any]:
    """A kept run's record; ``{}`` (said once, with what to do) when it is not readable: a
    kept run is never needed, the chapter can run again."""
    fix = f"delete the kept run {path.parent} (make chapter runs it again)"
    try:
        record = read_json(path, fix, {})
    except BuildError as error:
        print(f"notice: {error}", flush=True)
        return {}
    return record if isinstance(record, dict) else {}


def kept_runs(project: Project, name: str) -> list[dict[str, Any]]:
    """The kept runs of chapter ``name``, oldest first, each record with its ``dir``."""
    found = []
    for record_path in sorted((project.runs_dir / name).glob(f"*/{RECORD}")):
        record = read_record(record_path)
        if record and (record_path.parent / f"{name}.ipynb").exists():
            found.append({**record, "dir": str(record_path.parent)})
    return sorted(found, key=lambda r: r.get("finished", ""))


def keep(project: Project, name: str, identifier: str, notebook: Path, ledger: Path,
         record: dict[str, Any]) -> Path:
    """Move a finished run's notebook and ledger into its kept-run directory (replacing an
    earlier run with the same parameters, and only that one); the directory."""
    target = run_dir(project, name, identifier)
    fresh = target.with_name(f".{identifier}.{os.getpid()}.new")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    os.replace(notebook, fresh / f"{name}.ipynb")
    os.replace(ledger, fresh / f"{name}.json")
    write_json(fresh / RECORD, {**record, "id": identifier, "chapter": name})
    old = target.with_name(f".{identifier}.{os.getpid()}.old")
    if target.exists():
        os.replace(target, old)
    os.replace(fresh, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def link(source: Path, target: Path) -> None:
    """``target`` becomes ``source`` (a hard link, else a copy), replaced atomically."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def publish(project: Project, name: str, kept: Path) -> dict[str, Any]:
    """Make the kept run in ``kept`` the book's run of ``name`` (the caller holds the book
    lock); its record. The stamp goes last: until it is written the chapter is not current."""
    record = read_record(kept / RECORD)
    for directory in (project.executed_dir, project.claims_dir):
        directory.mkdir(parents=True, exist_ok=True)
    stamp = project.executed_dir / f"{name}.stamp.json"
    stamp.unlink(missing_ok=True)
    link(kept / f"{name}.ipynb", project.executed_dir / f"{name}.ipynb")
    link(kept / f"{name}.json", project.claims_dir / f"{name}.json")
    write_json(stamp, {**record["stamp"], "run": record["id"]})
    return record


def published_run(project: Project, name: str) -> str | None:
    """Id of the kept run that is the book's run of ``name`` now (None: none or unknown; an
    unreadable stamp only makes the chapter run again)."""
    try:
        stamp = json.loads((project.executed_dir / f"{name}.stamp.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return stamp.get("run") if isinstance(stamp, dict) else None


# --------------------------------------------------------------- runs chosen with --publish


def choices(project: Project) -> dict[str, dict[str, Any]]:
    """Chapter → ``{"id", "parameters"}`` of the kept runs chosen with ``--publish``."""
    fix = "delete it (every chapter goes back to the book's parameters)"
    data = read_json(project.published_path, fix, {})
    return data if isinstance(data, dict) else {}


def choose(project: Project, name: str, identifier: str | None,
           parameters: dict[str, Any] | None = None) -> None:
    """Record that ``make book`` keeps the run ``identifier`` of ``name`` (None: the book's
    parameters again). The caller holds the book lock."""
    data = choices(project)
    if identifier is None:
        data.pop(name, None)
    else:
        data[name] = {"id": identifier, "parameters": parameters}
    write_json(project.published_path, data)
