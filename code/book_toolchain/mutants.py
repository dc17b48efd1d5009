"""The mutation gate (``make mutants``): every declared bound, made too optimistic, must fail a claim.

Targets (found with :mod:`ast`, never imported here; see :mod:`.mutant_targets`): each public
function of the bounds module, each entry of a module's ``__bounds__``, and the constants
``m, L, H, mu`` of each catalogue field. The dependent chapters are run in quick mode with
the value scaled by 1/2 (an upper bound) or by 2 (a lower bound: a function named
``*_lower_bound``, or the first entry of a ``(lower, upper)`` pair of the bounds module); a
field's ``mu`` becomes ``mu - |mu| / 2``. The change is injected from outside the package: a
``sitecustomize.py`` on the ``PYTHONPATH`` the kernel inherits wraps the function (in its
module and in every package module that imported it by name), the method (on its class) or the
field constructor (its fields come back with the constant scaled) as soon as the kernel starts.
The library has no hook for this. A field mutant whose constant is absent or zero wherever the
chapters build that field changes nothing: it is reported as not applicable, not as caught.

A chapter depends on a bound if its source names it, or names a package function or class that
calls it, directly or through other package functions (the call graph is read with :mod:`ast`).
Chapters run fastest first; the first violated claim stops the search for that function.
The table is written to ``_build/mutants.json`` and to the page ``chapters/mutation_report.md``.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import claims as claims_mod
from . import mutant_targets as targets
from .execute import execute_chapter
from .mutant_inject import no_effect, sitecustomize
from .project import BuildError, Project, write_json

PACKAGE = "resnet_flows"
BOUNDS_MODULE = "bounds"
UPPER_FACTOR, LOWER_FACTOR = 0.5, 2.0
REPORT_PAGE = "mutation_report"


@dataclass
class Mutant:
    """One bound made too optimistic: ``function``'s value (or one entry of it) scaled.

    ``module`` is the package module (dotted below the package), ``function`` a function or
    ``Class.method`` of it, or for a field mutant the catalogue constructor with ``field_bound``
    one of ``sup, lip, hess, mu``; ``index`` the entry of a returned tuple that is the bound."""

    function: str
    factors: tuple[float, ...]  # one factor, or one per entry of a returned tuple
    statement: str = ""
    module: str = BOUNDS_MODULE
    index: int | None = None
    field_bound: str | None = None
    chapters: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    caught_by: dict | None = None
    error: str | None = None
    inapplicable: str | None = None
    seconds: float = 0.0

    @property
    def name(self) -> str:
        if self.field_bound is not None:
            return (f"{self.function} {targets.FIELD_SYMBOLS[self.field_bound]} "
                    f"x {self.factors[0]:g}")
        target = self.function if self.module == BOUNDS_MODULE else f"{self.module}.{self.function}"
        if self.index is not None:
            target += f"[{self.index}]"
        if len(self.factors) == 1:
            return f"{target} x {self.factors[0]:g}"
        return f"{target} x ({', '.join(f'{f:g}' for f in self.factors)})"

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name.replace("μ", "mu"))


def package_dir(project: Project) -> Path:
    return project.root / "code" / PACKAGE


def bound_functions(path: Path) -> dict[str, ast.FunctionDef]:
    """Public top-level functions of the bounds module: its ``__all__`` if it has one."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    exported = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exported = [ast.literal_eval(e) for e in node.value.elts]
    names = exported if exported is not None else [n for n in functions if not n.startswith("_")]
    return {n: functions[n] for n in names if n in functions}


def returned_pair(function: ast.FunctionDef) -> bool:
    """Whether the function returns a literal 2-tuple: read as ``(lower, upper)``."""
    returns = [n for n in ast.walk(function) if isinstance(n, ast.Return) and n.value is not None]
    return bool(returns) and all(
        isinstance(r.value, ast.Tuple) and len(r.value.elts) == 2 for r in returns
    )


def lower_bound(function: ast.FunctionDef) -> bool:
    """Whether the function is named as a lower bound (``*_lower_bound``): its mutant doubles it."""
    return function.name.endswith("_lower_bound")


