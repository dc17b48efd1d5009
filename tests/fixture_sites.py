"""The hand-made sites of the browser tests (tests/fixtures/site_*), copied to a temp dir with
the offline libraries their pages load: MathJax from its pinned PyPI package, the hover-preview
libraries from book_toolchain/vendor."""

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def with_mathjax(name: str, tmp_path: Path) -> Path:
    """A copy of fixture ``name`` with the pinned offline MathJax in its _static/mathjax."""
    mathjax = pytest.importorskip("mathjax", reason="django-static-mathjax is not installed")
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    site = tmp_path / name
    shutil.copytree(FIXTURES / name, site)
    target = site / "_static" / "mathjax"
    target.mkdir(parents=True)
    shutil.copyfile(es5 / "tex-chtml.js", target / "tex-chtml.js")
    for part in ("input", "output", "adaptors", "a11y", "ui", "sre"):
        if (es5 / part).is_dir():
            shutil.copytree(es5 / part, target / part)
    return site


def with_tippy(name: str, tmp_path: Path) -> Path:
    """A copy of fixture ``name`` with the vendored hover-preview libraries in _static/tippy."""
    site = tmp_path / name
    shutil.copytree(FIXTURES / name, site)
    vendor = REPO / "code" / "book_toolchain" / "vendor" / "tippy"
    shutil.copytree(vendor, site / "_static" / "tippy")
    return site
