"""The code a mutant kernel runs first: a ``sitecustomize.py`` that wraps one function, method
or field constructor of the package so that a bound comes back too optimistic (see
:mod:`.mutants`). The package itself has no hook for this; nothing here imports it.
"""

from __future__ import annotations

from pathlib import Path

SITECUSTOMIZE = """\
# Written by book_toolchain.mutants: makes one bound of {package}.{module} too optimistic.
import sys

def _mutate():
    import functools
    import importlib

    import numpy as np
    import {package}
    module = importlib.import_module("{package}.{module}")
    target, index, factors = {function!r}, {index!r}, {factors!r}

    def scale(value, factor):
        if factor == 1.0:
            return value
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return max(1, int(np.ceil(value * factor)))  # a count stays a count
        return value * factor

    def mutated(value):
        if index is not None:
            items = list(value)
            items[index] = scale(items[index], factors[0])
            return tuple(items)
        if len(factors) > 1:
            return type(value)(scale(v, f) for v, f in zip(value, factors))
        return scale(value, factors[0])

    owner_name, _, method = target.rpartition(".")
    if owner_name:  # a method: replaced on its class, which every instance looks up
        owner = getattr(module, owner_name)
        original = owner.__dict__[method]

        @functools.wraps(original)
        def mutant(*args, **kwargs):
            return mutated(original(*args, **kwargs))

        setattr(owner, method, mutant)
        replaced = 1
    else:
        original = getattr(module, target)

        @functools.wraps(original)
        def mutant(*args, **kwargs):
            return mutated(original(*args, **kwargs))

        replaced = 0
        for name, loaded in list(sys.modules.items()):
            if name.startswith("{package}") and getattr(loaded, target, None) is original:
                setattr(loaded, target, mutant)
                replaced += 1
    # proof for the runner that the mutant is in place (site swallows errors in sitecustomize)
    with open({mark!r}, "a") as mark:
        mark.write(f"installed {{replaced}}\\n")

_mutate()
"""

FIELD_SITECUSTOMIZE = """\
# Written by book_toolchain.mutants: the fields built by {package}.{module}.{function} come back
# with their declared {bound} too optimistic (halved; a signed mu becomes mu - |mu| / 2).
import sys

def _mutate():
    import dataclasses
    import functools
    import importlib

    import numpy as np
    import {package}
    from {package}.fields.base import SpatialField, VectorField
    module = importlib.import_module("{package}.{module}")
    name, kind = {function!r}, {bound!r}
    original = getattr(module, name)

    def note(status):
        with open({mark!r}, "a") as mark:
            mark.write(status + "\\n")

    def optimistic(value):
        # half of a bound >= 0, mu - |mu| / 2 for a signed mu; an infinite bound at a singular
        # time stays infinite (inf - inf / 2 would be NaN, which the field refuses)
        value = np.asarray(value, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return np.where(np.isfinite(value), value - 0.5 * np.abs(value), value)[()]

    def spatial(g):
        value = getattr(g, kind)
        if value is None:
            return g, "absent"
        return dataclasses.replace(g, **{{kind: float(optimistic(value))}}), (
            "zero" if value == 0 else "changed")

    def vector(f):
        bound = getattr(f, kind + "_bound")
        if bound is None:
            return f, "absent"
        try:
            with np.errstate(all="ignore"):
                probe = np.asarray(bound(np.linspace(0.0, f.horizon, 65)), dtype=np.float64)
            status = "changed" if np.any(probe != 0) else "zero"
        except Exception:
            status = "changed"
        setattr(f, kind + "_bound", lambda t, bound=bound: optimistic(bound(t)))
        primitive = f._primitives.get(kind)
        # the integrals of the bound must move with it: m, L, H >= 0 scale exactly; a signed
        # mu is integrated afresh from the mutated bound
        f._primitives[kind] = (None if primitive is None or kind == "mu"
                               else (lambda t, p=primitive: 0.5 * np.asarray(p(t))[()]))
        f._tables.pop(kind, None)
        return f, status

    @functools.wraps(original)
    def mutant(*args, **kwargs):
        value = original(*args, **kwargs)
        if isinstance(value, SpatialField):
            value, status = spatial(value)
        elif isinstance(value, VectorField):
            value, status = vector(value)
        else:
            status = "absent"
        note(status)
        return value

    replaced = 0
    for loaded_name, loaded in list(sys.modules.items()):
        if loaded_name.startswith("{package}") and getattr(loaded, name, None) is original:
            setattr(loaded, name, mutant)
            replaced += 1
    note(f"installed {{replaced}}")

_mutate()
"""


def sitecustomize(package: str, module: str, function: str, mark: Path, *,
                  factors=(0.5,), index: int | None = None, field_bound: str | None = None) -> str:
    """The ``sitecustomize.py`` that installs one mutant; it appends ``installed <n>`` (and for
    a field mutant ``changed``, ``zero`` or ``absent`` per field built) to ``mark``."""
    if field_bound is not None:
        return FIELD_SITECUSTOMIZE.format(package=package, module=module, function=function,
                                          bound=field_bound, mark=str(mark))
    return SITECUSTOMIZE.format(package=package, module=module, function=function, index=index,
                                factors=tuple(factors), mark=str(mark))


def no_effect(statuses: list[str]) -> str | None:
    """Why a field mutant changed nothing in the chapters run so far, if it did not."""
    built = [s for s in statuses if not s.startswith("installed")]
    if not built or "changed" in built:
        return None
    if "zero" in built:
        return "declared bound is 0 wherever the chapters build this field: halving changes nothing"
    return "the field declares no such bound"
