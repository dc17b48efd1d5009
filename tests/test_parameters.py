"""Parameter declarations: the spec grammar, the kernel-side check, reading a chapter source."""

import re
import shutil
import time
from pathlib import Path

import pytest

from book_toolchain import build, check_parameters
from book_toolchain.execute import read_chapter
from book_toolchain.parameters import (
    chapter_parameters,
    check_overrides,
    check_value,
    read_declaration,
    read_defaults,
)

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p for p in (REPO / "chapters").glob("[0-9][0-9]_*.md"))


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ("int >= 1", 3, 3),
        ("float > 0", 2, 2),  # an int is a float
        ("float in (0, 1)", 0.5, 0.5),
        ("float in [0, 1)", 0.0, 0.0),
        ("one of quick, full", "full", "full"),
        ("list of int >= 1", "4,8,16", [4, 8, 16]),  # -p blocks 4,8,16
        ("list of int >= 1", 64, [64]),  # -p blocks 64
        ("None or list of float > 0", None, None),
        ("None or list of float > 0", "0.2,0.05", [0.2, 0.05]),
        ("None or list of tuple of int >= 1", "[(4,8),(8,16)]", [(4, 8), (8, 16)]),
        ("tuple of float > 0", [0.3, 0.01, 8], (0.3, 0.01, 8)),
        ("bool", True, True),
        ("str", "x", "x"),
    ],
)
def test_values_that_match_their_spec(spec, value, expected):
    assert check_value("p", spec, value) == expected


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        ("int >= 1", -5),
        ("int >= 1", 0),
        ("int >= 1", 1.5),
        ("int >= 1", True),  # a bool is not a count
        ("int >= 1", "abc"),
        ("float > 0", 0.0),
        ("float in (0, 1)", 1.0),
        ("float in [0, 1)", -0.1),
        ("one of quick, full", "fast"),
        ("list of int >= 1", "4,8,x"),
        ("list of int >= 1", [4, 0]),
        ("None or int >= 1", "nothing"),
        ("bool", 1),
    ],
)
def test_values_that_do_not_match_name_the_parameter_and_the_spec(spec, value):
    with pytest.raises(ValueError, match=re.escape(f"parameter 'p' accepts {spec}, got")):
        check_value("p", spec, value)


@pytest.mark.parametrize("spec", ["integer", "int >= x", "float in (0 1)", "list of"])
def test_malformed_specs_are_errors(spec):
    with pytest.raises(ValueError, match="malformed"):
        check_value("p", spec, 1)


def test_kernel_side_check_converts_strings_in_place_and_names_the_parameter():
    namespace = {"blocks": "4,8", "n_points": 400}
    check_parameters(namespace, blocks="list of int >= 1", n_points="int >= 1")
    assert namespace["blocks"] == [4, 8]
    namespace["n_points"] = -5
    with pytest.raises(ValueError, match="'n_points' accepts int >= 1, got -5"):
        check_parameters(namespace, blocks="list of int >= 1", n_points="int >= 1")
    with pytest.raises(ValueError, match="'seed' is declared but not defined"):
        check_parameters(namespace, seed="int >= 0")


def test_defaults_are_read_without_executing_the_cell():
    cell = 'mode = "quick"\nseed = 0  # a comment = not parsed\na, b = 32, 2\nstep = 1 / 8\nx: int = 3'
    assert read_defaults(cell) == {"mode": "quick", "seed": 0, "a": 32, "b": 2, "step": 0.125,
                                   "x": 3}
    with pytest.raises(ValueError):
        read_defaults("n = len([1, 2])")  # not a literal: the pipeline could not know it


def test_declaration_is_read_from_the_call():
    cell = 'from book_toolchain import check_parameters\n\ncheck_parameters(globals(), n="int >= 1")'
    assert read_declaration(cell) == {"n": "int >= 1"}
    assert read_declaration("print(1)") is None


