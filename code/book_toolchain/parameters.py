"""Chapter parameters: declared once, checked before any work starts.

Every chapter's code begins with its ``parameters`` cell (papermill's defaults) followed by one
declaration cell::

    from book_toolchain import check_parameters

    check_parameters(globals(), mode="one of quick, full", seed="int >= 0",
                     n_points="int >= 1", blocks="list of int >= 1", eps="None or float > 0")

In the kernel the call checks the values in the notebook's namespace (defaults or papermill's
injected overrides) and raises ``ValueError`` naming the parameter. The pipeline reads the same
declaration from the chapter source, without executing it, and checks ``-p`` overrides before a
kernel starts (:func:`check_overrides`).

A spec is a string of this grammar (spaces as shown)::

    spec   := "None or " spec | "one of " word {", " word} | "list of " spec | "tuple of " spec
            | ("int" | "float" | "bool" | "str") [bound]
    bound  := (">=" | ">" | "<=" | "<") number | "in " ("[" | "(") number ", " number ("]" | ")")

``float`` accepts ints (not bools) and only finite numbers (``inf`` and ``nan`` are refused);
a list or tuple has at least one item. A string given for a non-``str`` spec (every ``-p`` value
that is not a number) is read as a Python literal, so ``-p blocks 4,8,16`` and
``-p resnet_sizes "[(4,8),(8,16)]"`` work; a single value given for a list becomes a list of one.
Parameters that size the work (points, blocks, cells, steps) carry an upper bound in their spec
(``"int in [1, 100000]"``), so a value that would not fit in memory is refused before a kernel
starts.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Mapping
from typing import Any

DECLARATION = "check_parameters"
_TYPES = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}
_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
_SCALAR = re.compile(
    r"^(int|float|bool|str)"
    r"(?:\s*(>=|>|<=|<)\s*(\S+)|\s+in\s+([\[(])\s*(\S+)\s*,\s*(\S+)\s*([\])]))?$"
)


def check_value(name: str, spec: str, value: Any) -> Any:
    """``value`` of parameter ``name`` if it matches ``spec`` (strings read as literals).

    Raises ``ValueError`` naming the parameter and what it accepts.
    """
    try:
        return _check(spec.strip(), value)
    except _Mismatch as mismatch:
        why = f" ({mismatch.args[0]})" if mismatch.args else ""
        raise ValueError(f"parameter {name!r} accepts {spec}, got {value!r}{why}") from None


def check_parameters(namespace: dict[str, Any], **specs: str) -> None:
    """Check the declared parameters in ``namespace`` (a chapter's ``globals()``) in place.

    Every declared name must be present; values given as strings are replaced by the literal
    they spell (see the module docstring). Raises ``ValueError`` naming the parameter.
    """
    for name, spec in specs.items():
        _parse(spec)  # a malformed spec is an error even when the value would pass
        if name not in namespace:
            raise ValueError(f"parameter {name!r} is declared but not defined")
        namespace[name] = check_value(name, spec, namespace[name])


def check_overrides(
    chapter: str, defaults: Mapping[str, Any], specs: Mapping[str, str], overrides: Mapping
) -> dict[str, Any]:
    """The overrides, checked against the chapter's parameters before it runs.

    ``defaults`` are the chapter's parameters cell, ``specs`` its declaration. Raises
    ``ValueError`` for an unknown name (listing the chapter's parameters), a bad value, or a
    declaration that does not cover exactly the parameters cell.
    """
    undeclared = [name for name in defaults if name not in specs]
    if undeclared:
        raise ValueError(
            f"chapter {chapter}: parameters {', '.join(undeclared)} are not declared in its "
            f"{DECLARATION}(...) cell"
        )
    unknown = [name for name in overrides if name not in defaults]
    if unknown:
        raise ValueError(
            f"chapter {chapter} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters: {', '.join(defaults)}"
        )
    for name, spec in specs.items():
        if name not in defaults:
            raise ValueError(f"chapter {chapter}: declared parameter {name!r} is not in its "
                             "parameters cell")
        try:
            check_value(name, spec, overrides.get(name, defaults[name]))
        except ValueError as error:
            raise ValueError(f"chapter {chapter}: {error}") from None
    return dict(overrides)


# ----------------------------------------------------------------- reading a chapter's source


def parameters_cell(notebook) -> int | None:
    """Index of the code cell tagged ``parameters`` (None when there is none)."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return index
    return None


def read_defaults(source: str) -> dict[str, Any]:
    """The assignments of a parameters cell, name → literal value, in order."""
    defaults: dict[str, Any] = {}
    for statement in ast.parse(source).body:
        if not isinstance(statement, ast.Assign | ast.AnnAssign) or statement.value is None:
            continue
        value = _constant(statement.value)
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        for target in targets:
            if isinstance(target, ast.Name):
                defaults[target.id] = value
            elif isinstance(target, ast.Tuple):  # a, b = 1, 2
                for element, item in zip(target.elts, value, strict=True):
                    defaults[element.id] = item
    return defaults


_ARITHMETIC = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow,
}


def _constant(node: ast.expr) -> Any:
    """A literal, or arithmetic on literals such as ``1 / 8``; ``ValueError`` otherwise."""
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        return _ARITHMETIC[type(node.op)](_constant(node.left), _constant(node.right))
    return ast.literal_eval(node)


def read_declaration(source: str) -> dict[str, str] | None:
    """The specs of the first ``check_parameters(...)`` call in ``source`` (None: no call)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if called == DECLARATION:
                return {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    return None


def chapter_parameters(notebook) -> tuple[dict[str, Any], dict[str, str]] | None:
    """(defaults, specs) of a chapter notebook; None when it has no parameters cell.

    The declaration is the first code cell after the parameters cell; raises ``ValueError``
    when it is missing.
    """
    index = parameters_cell(notebook)
    if index is None:
        return None
    defaults = read_defaults(notebook.cells[index].source)
    following = [c for c in notebook.cells[index + 1 :] if c.cell_type == "code"]
    specs = read_declaration(following[0].source) if following else None
    if specs is None:
        raise ValueError(
            f"the cell after the parameters cell must declare them: {DECLARATION}(globals(), "
            + ", ".join(f'{name}="..."' for name in defaults)
            + ")"
        )
    for spec in specs.values():
        _parse(spec)
    return defaults, specs


# ----------------------------------------------------------------------------- the grammar


class _Mismatch(Exception):
    pass


def _parse(spec: str) -> tuple:
    """The spec as a nested tuple; ``ValueError`` for a malformed one."""
    spec = spec.strip()
    for prefix, kind in (("None or ", "optional"), ("list of ", "list"), ("tuple of ", "tuple")):
        if spec.startswith(prefix):
            return (kind, _parse(spec[len(prefix) :]))
    if spec.startswith("one of "):
        return ("choice", tuple(word.strip() for word in spec[len("one of ") :].split(",")))
    match = _SCALAR.match(spec)
    if not match:
        raise ValueError(f"malformed parameter spec {spec!r} (see book_toolchain.parameters)")
    kind, op, number, left, low, high, right = match.groups()
    try:
        if op:
            return ("scalar", kind, ((op, float(number)),))
        if left:
            return ("scalar", kind, ((">=" if left == "[" else ">", float(low)),
                                     ("<=" if right == "]" else "<", float(high))))
    except ValueError:
        raise ValueError(f"malformed number in parameter spec {spec!r}") from None
    return ("scalar", kind, ())


def _check(spec: str, value: Any) -> Any:
    return _match(_parse(spec), value)


def _match(tree: tuple, value: Any) -> Any:
    kind = tree[0]
    if isinstance(value, str) and not _accepts_str(tree):
        value = _literal(value)
    if kind == "optional":
        return None if value is None else _match(tree[1], value)
    if kind == "choice":
        if not isinstance(value, str) or value not in tree[1]:
            raise _Mismatch
        return value
    if kind in ("list", "tuple"):
        items = list(value) if isinstance(value, list | tuple) else [value]
        if not items:
            raise _Mismatch(f"an empty {kind}")
        items = [_match(tree[1], item) for item in items]
        return items if kind == "list" else tuple(items)
    _, scalar, bounds = tree
    if isinstance(value, bool) != (scalar == "bool") or not isinstance(value, _TYPES[scalar]):
        raise _Mismatch
    if isinstance(value, float) and not math.isfinite(value):
        raise _Mismatch("not a finite number")
    if not all(_COMPARE[op](value, limit) for op, limit in bounds):
        raise _Mismatch
    return value


def _accepts_str(tree: tuple) -> bool:
    if tree[0] == "choice":
        return True
    if tree[0] == "scalar":
        return tree[1] == "str"
    return tree[0] == "optional" and _accepts_str(tree[1])


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        if text.strip().lower() in ("none", "null"):
            return None
        raise _Mismatch from None
