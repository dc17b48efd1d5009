"""The mutation gate on a fixture package: discovery by ast, dependence, injection, the report."""

import json
import textwrap
from pathlib import Path

from book_toolchain import mutants
from book_toolchain.project import Project

BOUNDS = '''
__all__ = ["half_bound", "pair_bounds", "unused_bound"]


def half_bound(x):
    """``|x / 2| <= |x| / 2`` (thm-fixture-halving)."""
    return abs(x) / 2


def pair_bounds(x):
    """``|x| / 4 <= ... <= |x|`` (thm-fixture-pair)."""
    return 0.25 * abs(x), abs(x)


def unused_bound(x):
    return x


def _helper(x):
    return half_bound(x)
'''

PLAN = '''
from . import bounds


def planned(x):
    return bounds.half_bound(x)


class Planner:
    def run(self, x):
        return planned(x)
'''

CHAPTER = '''---
kernelspec:
  name: python3
  display_name: Python 3
  language: python
---

# Fixture

```{code-cell} ipython3
:tags: [parameters]

mode = "quick"
seed = 0
```

```{code-cell} ipython3
:tags: [remove-cell]

from book_toolchain import check_parameters

check_parameters(globals(), mode="one of quick, full", seed="int >= 0")
```

```{code-cell} ipython3
import numpy as np

from book_toolchain import record_claim
from resnet_flows import plan

x = np.random.default_rng(seed).uniform(-1, 1, 100)
record_claim("thm-fixture-halving", "max |x/2| vs the planned bound", float(np.abs(x / 2).max()),
             plan.planned(1.0), kind="bound")
```
'''


def fixture_book(root: Path, chapters: dict[str, str]) -> Project:
    package = root / "code" / "resnet_flows"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from . import bounds, plan\n")
    (package / "bounds.py").write_text(BOUNDS)
    (package / "plan.py").write_text(PLAN)
    (root / "chapters").mkdir()
    for name, text in chapters.items():
        (root / "chapters" / f"{name}.md").write_text(textwrap.dedent(text))
    return Project(root)


def test_public_functions_found_by_ast_with_labels_and_pairs(tmp_path):
    project = fixture_book(tmp_path, {})
    functions = mutants.bound_functions(mutants.package_dir(project) / "bounds.py")
    assert list(functions) == ["half_bound", "pair_bounds", "unused_bound"]
    found = {m.name: (m.factors, m.statement) for m in mutants.mutants_of(functions)}
    assert found == {
        "half_bound x 0.5": ((0.5,), "thm-fixture-halving"),
        "pair_bounds x (2, 1)": ((2.0, 1.0), "thm-fixture-pair"),  # the lower bound doubled
        "pair_bounds x (1, 0.5)": ((1.0, 0.5), "thm-fixture-pair"),
        "unused_bound x 0.5": ((0.5,), "—"),
    }


def test_a_function_named_as_a_lower_bound_is_doubled(tmp_path):
    path = tmp_path / "bounds.py"
    path.write_text(textwrap.dedent('''
        def depth_lower_bound(x):
            """``sup |X - Phi| >= |x| / 4`` (thm-fixture-lower)."""
            return abs(x) / 4

        def lower_bounded(x):
            """An upper bound whose name merely mentions lower (thm-fixture-upper)."""
            return abs(x)
        '''))
    found = {m.name: m.factors for m in mutants.mutants_of(mutants.bound_functions(path))}
    assert found == {"depth_lower_bound x 2": (2.0,), "lower_bounded x 0.5": (0.5,)}


def test_dependence_follows_calls_through_the_package(tmp_path):
    project = fixture_book(tmp_path, {
        "01_direct": "`bounds.half_bound(2.0)`",
        "02_through_plan": "`plan.planned(2.0)`",
        "03_through_class": "`Planner().run(2.0)`",
        "04_unrelated": "`bounds.unused_bound(1.0)` and the word planned",
    })
    functions = mutants.bound_functions(mutants.package_dir(project) / "bounds.py")
    users = mutants.package_users(project, set(functions))
    assert users["half_bound"] >= {"planned", "Planner"}
    assert mutants.dependent_chapters(project, "half_bound", users["half_bound"]) == [
        "01_direct", "02_through_plan", "03_through_class"]
    assert mutants.dependent_chapters(project, "unused_bound", users["unused_bound"]) == [
        "04_unrelated"]


def test_injected_mutant_is_caught_by_the_claim_and_a_survivor_is_reported(
        tmp_path, monkeypatch, capsys):
    """half_bound, used only through plan.planned, halved from outside: the claim fails."""
    project = fixture_book(tmp_path, {"01_halving": CHAPTER})
    (project.root / "code" / "resnet_flows" / "bounds.py").write_text(
        BOUNDS.replace('"pair_bounds", ', "").split("def pair_bounds")[0]
        + "def unused_bound(x):\n    return x\n")
    monkeypatch.setenv("PYTHONPATH", str(project.root / "code"))  # the fixture package
    assert mutants.main(["--root", str(project.root)]) == 1  # unused_bound survives
    results = {m["name"]: m for m in json.loads((project.build_dir / "mutants.json").read_text())}
    caught = results["half_bound x 0.5"]["caught_by"]
    assert caught["label"] == "thm-fixture-halving" and caught["kind"] == "bound"
    assert caught["ratio"] > 1.0
    assert results["half_bound x 0.5"]["ran"] == ["01_halving"]
    assert results["unused_bound x 0.5"]["caught_by"] is None
    assert results["unused_bound x 0.5"]["ran"] == []
    page = (project.chapters_dir / "mutation_report.md").read_text()
    assert "**1 of 2 mutants caught**" in page and "**not caught**" in page
    assert "NOT CAUGHT: unused_bound x 0.5" in capsys.readouterr().err
    # the book's own build tree is untouched: mutant runs live under _build/mutants
    assert not (project.build_dir / "claims").exists()