def test_overrides_unknown_names_list_the_chapters_parameters():
    defaults = {"mode": "quick", "seed": 0, "n_points": 400}
    specs = {"mode": "one of quick, full", "seed": "int >= 0", "n_points": "int >= 1"}
    assert check_overrides("04_x", defaults, specs, {"n_points": 9}) == {"n_points": 9}
    with pytest.raises(ValueError, match=r"no parameter 'eps'; its parameters: mode, seed, n_p"):
        check_overrides("04_x", defaults, specs, {"eps": 1e-3})
    with pytest.raises(ValueError, match=r"04_x: parameter 'n_points' accepts int >= 1, got -5"):
        check_overrides("04_x", defaults, specs, {"n_points": -5})
    with pytest.raises(ValueError, match="n_points are not declared"):
        check_overrides("04_x", defaults, {"mode": "str", "seed": "int"}, {})
    with pytest.raises(ValueError, match="'extra' is not in its parameters cell"):
        check_overrides("04_x", defaults, {**specs, "extra": "int"}, {})


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_declares_exactly_its_parameters_and_its_defaults_pass(path):
    defaults, specs = chapter_parameters(read_chapter(path))
    assert list(specs) == list(defaults)
    for mode in ("quick", "full"):
        check_overrides(path.stem, defaults, specs, {"mode": mode, "seed": 0})


def test_a_chapter_without_declaration_is_refused(tmp_path):
    path = tmp_path / "01_x.md"
    path.write_text('```{code-cell} ipython3\n:tags: [parameters]\n\nseed = 0\n```\n\n'
                    '```{code-cell} ipython3\nprint(seed)\n```\n')
    with pytest.raises(ValueError, match=r'must declare them: check_parameters\(globals\(\), seed='):
        chapter_parameters(read_chapter(path))


@pytest.mark.parametrize(
    ("spec", "value", "why"),
    [
        ("list of int >= 1", "[]", "an empty list"),  # -p blocks []
        ("None or list of float > 0", [], "an empty list"),
        ("tuple of int >= 1", (), "an empty tuple"),
        ("float > 0", float("inf"), "not a finite number"),  # -p half_width inf
        ("float > 0", float("nan"), "not a finite number"),
        ("float >= 0", float("-inf"), None),
        ("int in [1, 10000]", 10**9, None),  # -p n_points 1000000000
        ("int in [1, 10000]", 1e9, None),  # -p n_points 1e9 (a float)
    ],
)
def test_empty_lists_infinities_and_values_beyond_the_bound_are_refused(spec, value, why):
    with pytest.raises(ValueError, match=re.escape(f"accepts {spec}, got {value!r}")) as caught:
        check_value("p", spec, value)
    if why:
        assert str(caught.value).endswith(f"({why})")


@pytest.mark.parametrize(
    ("chapter", "argv", "message"),
    [
        ("04_averaged_euler", ["-p", "blocks", "[]"], "'blocks' accepts list of int in"),
        ("01_resnets_are_euler", ["-p", "half_width", "inf"], "got inf (not a finite number)"),
        ("01_resnets_are_euler", ["-p", "half_width", "nan"], "got nan (not a finite number)"),
        ("01_resnets_are_euler", ["-p", "n_points", "1000000000"], "got 1000000000"),
        ("01_resnets_are_euler", ["-p", "n_points", "1e9"], "got 1000000000.0"),
    ],
)
def test_the_issues_inputs_fail_before_a_kernel_starts(tmp_path, capsys, chapter, argv, message):
    (tmp_path / "chapters").mkdir()
    shutil.copyfile(REPO / "chapters" / f"{chapter}.md", tmp_path / "chapters" / f"{chapter}.md")
    started = time.time()
    assert build.main(["--root", str(tmp_path), "chapter", chapter, "--no-render", *argv]) == 1
    assert time.time() - started < 10
    assert message in capsys.readouterr().err
    assert not (tmp_path / "_build" / "running").exists()


# Integer parameters that do not size any work: the seed, a factor in a solver tolerance, and a
# target the chapter compares a count with.
UNSIZED = {"seed", "step_allowance", "params_target"}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_count_a_chapter_takes_has_an_upper_bound(path):
    _, specs = chapter_parameters(read_chapter(path))
    for name, spec in specs.items():
        if name in UNSIZED or "int" not in spec:
            continue
        huge = [(10**9, 10**9)] if "tuple" in spec else 10**9
        with pytest.raises(ValueError, match=f"'{name}' accepts"):
            check_value(name, spec, huge)
