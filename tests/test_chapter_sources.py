"""The chapter sources avoid the MyST pitfalls that rendered as raw TeX on the website.

A source line inside a paragraph (or inside math) that starts with ``+ ``, ``- `` or ``* ``
is parsed as a list item, even inside ``$…$``: the page then shows literal ``\\tfrac{…``, stray
``$`` and run-together text (issue 14: Theorem 7.1's statement, chapter 3's proof, Part 3).
"""

import re
from pathlib import Path

import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.md"))

_MARKER = re.compile(r"^\s*[-+*]\s")
_LIST_START = re.compile(r"^\s*([-+*]|\d+[.)])\s")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(\{[^}]*\})?")
# Fenced blocks whose body is Markdown (theorems, admonitions); any other fence is code.
_MARKDOWN_DIRECTIVE = re.compile(r"^\{(prf:|admonition|note|tip|warning|important|dropdown|div)")


def _dollars(line: str) -> tuple[int, int]:
    """Counts of ``$$`` and of single ``$`` delimiters in ``line`` (escaped ``\\$`` skipped)."""
    line = line.replace("\\$", "")
    doubles = line.count("$$")
    return doubles, line.replace("$$", "").count("$")


def list_marker_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` of every line that starts with ``+ ``/``- ``/``* `` where MyST
    would open an unintended list: inside display or inline math, or inside a paragraph that
    is not itself a list."""
    problems = []
    lines = text.splitlines()
    start = 0
    if lines and lines[0].strip() == "---":  # front matter
        start = next(i for i in range(1, len(lines)) if lines[i].strip() == "---") + 1
    code_fence = None  # the opening fence of the code block we are in
    directives = []  # opening fences of the Markdown directives we are in
    in_display = False
    inline_open = False
    paragraph_is_list = None  # None: no paragraph open
    for number, line in enumerate(lines[start:], start=start + 1):
        stripped = line.strip()
        fence = _FENCE.match(line)
        if code_fence is not None:
            if fence and stripped == code_fence:
                code_fence = None
            continue
        if fence and not in_display:
            info = fence.group(2) or ""
            if _MARKDOWN_DIRECTIVE.match(info):
                directives.append(fence.group(1))
            elif not info and directives and stripped == directives[-1]:
                directives.pop()  # the end of a theorem or admonition
            else:
                code_fence = fence.group(1)
            paragraph_is_list, inline_open = None, False
            continue
        if not stripped and not in_display:
            paragraph_is_list, inline_open = None, False
            continue
        if _MARKER.match(line) and (in_display or inline_open or paragraph_is_list is False):
            problems.append((number, line))
        if paragraph_is_list is None and not in_display:
            paragraph_is_list = bool(_LIST_START.match(line))
        doubles, singles = _dollars(line)
        if doubles % 2:
            in_display = not in_display
        if singles % 2 and not in_display:
            inline_open = not inline_open
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_line_starts_a_list_inside_a_paragraph_or_math(path):
    problems = list_marker_lines(path.read_text(encoding="utf-8"))
    assert not problems, "\n".join(f"{path.name}:{n}: {line}" for n, line in problems)


@pytest.mark.parametrize(
    "source",
    [
        # Theorem 7.1's defect: inline math continued on a line starting with "+ ".
        "where $E \\le T \\big(\\tfrac{a}{2}\n+ \\tfrac{b}{2}\\big)$ holds.\n",
        # Chapter 3's defect: "- x" continuing inline math.
        "gives $D^2 g[v_j\n- x, v_j - x]$, and so on.\n",
        # Inside a display.
        "$$\na = b\n+ c\n$$\n",
        # Inside a theorem directive, plain prose continued with "* ".
        "```{prf:theorem} T\n:label: t\n\nThe product\n* of two.\n```\n",
    ],
)
def test_scanner_finds_the_defect(source):
    assert list_marker_lines(source)


@pytest.mark.parametrize(
    "source",
    [
        "Items:\n\n- one $a$\n  continued\n- two\n",
        "1. first\n   - nested\n2. second\n",
        "```{code-cell} ipython3\nx = (1\n     + 2)\n```\n",
        "$$\na = b \\\\\n&\\quad + c\n$$\n",
    ],
)
def test_scanner_accepts_lists_code_and_indented_math(source):
    assert list_marker_lines(source) == []
