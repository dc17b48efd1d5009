"""Paths of one book and the statements (``prf:`` directives) its chapters declare."""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import claims

CHAPTER_PATTERN = re.compile(r"^\d\d_[A-Za-z0-9_]+$")
# Pages that check nothing: they need not record a claim.
EXEMPT_FROM_GATE = frozenset({"00_introduction", "references"})
GENERATED_PAGES = ("reproduction_report", "theorem_index")
INDEXED_KINDS = ("theorem", "proposition", "lemma", "corollary", "definition")
KERNEL = "python3"


class BuildError(RuntimeError):
    """A pipeline step failed; the message says which and why."""


class Interrupted(BuildError):
    """A run stopped by Ctrl-C (or SIGTERM); nothing of it was published."""


@dataclass
class Project:
    """Paths of one book: the repository, or a fixture book in the tests."""

    root: Path
    # Runs with the book's own parameters go into the committed book_timings.json unless off
    # (make test runs on whatever machine CI gives it: its times are not the book's).
    record_timings: bool = True

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
    def failed_dir(self) -> Path:
        """The notebook and ledger of each chapter's last failed run."""
        return self.build_dir / "failed"

    @property
    def runs_dir(self) -> Path:
        """Every successful run, kept under ``<chapter>/<run id>/`` (see :mod:`.runs`)."""
        return self.build_dir / "runs"

    @property
    def running_dir(self) -> Path:
        """Runs in progress, one directory per chapter (its lock keeps it to one run)."""
        return self.build_dir / "running"

    @property
    def locks_dir(self) -> Path:
        return self.build_dir / "locks"

    @property
    def logs_dir(self) -> Path:
        return self.build_dir / "logs"

    @property
    def published_path(self) -> Path:
        """Chapters whose book run is a kept run chosen with ``--publish``."""
        return self.build_dir / "published.json"

    @property
    def stage_dir(self) -> Path:
        return self.build_dir / "stage"

    @property
    def html_dir(self) -> Path:
        return self.build_dir / "html"

    @property
    def timings_path(self) -> Path:
        """Run time and peak memory of the last successful run of each chapter and mode with
        the chapter's own parameters (``make timings`` copies them into the committed file)."""
        return self.build_dir / "timings.json"

    @property
    def committed_timings_path(self) -> Path:
        """The same for runs with the book's own parameters; committed, so a fresh clone has
        them (full mode is measured rarely: it takes long and needs much memory)."""
        return self.root / "book_timings.json"

    def chapter_names(self) -> list[str]:
        """Names of the numbered chapter sources ``chapters/NN_topic.md``, in order."""
        return sorted(
            p.stem for p in self.chapters_dir.glob("*.md") if CHAPTER_PATTERN.match(p.stem)
        )

    def source(self, name: str) -> Path:
        return self.chapters_dir / f"{name}.md"

    def ledger(self, name: str) -> dict:
        """The claims ledger of chapter ``name`` (empty when it never ran)."""
        try:
            return claims.read_ledger(self.claims_dir / f"{name}.json")
        except ValueError as error:
            raise BuildError(
                f"{error}: delete it and run `make chapter NAME={name}` to record it again"
            ) from None

    def measurements(self) -> dict[str, dict[str, dict]]:
        """Chapter → mode → ``{"seconds", "peak_rss_mb", "measured", "load_1min", "jobs"}``:
        the committed measurements, overridden by those of this build tree."""
        merged: dict[str, dict[str, dict]] = {}
        for path in (self.committed_timings_path, self.timings_path):
            for chapter, modes in read_timings(path).items():
                merged.setdefault(chapter, {}).update(modes)
        return merged

    def timings(self) -> dict[str, dict[str, float]]:
        """Run time per chapter and mode, in seconds (see :meth:`measurements`)."""
        return {
            chapter: {mode: m["seconds"] for mode, m in modes.items() if "seconds" in m}
            for chapter, modes in self.measurements().items()
        }


def read_json(path: Path, fix: str, default: Any = None) -> Any:
    """The JSON data in ``path`` (``default`` when it does not exist). A file that is not valid
    JSON raises :class:`BuildError` naming it and ``fix``, what to do about it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    try:
        return json.loads(text)
    except ValueError as error:
        raise BuildError(f"{path} is not valid JSON ({error}): {fix}") from None


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` atomically: a sibling temporary file, flushed to disk, then
    renamed over ``path``; a reader sees the old or the new file, never a part of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as file:
            file.write(json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def timings_fix(path: Path) -> str:
    if path.name == "book_timings.json":
        return "restore it with `git checkout book_timings.json`"
    return "delete it (each chapter's next run records its time again)"


def read_timings(path: Path) -> dict[str, dict[str, dict]]:
    """A timings file; a bare number (the format before memory was measured) is seconds."""
    data = read_json(path, timings_fix(path), {})
    if not isinstance(data, dict) or not all(isinstance(m, dict) for m in data.values()):
        raise BuildError(f"{path} is not a timings file: {timings_fix(path)}")
    return {
        chapter: {
            mode: value if isinstance(value, dict) else {"seconds": value}
            for mode, value in modes.items()
        }
        for chapter, modes in data.items()
    }


def write_timing(path: Path, chapter: str, mode: str, measurement: dict) -> None:
    """Record one chapter's measurement for ``mode`` in the timings file at ``path``."""
    timings = read_timings(path)
    timings.setdefault(chapter, {})[mode] = measurement
    write_json(path, timings)


@dataclass
class Statement:
    """A ``prf:`` directive found in a chapter source."""

    chapter: str
    kind: str
    title: str
    label: str | None


_DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\{prf:([a-z]+)\}\s*(.*?)\s*$")
_OPTION = re.compile(r"^\s*:([A-Za-z_-]+):\s*(.*?)\s*$")


def statements_in(chapter: str, text: str) -> list[Statement]:
    """Every ``prf:*`` directive (except proofs) in the MyST ``text`` of ``chapter``, in order."""
    statements = []
    lines = text.splitlines()
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
        statements.append(Statement(chapter, match.group(2), match.group(3), label))
    return statements


def find_statements(project: Project, names: list[str]) -> list[Statement]:
    """Every ``prf:*`` directive (except proofs) in the given chapters' sources, in order."""
    return [
        s for name in names
        for s in statements_in(name, project.source(name).read_text(encoding="utf-8"))
    ]


def page_text(path: Path) -> str:
    """The MyST a staged page renders: a ``.md`` file, or a notebook's markdown cells."""
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    notebook = read_json(path, f"delete it and run make chapter NAME={path.stem}")
    return "\n".join(
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in notebook.get("cells", []) if c.get("cell_type") == "markdown"
    )
