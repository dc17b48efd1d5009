"""Sizes, limits and refusals of certified plans: huge work is refused before it starts.

A plan of ``N`` blocks, each a Kuhn network with ``n`` cells per axis in ``d`` dimensions, has
``N nnz(d, n)`` nonzero parameters (lem-kuhn-network-size, :func:`~resnet_flows.relu.kuhn_network_size`)
and its ResNet holds ``N (n + 1)^d d`` nodal values plus one set of hidden layers shared by all
blocks. Every planner estimates these numbers before it builds or searches further, and raises
:class:`PlanTooLarge` (a ``ValueError``) beyond ``max_parameters`` or ``max_memory``.

Lower bounds that hold for every plan of thm-main (so refusing on them never refuses a plan that
would fit): ``max_k M_k >= int m / N`` (the largest of ``N`` masses is at least their mean), and
the block part is at least ``scale(|K| / n) sum_k w_k`` because the block box contains ``K`` and
the discrete Gronwall sum is at least the sum of its terms: ``w = Lambda`` (``int L`` in all,
Lipschitz blocks, ``scale(h) = h / 2``) or ``w = int H`` (C^2 blocks, ``scale(h) = h^2 / 8``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .relu import kuhn_network_size

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "DEFAULT_MAX_PARAMETERS",
    "MAX_SEARCH_BLOCKS",
    "PlanTooLarge",
    "cells_lower_bound",
    "check_build_memory",
    "estimate",
    "exceeds",
    "format_bytes",
    "mesh_memory",
    "network_memory",
    "nonzero_per_block",
    "plan_size_lower_bound",
    "refusal",
    "resolve_limits",
]

# Chapter 6 in full mode builds ResNets of up to 1.5e9 nonzero parameters (about 2 GB of nodal
# values); the memory default leaves two thirds of a 24 GB machine to everything else.
DEFAULT_MAX_PARAMETERS = 2 * 10**9
DEFAULT_MAX_MEMORY = 8 * 2**30
# The planners search the number of blocks up to this many (their arrays are O(N) floats).
MAX_SEARCH_BLOCKS = 2**22
# Build workspace, in nodal-value arrays of one block: the nodes, the averages and the
# quadrature's intermediate vectors for fields without a closed-form average.
_WORKSPACE_ARRAYS = 16
# Python and torch objects of one block (module, buffers): measured 5-6 KB, rounded up.
_BLOCK_OVERHEAD = 8192


class PlanTooLarge(ValueError):
    """A plan, mesh or network that would exceed ``max_parameters`` or ``max_memory``."""


def _limit(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number > 0 (math.inf for no limit), got {value!r}")
    value = float(value)
    if math.isnan(value) or value <= 0:
        raise ValueError(f"{name} must be a number > 0 (math.inf for no limit), got {value!r}")
    return value


def resolve_limits(max_parameters, max_memory) -> tuple[float, float]:
    """``(max_parameters, max_memory)`` checked: numbers ``> 0``, ``math.inf`` for no limit."""
    return _limit(max_parameters, "max_parameters"), _limit(max_memory, "max_memory")


def format_bytes(n: float) -> str:
    if not math.isfinite(n):
        return "unbounded memory"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n / 2**10:.3g} KiB"


def nonzero_per_block(dim: int, cells: int) -> int:
    """Nonzero parameters of one block ``R_k`` (a Kuhn network ``R^d -> R^d``), generic values."""
    return kuhn_network_size(dim, cells, dim)[1]


def _hidden_bytes(dim: int, cells: int) -> float:
    """Bytes of the hidden layers (stored once per grid): int64 index and float64 weight per
    term, float64 bias per unit, in the layout of :class:`~resnet_flows.relu.KuhnGrid`."""
    nodes = float(cells + 1) ** dim
    units, width, total = 2 * dim * (cells + 1), 1, 0.0
    total += units * 24.0
    values = dim
    while values > 1:
        pairs, odd = divmod(values, 2)
        units = 2 * nodes * (2 * pairs + odd)
        total += units * (2 * width * 16.0 + 8.0)
        values, width = pairs + odd, 2
    return total + nodes * (2 * width * 16.0 + 8.0)


def network_memory(dim: int, blocks: int, cells: int) -> float:
    """Estimated bytes to build and hold a Kuhn ResNet: ``blocks`` sets of nodal values and
    block objects, the shared hidden layers (twice: numpy arrays, then tensors) and the build's
    workspace (measured: within 15 % of the resident memory a build adds, d = 2, 3)."""
    nodes = float(cells + 1) ** dim
    values = 8.0 * dim * nodes
    return (blocks * (values + _BLOCK_OVERHEAD) + 2.0 * _hidden_bytes(dim, cells)
            + _WORKSPACE_ARRAYS * values)


def check_build_memory(dim: int, blocks: int, cells: int, max_memory: float) -> float:
    """Raise :class:`PlanTooLarge` if a Kuhn ResNet of ``blocks`` blocks with ``cells`` cells
    per axis would need more than ``max_memory`` bytes (:func:`network_memory`); else return
    the estimate."""
    max_memory = _limit(max_memory, "max_memory")
    need = network_memory(dim, blocks, cells)
    if need > max_memory:
        raise PlanTooLarge(f"building {blocks:,} blocks of {cells:,} cells per axis in d={dim} "
                           f"needs about {format_bytes(need)}, beyond max_memory="
                           f"{format_bytes(max_memory)}; pass a larger max_memory if this "
                           "machine has it")
    return need


def mesh_memory(blocks: int, mesh: str) -> float:
    """Estimated peak bytes of ``mesh_times``: a few float arrays of ``blocks + 1`` entries
    (uniform), more for graded ones (targets, the table's safeguarded Newton, collisions)."""
    return (blocks + 1) * 8.0 * (3 if mesh == "uniform" else 16)


def _ceil(x: float) -> float:
    """``ceil(x)`` as a float, ``inf`` for ``x`` too large to count (eps near 0)."""
    return float(math.ceil(x)) if math.isfinite(x) and x < 2.0**62 else math.inf


def _ratio(a: float, b: float) -> float:
    """``a / b`` for ``b >= 0`` that may underflow to 0 (eps = 5e-324): ``inf`` then."""
    return a / b if b > 0 else (0.0 if a == 0 else math.inf)


def _cells_lower_bound(regularity: str, width: float, weight_sum: float, target: float) -> float:
    if weight_sum <= 0:
        return 1.0
    if regularity == "lipschitz":  # width / (2 n) * int L <= target
        return max(1.0, _ceil(_ratio(width * weight_sum, 2.0 * target)))
    return max(1.0, _ceil(width * math.sqrt(_ratio(weight_sum, 8.0 * target))))  # c2


def estimate(dim: int, blocks: float, cells: float) -> dict:
    """``blocks``, ``cells``, nonzero parameters and bytes of a Kuhn ResNet (floats, ``inf``
    when uncountable)."""
    if math.isfinite(blocks) and math.isfinite(cells) and cells < 2**40:
        parameters = blocks * float(nonzero_per_block(dim, int(cells)))
        with np.errstate(over="ignore"):
            memory = network_memory(dim, blocks, int(cells))
    else:
        parameters = memory = math.inf
    return {"dim": dim, "blocks": blocks, "cells": cells, "parameters": parameters,
            "memory": memory}


def _weight_sums(field, regularities) -> dict:
    sums = {"lipschitz": float(field.lip_integral(0.0, field.horizon))}
    if "c2" in regularities:
        sums["c2"] = float(field.hess_integral(0.0, field.horizon))
    return sums


def cells_lower_bound(field, box, block_target: float, regularities) -> float:
    """The fewest cells per axis any grid can have whose block part is ``<= block_target``
    (module docstring), over the given regularities."""
    lower, upper = box
    width = float(np.linalg.norm(upper - lower))
    sums = _weight_sums(field, regularities)
    return min(_cells_lower_bound(r, width, sums[r], block_target) for r in regularities)


def plan_size_lower_bound(field, box, eps: float, shares, regularities,
                          block_sums: bool = True) -> dict:
    """The smallest ``blocks`` ``N``, ``cells``, nonzero ``parameters`` and ``memory`` (bytes)
    any plan of thm-main with ``bound <= eps`` can have, over the given shares and
    regularities (module docstring): a refusal on it never refuses a plan that fits.
    ``block_sums=False`` bounds only ``N`` (cells >= 1), for plans whose block weights are not
    the integrals of ``L`` or ``H`` (point evaluation)."""
    sup_total = float(field.sup_integral(0.0, field.horizon))
    best = None
    for share in shares:
        blocks = max(1.0, _ceil(_ratio(sup_total, share.partition * eps)))
        cells = (cells_lower_bound(field, box, share.blocks * eps, regularities)
                 if block_sums else 1.0)
        size = estimate(field.dim, blocks, cells)
        if best is None or size["parameters"] < best["parameters"]:
            best = size
    return best


def _count(x: float) -> str:
    return f"{int(x):,}" if math.isfinite(x) and x < 1e12 else f"{x:.3g}"


def refusal(eps: float, what: str, size: dict, max_parameters: float,
            max_memory: float) -> PlanTooLarge:
    """The error naming ``eps``, the estimate, the limit it exceeds and what to do."""
    over = []
    if size["parameters"] > max_parameters:
        over.append(f"max_parameters={_count(max_parameters)}")
    if size["memory"] > max_memory:
        over.append(f"max_memory={format_bytes(max_memory)}")
    return PlanTooLarge(
        f"eps={eps:g}: {what} N={_count(size['blocks'])} blocks and {_count(size['cells'])} "
        f"cells per axis: {_count(size['parameters'])} nonzero parameters and "
        f"{format_bytes(size['memory'])}, beyond {' and '.join(over) or 'the limits'}. Raise "
        "eps, or pass larger max_parameters / max_memory if this machine has the memory and "
        "the time for it.")


def exceeds(size: dict, max_parameters: float, max_memory: float) -> bool:
    return size["parameters"] > max_parameters or size["memory"] > max_memory