def cited_label(function: ast.FunctionDef) -> str:
    """The statement label the docstring cites, e.g. ``thm-main``."""
    found = re.findall(r"\b((?:thm|prop|lem|cor|def)-[a-z0-9-]+)", ast.get_docstring(function) or "")
    return found[-1] if found else "—"


def mutants_of(functions: dict[str, ast.FunctionDef]) -> list[Mutant]:
    out = []
    for name, node in functions.items():
        label = cited_label(node)
        if returned_pair(node):
            out.append(Mutant(name, (LOWER_FACTOR, 1.0), label))
            out.append(Mutant(name, (1.0, UPPER_FACTOR), label))
        elif lower_bound(node):
            out.append(Mutant(name, (LOWER_FACTOR,), label))
        else:
            out.append(Mutant(name, (UPPER_FACTOR,), label))
    return out


def declared_mutants(project: Project) -> list[Mutant]:
    """One mutant per entry of every package module's ``__bounds__`` (the bounds module keeps
    its own rule: all public functions)."""
    out = []
    for module, path in targets.module_files(package_dir(project)).items():
        if module == BOUNDS_MODULE:
            continue
        for name, index, node in targets.declared_bounds(path):
            factor = LOWER_FACTOR if name.endswith("_lower_bound") else UPPER_FACTOR
            out.append(Mutant(name, (factor,), cited_label(node), module=module, index=index))
    return out


def field_mutants(project: Project) -> list[Mutant]:
    """One mutant per catalogue field constructor and constant ``m, L, H, mu``."""
    path = package_dir(project) / (targets.FIELD_MODULE.replace(".", "/") + ".py")
    if not path.exists():
        return []
    return [Mutant(name, (UPPER_FACTOR,), cited_label(node), module=targets.FIELD_MODULE,
                   field_bound=kind)
            for name, node in targets.field_constructors(path).items()
            for kind in targets.FIELD_BOUNDS]


def _called_names(node: ast.AST, bound_names: set[str]) -> set[str]:
    """Names a definition calls or refers to: ``bounds.f`` as ``bounds:f``, others bare."""
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
            if sub.value.id == BOUNDS_MODULE:
                names.add(f"{BOUNDS_MODULE}:{sub.attr}")
            else:
                names.add(sub.attr)
        elif isinstance(sub, ast.Name):
            names.add(f"{BOUNDS_MODULE}:{sub.id}" if sub.id in bound_names else sub.id)
    return names


def package_users(project: Project, bound_names: set[str]) -> dict[str, set[str]]:
    """For each bound, the package functions and classes that call it, transitively; a bound
    that calls another (``averaged_euler_errors`` calls ``discrete_gronwall``) is a user as
    ``bounds:<name>``."""
    uses: dict[str, set[str]] = {}
    tree = ast.parse((package_dir(project) / f"{BOUNDS_MODULE}.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            uses[f"{BOUNDS_MODULE}:{node.name}"] = _called_names(node, bound_names)
    for path in sorted(package_dir(project).glob("*.py")):
        if path.stem == BOUNDS_MODULE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith(BOUNDS_MODULE)
            for alias in node.names
        }
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                local = bound_names & imported
                uses.setdefault(node.name, set()).update(_called_names(node, local))
    users: dict[str, set[str]] = {}
    for bound in bound_names:
        found, frontier = set(), {f"{BOUNDS_MODULE}:{bound}"}
        while frontier:
            new = {n for n, called in uses.items() if called & frontier and n not in found}
            found |= new
            frontier = new
        users[bound] = found
    return users


def dependent_chapters(project: Project, bound: str, users: set[str]) -> list[str]:
    """Chapters whose source names ``bounds.<bound>``, or calls (``name(``, ``.name``) a package
    function or class that uses it."""
    prefix = f"{BOUNDS_MODULE}:"
    words = [rf"\b{BOUNDS_MODULE}\.{re.escape(bound)}\b"]
    words += [rf"\b{BOUNDS_MODULE}\.{re.escape(u[len(prefix):])}\b" if u.startswith(prefix)
              else rf"(\.{re.escape(u)}\b|\b{re.escape(u)}\()" for u in users]
    pattern = re.compile("|".join(words))
    return [n for n in project.chapter_names() if pattern.search(project.source(n).read_text())]


def run_mutant(project: Project, mutant: Mutant, order: list[str], out_root: Path) -> Mutant:
    """Run the dependent chapters with the mutant until a claim fails."""
    started = time.time()
    statuses: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mutant-") as site:
        mark = Path(site, "applied")
        Path(site, "sitecustomize.py").write_text(sitecustomize(
            PACKAGE, mutant.module, mutant.function, mark, factors=mutant.factors,
            index=mutant.index, field_bound=mutant.field_bound))
        scratch = MutantProject(project.root, out_root / mutant.slug)
        saved = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (site, saved) if p)
        try:
            for name in [n for n in order if n in mutant.chapters]:
                mutant.ran.append(name)
                try:
                    execute_chapter(scratch, name, {"mode": "quick", "seed": 0})
                except BuildError as failure:
                    # a failed run keeps its ledger apart from the last good one
                    failed = claims_mod.read_ledger(scratch.failed_dir / f"{name}.json")
                    violated = [c for c in failed.get("claims", []) if not c["holds"]]
                    if violated:
                        c = violated[0]
                        mutant.caught_by = {"chapter": name, "label": c["label"],
                                            "kind": c.get("kind"), "quantity": c["quantity"],
                                            "ratio": c["ratio"]}
                        break
                    # an error is no claim: noted, and the next chapter may still catch it
                    mutant.error = f"{name}: " + str(failure).strip()[-300:]
                finally:
                    if not mark.exists() or "installed" not in mark.read_text():
                        raise BuildError(f"mutant {mutant.name} was not applied in {name}")
                    statuses += mark.read_text().splitlines()
                    mark.unlink()
                if mutant.field_bound is not None:
                    mutant.inapplicable = no_effect(statuses)
                    if mutant.inapplicable:
                        break
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
    mutant.seconds = round(time.time() - started, 1)
    return mutant


