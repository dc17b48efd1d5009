"""Staging the book (book_toolchain.stage)."""

import pytest

from book_toolchain import stage
from book_toolchain.project import BuildError


def test_toc_filter_drops_missing_files_and_empty_parts():
    toc = {
        "root": "chapters/00_introduction",
        "parts": [
            {"caption": "A", "chapters": [{"file": "chapters/01"}, {"file": "chapters/02"}]},
            {"caption": "B", "chapters": [{"file": "chapters/03"}]},
        ],
    }
    notices = []
    present = {"chapters/00_introduction", "chapters/01"}
    staged = stage.filter_toc(toc, present, notices)
    assert staged["parts"] == [{"caption": "A", "chapters": [{"file": "chapters/01"}]}]
    assert len(notices) == 2
    with pytest.raises(BuildError, match="root page"):
        stage.filter_toc(toc, {"chapters/01"}, [])
