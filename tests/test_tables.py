"""book_toolchain.tables.table: a captioned, numbered MyST table from a code cell."""

import pytest

from book_toolchain.tables import table

N = "\u202f"


def test_table_is_a_captioned_named_myst_table_with_formatted_numbers():
    t = table(
        [[4, 0.25, "$\\lvert x \\rvert$"], [8, 1.25e-7, None]],
        ["$N$", "error", "$(n+1)^d$"],
        caption="Errors of the Euler ResNet, N = 4 and 8.",
        name="tab-euler-errors",
    )
    lines = t._repr_markdown_().splitlines()
    assert lines[:4] == [
        ":::{table} Errors of the Euler ResNet, N = 4 and 8.",
        ":name: tab-euler-errors",
        ":align: left",
        "",
    ]
    assert lines[4] == "| $N$ | error | $(n+1)^d$ |"
    assert lines[5] == "| ---: | ---: | --- |"  # number columns right-aligned
    assert lines[6] == "| 4 | 0.25 | $\\lvert x \\rvert$ |"
    assert lines[7] == f"| 8 | 1.25{N}×{N}10⁻⁷ | — |"
    assert lines[8] == ":::" and repr(t) == "<Table tab-euler-errors>"


def test_bars_in_cells_do_not_split_the_row():
    t = table([["$|x|$ or a|b"]], ["q"], caption="c", name="tab-q")
    assert "| $\\vert x\\vert $ or a\\|b |" in t._repr_markdown_()


def test_a_caption_may_cite_but_not_show_code():
    t = table([[1]], ["a"], caption="Against the bound {eq}`eq-x` of {prf:ref}`thm-a`.",
              name="tab-r")
    assert ":::{table} Against the bound {eq}`eq-x` of {prf:ref}`thm-a`." in t._repr_markdown_()


def test_numpy_rows_are_rows():
    import numpy as np

    t = table(np.array([[1.0, 0.5]]), ["a", "b"], caption="c", name="tab-np")
    assert "| 1 | 0.5 |" in t._repr_markdown_()


def test_digits_per_column():
    t = table([[1 / 3, 1 / 3]], ["a", "b"], caption="c", name="tab-d", digits=[2, 4])
    assert "| 0.33 | 0.3333 |" in t._repr_markdown_()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"caption": "the `n_blocks` blocks"}, "caption must show numbers"),
        ({"caption": ""}, "caption"),
        ({"caption": "two\nlines"}, "caption"),
        ({"name": "Tab 1"}, "name"),
        ({"name": None}, "name"),
        ({"digits": [3]}, "digits"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    args = {"caption": "Caption.", "name": "tab-x"} | kwargs
    with pytest.raises(ValueError, match=match):
        table([[1, 2]], ["a", "b"], **args)


def test_rows_must_match_the_headers():
    with pytest.raises(ValueError, match=r"rows\[1\] has 1 values for 2 headers"):
        table([[1, 2], [3]], ["a", "b"], caption="c", name="tab-x")
    with pytest.raises(ValueError, match="headers"):
        table([], [], caption="c", name="tab-x")

    with pytest.raises(ValueError, match="rows must be a sequence of rows"):
        table([1, 2], ["a"], caption="c", name="tab-x")
    with pytest.raises(ValueError, match="rows must be a sequence of rows"):
        table(["ab"], ["a"], caption="c", name="tab-x")