class MutantProject(Project):
    """The book with its build tree moved aside, so a mutant run leaves ``_build`` alone."""

    def __init__(self, root: Path, build: Path):
        # a mutant's run times are not the book's: book_timings.json stays as it is
        super().__init__(root, record_timings=False)
        self._build = build

    @property
    def build_dir(self) -> Path:
        return self._build


def _target_cell(m: Mutant) -> str:
    if m.field_bound is not None:
        return (f"field `{m.function}`: {targets.FIELD_SYMBOLS[m.field_bound]} "
                f"x {m.factors[0]:g}")
    return f"`{m.name}`"


def allowances(project: Project) -> list[str]:
    """``module.name`` of every round-off allowance a package module declares."""
    return [f"{module}.{name}"
            for module, path in targets.module_files(package_dir(project)).items()
            for name in targets.declared_allowances(path)]


def _allowance_name(name: str) -> str:
    """``module.function`` as two short code spans: one long span would not break, and the page
    would scroll sideways on a phone."""
    module, _, function = name.rpartition(".")
    return f"`{function}` (`{module}`)" if module else f"`{name}`"


def report_page(mutants: list[Mutant], seconds: float, allowed: list[str] = ()) -> str:
    caught = sum(m.caught_by is not None for m in mutants)
    void = sum(m.caught_by is None and m.inapplicable is not None for m in mutants)
    lines = [
        "# Mutation report",
        "",
        ("Would the checks notice a wrong constant? For every public function of "
         "`resnet_flows.bounds`, every bound a package module declares in `__bounds__` (a "
         "function, a method, or one entry of a returned tuple) and every constant m, L, H, μ "
         "of every field of the catalogue, `make mutants` ran the chapters that use it "
         "(directly or through the package) in quick mode with the value halved (for a lower "
         "bound, named `*_lower_bound` or the lower entry of a `(lower, upper)` pair: doubled), "
         "injected from outside the package, and stopped at the first claim that failed. "
         "Generated by `python -m book_toolchain.mutants`; "
         f"**{caught} of {len(mutants)} mutants caught** in {seconds / 60:.1f} min"
         + (f"; {void} changed nothing (a field that declares no such constant, or declares 0)"
            if void else "") + "."),
        "",
        "| Function / field (mutant) | Statement | Chapters run | Caught by | Kind | Ratio |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m in mutants:
        ran = ", ".join(n[:2] for n in m.ran) or "none (no dependent chapter)"
        if m.caught_by:
            c = m.caught_by
            ratio = "n/a" if c["ratio"] is None else f"{c['ratio']:.3g}"
            by, kind = f"ch {c['chapter'][:2]}, `{c['label']}`: {c['quantity']}", c["kind"]
        elif m.inapplicable:
            by, kind, ratio = f"not applicable: {m.inapplicable}", "", ""
        else:
            by, kind, ratio = "**not caught**" + (f" (error: {m.error})" if m.error else ""), "", ""
        by = by.replace("|", "\\|")
        lines.append(f"| {_target_cell(m)} | `{m.statement}` | {ran} | {by} | {kind} | {ratio} |")
    if allowed:
        lines += ["", "Not mutated: the allowances that modules declare in `__allowances__`: "
                  "round-off (a few units of the last place, or the 10⁻¹² tolerance of the "
                  "comparison with `forward`) and the trust in the reference solver as it "
                  "enters a bound (the central differences of the first-order term, "
                  "√d a / δ). They cover errors far below what any measurement sees (the "
                  "solver runs at a relative tolerance of 10⁻¹¹ and is trusted to a = 10⁻⁸), "
                  "so no claim could notice one halved; their proofs are in the docstrings "
                  "and `tests/test_rounding.py`: "
                  + ", ".join(_allowance_name(name) for name in allowed) + "."]
    return "\n".join(lines) + "\n"


def all_mutants(project: Project) -> list[Mutant]:
    """Every mutant of the book, with the chapters that depend on it."""
    functions = bound_functions(package_dir(project) / f"{BOUNDS_MODULE}.py")
    users = package_users(project, set(functions))
    out = mutants_of(functions)
    for mutant in out:
        mutant.chapters = dependent_chapters(project, mutant.function, users[mutant.function])
    graph = targets.call_graph(package_dir(project))
    sources = {n: project.source(n).read_text() for n in project.chapter_names()}
    for mutant in declared_mutants(project) + field_mutants(project):
        # a method is reached through its class: whoever builds or is handed an instance
        seed = mutant.function.split(".")[0]
        mutant.chapters = targets.chapters_naming(sources, targets.users_of(graph, {seed}))
        out.append(mutant)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book_toolchain.mutants",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--only", nargs="*", default=None, metavar="PATTERN",
                        help="run only the mutants whose name matches one of these regular "
                             "expressions (e.g. 'certificate\\.' or 'cutoff_rotation μ'); "
                             "the report page is then left alone")
    parser.add_argument("--list", action="store_true",
                        help="print the mutants and their dependent chapters, run nothing")
    args = parser.parse_args(argv)
    project = Project(args.root.resolve())
    timings = project.timings()
    order = sorted(project.chapter_names(),
                   key=lambda n: timings.get(n, {}).get("quick", float("inf")))
    mutants = [m for m in all_mutants(project)
               if args.only is None or any(re.search(p, m.name) for p in args.only)]
    if args.list:
        for m in mutants:
            print(f"{m.name}: {', '.join(n for n in order if n in m.chapters) or 'no chapter'}")
        return 0
    started = time.time()
    out_root = project.build_dir / "mutants"
    for i, mutant in enumerate(mutants, 1):
        run_mutant(project, mutant, order, out_root)
        verdict = (f"caught by {mutant.caught_by['label']} ({mutant.caught_by['quantity']}, "
                   f"ratio {mutant.caught_by['ratio']})" if mutant.caught_by
                   else f"NOT APPLICABLE: {mutant.inapplicable}" if mutant.inapplicable
                   else f"NOT CAUGHT {mutant.error or ''}")
        print(f"[{i}/{len(mutants)}] {mutant.name}: ran {mutant.ran} in {mutant.seconds} s: "
              f"{verdict}", flush=True)
    seconds = time.time() - started
    results = project.build_dir / "mutants.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    write_json(results, [asdict(m) | {"name": m.name} for m in mutants])
    if args.only is None:
        (project.chapters_dir / f"{REPORT_PAGE}.md").write_text(report_page(mutants, seconds, allowances(project)))
    missed = [m.name for m in mutants if m.caught_by is None and m.inapplicable is None]
    done = len(mutants) - len(missed)
    print(f"{done} of {len(mutants)} mutants caught or not applicable in {seconds:.0f} s")
    if missed:
        print("NOT CAUGHT: " + ", ".join(missed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
