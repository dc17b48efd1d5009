"""Stamps that let ``make book`` skip work whose inputs did not change.

A chapter's stamp ``_build/executed/<chapter>.stamp.json`` is written when its run is published.
It holds hashes of what the run depended on: the chapter source, its parameters and the code
the kernel imports (the ``resnet_flows`` package, the toolchain modules a chapter uses, and the
pinned ``requirements.txt``). The chapter is re-executed when any of them differs.

The render stamp ``_build/render.stamp.json`` hashes everything the website is made from (the
executed notebooks, ledgers, timings, sources, configuration, the toolchain and its page script
and styles); the render is skipped when it is unchanged and ``_build/html/index.html`` exists.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .claims import json_safe
from .project import Project, write_json

TOOLCHAIN = Path(__file__).resolve().parent
# The toolchain modules a chapter's kernel runs: the ledger and the parameter check.
KERNEL_MODULES = ("__init__.py", "claims.py", "parameters.py")


def digest_files(paths: Iterable[Path], root: Path | None = None) -> str:
    """sha256 over the names (relative to ``root``) and contents of ``paths``, sorted."""
    sha = hashlib.sha256()
    for path in sorted(set(paths)):
        if not path.is_file():
            continue
        name = path.relative_to(root) if root else path
        sha.update(f"{name}\0{path.stat().st_size}\0".encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


def digest_data(data: Any) -> str:
    text = json.dumps(json_safe(data), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def package_dir(name: str) -> Path | None:
    """Directory of an installed package, found without importing it (no torch here)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def code_digest(project: Project) -> str:
    """Hash of the code a chapter's kernel runs: resnet_flows, the kernel-side toolchain."""
    files = [TOOLCHAIN / name for name in KERNEL_MODULES]
    maths = package_dir("resnet_flows")
    if maths is not None:
        files += [p for p in maths.rglob("*.py") if "__pycache__" not in p.parts]
    files.append(project.root / "requirements.txt")
    return digest_files(files)


def chapter_stamp(project: Project, name: str, parameters: dict[str, Any]) -> dict[str, str]:
    """What a run of chapter ``name`` with ``parameters`` depends on, as hashes."""
    return {
        "source": digest_files([project.source(name)]),
        "parameters": digest_data(parameters),
        "code": code_digest(project),
    }


def stamp_path(project: Project, name: str) -> Path:
    return project.executed_dir / f"{name}.stamp.json"


def stale_reasons(project: Project, name: str, stamp: dict[str, str]) -> list[str]:
    """Why chapter ``name`` must run again (empty: its executed copy is current)."""
    executed = project.executed_dir / f"{name}.ipynb"
    path = stamp_path(project, name)
    if not executed.exists() or not path.exists():
        return ["never executed"]
    if not (project.claims_dir / f"{name}.json").exists():
        return ["no ledger"]
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return ["unreadable stamp"]
    return [f"{key} changed" for key in stamp if old.get(key) != stamp[key]]


def write_stamp(project: Project, name: str, stamp: dict[str, str]) -> None:
    write_json(stamp_path(project, name), stamp)


# -------------------------------------------------------------------------------- rendering


def render_path(project: Project) -> Path:
    return project.build_dir / "render.stamp.json"


def render_digest(project: Project) -> str:
    """Hash of every input of the website."""
    root = project.root
    files = [root / name for name in ("_config.yml", "_toc.yml", "references.bib")]
    files += [project.committed_timings_path, project.timings_path]
    files += list(project.chapters_dir.glob("*"))
    files += list(project.executed_dir.glob("*.ipynb")) + list(project.claims_dir.glob("*.json"))
    # the page script and styles too (site/book.js, book.css): an edit of them changes the site
    toolchain = digest_files([*TOOLCHAIN.glob("*.py"), *TOOLCHAIN.glob("site/*")], TOOLCHAIN)
    return digest_data([digest_files(files, root), toolchain])


def render_is_current(project: Project) -> bool:
    path = render_path(project)
    if not path.exists() or not (project.html_dir / "index.html").exists():
        return False
    return path.read_text(encoding="utf-8").strip() == render_digest(project)


def write_render_stamp(project: Project) -> None:
    path = render_path(project)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(render_digest(project) + "\n", encoding="utf-8")
    os.replace(tmp, path)
