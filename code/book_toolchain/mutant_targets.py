"""What the mutation gate mutates, found with :mod:`ast` (the gate never imports the package).

Three sources of bounds:

* the bounds module: every public function (its ``__all__``), as before;
* any package module that declares ``__bounds__ = ("func", "Class.method", "func[1]", ...)``:
  a plain name returns an upper bound (halved) or, named ``*_lower_bound``, a lower bound
  (doubled); ``[i]`` marks the ``i``-th entry of a returned tuple as the bound (e.g. the radius
  ``D`` of an interval Jacobian ``(M, D)``), the other entries are left alone;
* every field constructor of the catalogue (``fields/catalogue.py``, its ``__all__``): one
  mutant per declared constant ``m``, ``L``, ``H``, ``mu`` of the fields it returns.

A chapter depends on a target if its source names the target or a package function or class
that reaches it through the package's call graph (read with :mod:`ast`, by bare names: a name
shared by two modules only makes the gate run more chapters, never fewer).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

FIELD_MODULE = "fields.catalogue"
FIELD_BOUNDS = ("sup", "lip", "hess", "mu")
FIELD_SYMBOLS = {"sup": "m", "lip": "L", "hess": "H", "mu": "μ"}
_ENTRY = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)(?:\[(\d+)\])?$")


def module_files(package: Path) -> dict[str, Path]:
    """``{"certificate": path, "fields.catalogue": path, ...}`` for every module of the package."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            out[".".join(parts)] = path
    return out


def _module_tuple(tree: ast.Module, name: str) -> list | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return [ast.literal_eval(e) for e in node.value.elts]
    return None


def _definition(tree: ast.Module, dotted: str) -> ast.FunctionDef | None:
    """The function ``f`` or method ``C.m`` defined at the top of ``tree``."""
    head, _, method = dotted.partition(".")
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == head:
            if not method:
                return node if isinstance(node, ast.FunctionDef) else None
            for sub in node.body if isinstance(node, ast.ClassDef) else []:
                if isinstance(sub, ast.FunctionDef) and sub.name == method:
                    return sub
    return None


def declared_bounds(path: Path) -> list[tuple[str, int | None, ast.FunctionDef]]:
    """The module's ``__bounds__`` as ``(name, index, definition)``; a malformed entry or one
    naming nothing the module defines is an error (a typo would otherwise mutate nothing)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    entries = _module_tuple(tree, "__bounds__")
    out = []
    for entry in entries or []:
        match = _ENTRY.match(entry) if isinstance(entry, str) else None
        if match is None:
            raise ValueError(f"{path.name}: __bounds__ entry {entry!r} is not 'func', "
                             "'Class.method' or either with '[i]'")
        node = _definition(tree, match[1])
        if node is None:
            raise ValueError(f"{path.name}: __bounds__ names {match[1]!r}, which it does not define")
        out.append((match[1], None if match[2] is None else int(match[2]), node))
    return out


def declared_allowances(path: Path) -> list[str]:
    """The module's ``__allowances__``: round-off allowances (a few ulps) that no claim can see
    halved. They are listed in the report, not mutated; a name the module does not define is an
    error."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for entry in _module_tuple(tree, "__allowances__") or []:
        if not isinstance(entry, str) or _definition(tree, entry) is None:
            raise ValueError(f"{path.name}: __allowances__ entry {entry!r} names nothing it defines")
        out.append(entry)
    return out


def field_constructors(path: Path) -> dict[str, ast.FunctionDef]:
    """The catalogue's public functions (its ``__all__``): each returns a field."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    names = _module_tuple(tree, "__all__") or [n for n in functions if not n.startswith("_")]
    return {n: functions[n] for n in names if n in functions}


def call_graph(package: Path) -> dict[str, set[str]]:
    """For each top-level function or class of the package (by bare name), the names it refers
    to (called functions, attributes, classes)."""
    uses: dict[str, set[str]] = {}
    for path in module_files(package).values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = uses.setdefault(node.name, set())
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Attribute):
                        names.add(sub.attr)
                    elif isinstance(sub, ast.Name):
                        names.add(sub.id)
    return uses


def users_of(uses: dict[str, set[str]], seeds: set[str]) -> set[str]:
    """The seeds and every definition that reaches one of them, transitively."""
    found, frontier = set(seeds), set(seeds)
    while frontier:
        frontier = {n for n, called in uses.items() if called & frontier and n not in found}
        found |= frontier
    return found


def chapters_naming(sources: dict[str, str], names: set[str]) -> list[str]:
    """Chapters whose source calls (``name(``) or reaches (``.name``) one of ``names``."""
    if not names:
        return []
    pattern = re.compile("|".join(rf"(\.{re.escape(u)}\b|\b{re.escape(u)}\()"
                                  for u in sorted(names)))
    return [n for n, text in sources.items() if pattern.search(text)]
