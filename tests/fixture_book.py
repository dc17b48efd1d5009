"""The tiny fixture book of the toolchain tests (tests/fixtures/book), copied to a temp dir."""

import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def make_book(root: Path, **extra_chapters: str) -> Path:
    """The fixture book with the repository's config, bibliography and references page;
    ``extra_chapters`` maps chapter names to fixture files copied in as chapters."""
    shutil.copytree(FIXTURES / "book", root)
    for name in ("_config.yml", "references.bib"):
        shutil.copyfile(REPO / name, root / name)
    shutil.copyfile(REPO / "chapters" / "references.md", root / "chapters" / "references.md")
    for name, fixture in extra_chapters.items():
        shutil.copyfile(FIXTURES / fixture, root / "chapters" / f"{name}.md")
    return root


def ledger(root: Path, chapter: str) -> dict:
    return json.loads((root / "_build" / "claims" / f"{chapter}.json").read_text())
