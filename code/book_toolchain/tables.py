"""Numbered, captioned tables printed by a chapter's code cell.

A code cell (tagged ``remove-input``) ends with ``table(rows, headers, caption=..., name=...)``;
its output is a MyST ``{table}`` directive around a pipe table, which the book renders (with
``nb_render_markdown_format: myst``) as "Table 3.1: caption", numbered like the figures, and
``{numref}`tab-…``` refers to it from the prose. Numbers in the cells are printed by
:func:`book_toolchain.numbers.fmt` (and right-aligned); strings are Markdown, so a header may be
real mathematics (``"$(n+1)^d$"``, ``"$\\Psi^{-1}$"``).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence

from .numbers import fmt

__all__ = ["Table", "table"]

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_ROLE = re.compile(r"\{[a-z][a-z:-]*\}`[^`]*`")


class Table:
    """A captioned table; displayed in a notebook as Markdown (``_repr_markdown_``)."""

    def __init__(self, markdown: str, name: str):
        self.markdown = markdown
        self.name = name

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:  # text/plain, shown only where Markdown is not rendered
        return f"<Table {self.name}>"


def table(
    rows: Sequence[Sequence],
    headers: Sequence[str],
    *,
    caption: str,
    name: str,
    digits: int | Sequence[int] = 3,
) -> Table:
    """A Markdown ``{table}`` directive: caption, ``:name:`` (for ``{numref}``), pipe table.

    ``rows`` hold one value per header: an int or float (printed by :func:`fmt` with
    ``digits`` significant digits, one value or one per column), ``None`` (printed "—") or a
    string (Markdown, printed as it is). A column of numbers only is right-aligned.
    ``name`` is the label, e.g. ``"tab-euler-errors"`` (lowercase letters, digits, hyphens).
    """
    headers = [str(h) for h in headers]
    if not headers:
        raise ValueError("headers must name at least one column")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must be a label like 'tab-euler-errors', got {name!r}")
    if not isinstance(caption, str) or not caption.strip() or "\n" in caption.strip():
        raise ValueError("caption must be one line of text")
    if "`" in _ROLE.sub("", caption):  # a role ({eq}`x`, {numref}`y`) is welcome, code is not
        raise ValueError(
            "caption must show numbers and words, not code: no backticks (got "
            f"{caption!r})"
        )
    width = len(headers)
    per_column = [digits] * width if isinstance(digits, int) else list(digits)
    if len(per_column) != width:
        raise ValueError(f"digits must be one int or one per column ({width}), got {digits!r}")
    if isinstance(rows, (str, bytes)) or not all(
        hasattr(row, "__len__") and not isinstance(row, (str, bytes)) for row in rows
    ):
        raise ValueError("rows must be a sequence of rows, each a sequence of values")
    rows = [list(row) for row in rows]
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"rows[{i}] has {len(row)} values for {width} headers")
    numeric = [
        bool(rows) and all(_is_number(row[j]) or row[j] is None for row in rows)
        for j in range(width)
    ]
    lines = [
        f":::{{table}} {caption.strip()}",
        f":name: {name}",
        ":align: left",
        "",
        "| " + " | ".join(_cell(h) for h in headers) + " |",
        "| " + " | ".join("---:" if numeric[j] else "---" for j in range(width)) + " |",
    ]
    for row in rows:
        cells = [_value(v, per_column[j]) for j, v in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [":::", ""]
    return Table("\n".join(lines), name)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _value(value, digits: int) -> str:
    if value is None or _is_number(value):
        return fmt(value, digits)
    return _cell(str(value))


def _cell(text: str) -> str:
    """One line of Markdown for a cell: ``|`` escaped in text, written ``\\vert`` in maths
    (an escaped bar inside ``$…$`` would reach TeX as ``\\|``, a double bar)."""
    parts = re.split(r"(\$[^$]*\$)", text.replace("\n", " "))
    return "".join(
        p.replace("|", "\\vert ") if p.startswith("$") else p.replace("|", "\\|") for p in parts
    )
