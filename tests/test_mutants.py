"""The mutation gate on a fixture package: discovery by ast, dependence, injection, the report."""

import json
import textwrap
from pathlib import Path

import pytest

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


def test_declared_bounds_are_read_with_ast_and_checked(tmp_path):
    from book_toolchain import mutant_targets

    path = tmp_path / "enclose.py"
    path.write_text(textwrap.dedent('''
        __all__ = ["Box", "width"]
        __bounds__ = ("width", "Box.radius[1]", "gap_lower_bound")

        def width(x):
            """``w >= |x|`` (thm-fixture-width)."""
            return abs(x)

        def gap_lower_bound(x):
            return 0.0

        class Box:
            def radius(self, x):
                return x, abs(x)
        '''))
    found = [(name, index) for name, index, _ in mutant_targets.declared_bounds(path)]
    assert found == [("width", None), ("Box.radius", 1), ("gap_lower_bound", None)]
    path.write_text(path.read_text().replace('"width",', '"widht",'))
    with pytest.raises(ValueError, match="widht"):
        mutant_targets.declared_bounds(path)
    path.write_text(path.read_text().replace('"widht",', '"width()",'))
    with pytest.raises(ValueError, match="width"):
        mutant_targets.declared_bounds(path)


def test_the_book_mutates_declared_bounds_and_every_catalogue_constant():
    project = Project(Path(__file__).resolve().parents[1])
    found = {m.name: m for m in mutants.all_mutants(project)}
    for name in ("certificate_terms.flow_lipschitz x 0.5", "certificate_terms.interpolation_errors x 0.5",
                 "lipschitz.MLPBlock.jacobian[1] x 0.5", "lipschitz.KuhnBlock.lipschitz x 0.5"):
        assert "10_certificates" in found[name].chapters, name
    for constant in ("m", "L", "H", "μ"):
        assert "12_field_catalogue" in found[f"cutoff_rotation {constant} x 0.5"].chapters
        assert "10_certificates" in found[f"periodic_drift_rotation {constant} x 0.5"].chapters
    assert found["averaged_euler_errors x 0.5"].module == "bounds"  # the old rule stays


def _run_injected(tmp_path, code, **target):
    """Run ``code`` in a fresh interpreter whose sitecustomize installs the mutant."""
    import subprocess
    import sys

    from book_toolchain.mutant_inject import sitecustomize

    mark = tmp_path / "applied"
    mark.unlink(missing_ok=True)
    (tmp_path / "sitecustomize.py").write_text(sitecustomize("resnet_flows", mark=mark, **target))
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return out.stdout.split(), mark.read_text().splitlines()


def test_a_field_mutant_halves_the_constant_and_its_integral(tmp_path):
    code = ("from resnet_flows import fields\n"
            "g = fields.cutoff_rotation(2.0)\n"
            "f = fields.periodic_drift_rotation()\n"
            "print(g.mu, float(f.mu_bound(0.3)), float(f.mu_integral(0.0, 1.0)))\n"
            "fields.saturated_field([[1.0]])\n")
    values, marks = _run_injected(tmp_path, code, module="fields.catalogue",
                                  function="cutoff_rotation", field_bound="mu")
    proved = 2.0 / 3**1.5
    assert [float(v) for v in values] == pytest.approx([proved / 2, 1 / 3**1.5 / 2,
                                                         1 / 3**1.5 / 2])
    assert marks[0].startswith("installed") and marks[1:] == ["changed", "changed"]
    values, marks = _run_injected(tmp_path, code.replace("print(", "0 and print("),
                                  module="fields.catalogue", function="saturated_field",
                                  field_bound="mu")
    assert mutants.no_effect(marks) == "the field declares no such bound"
    zero = "from resnet_flows import fields\nfields.constant_drift([1.0, 0.0])\n"
    _, marks = _run_injected(tmp_path, zero, module="fields.catalogue",
                             function="constant_drift", field_bound="lip")
    assert "declared bound is 0" in mutants.no_effect(marks)
    _, marks = _run_injected(tmp_path, zero, module="fields.catalogue",
                             function="constant_drift", field_bound="sup")
    assert mutants.no_effect(marks) is None


def test_a_method_entry_mutant_halves_only_that_entry(tmp_path):
    code = ("import numpy as np, torch\n"
            "from resnet_flows import lipschitz\n"
            "block = lipschitz.relu_blocks([torch.nn.Sequential(torch.nn.Linear(1, 1),"
            " torch.nn.ReLU(), torch.nn.Linear(1, 1)).double()], [0.0, 1.0])[0][0]\n"
            "block.layers = [(np.array([[1.0]]), np.array([0.0])),"
            " (np.array([[-4.0]]), np.array([0.0]))]\n"
            "m, d = block.jacobian(np.zeros((1, 1)), np.ones(1))\n"
            "print(m[0, 0, 0], d[0, 0, 0], block.lipschitz(np.zeros((1, 1)), np.ones(1))[0])\n")
    values, marks = _run_injected(tmp_path, code, module="lipschitz",
                                  function="MLPBlock.jacobian", index=1)
    # outward rounding adds a few ulps to the radius (unmutated: -1, 2, 3)
    assert [float(v) for v in values] == pytest.approx([-1.0, 1.0, 2.0], rel=1e-12)
    assert marks == ["installed 1"]
