"""Parameter counts of thm-graded-count: averaged blocks on a graded mesh for every
``f in L^1(I; C_b^{0,1})``, with no regularity in time, and the floating-point floor of graded
meshes next to singular times (lem-float-floor).

The counts come from the closed forms of :mod:`resnet_flows.bounds` and the exact per-block count
of thm-relu-approx; the planner (:mod:`resnet_flows.plan`) is not used, so that the two can be
compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import bounds
from ._validate import as_box, nonnegative_float, positive_float, positive_int
from .fields import VectorField
from .plan import EpsilonShare, mesh_times
from .relu import kuhn_network_size

__all__ = ["GradedCount", "float_gap_mass", "graded_count"]


@dataclass(frozen=True)
class GradedCount:
    """The blocks, cells per axis and nonzero parameters thm-graded-count guarantees for
    accuracy ``eps`` with the share ``share`` of it for the blocks, and what they came from."""

    eps: float
    share: float
    regularity: str
    blocks: int
    cells: int
    nonzero: int
    sup_total: float
    lip_total: float
    weight: float  # e^{int L} - 1 (Lipschitz) or G_H (C^2)
    block_box_widths: np.ndarray
    gap_mass: float


def float_gap_mass(field: VectorField) -> float:
    """The largest ``int m`` over one gap between adjacent binary64 numbers next to a declared
    singular time (lem-float-floor): no partition with binary64 nodes has a block lighter than
    this next to that time. 0 for a field without singular times."""
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    worst = 0.0
    for tstar in field.singular_times:
        tstar = float(tstar)
        if tstar < field.horizon:
            worst = max(worst, float(field.sup_integral(tstar, np.nextafter(tstar, np.inf))))
        if tstar > 0:
            worst = max(worst, float(field.sup_integral(np.nextafter(tstar, -np.inf), tstar)))
    return worst


def graded_count(field: VectorField, box, eps: float, share: float = 0.5,
                 regularity: str = "c2", fine_blocks: int = 4096,
                 floating_point: bool = True) -> GradedCount:
    """The counts of thm-graded-count for ``field`` on the box ``box`` of starting points.

    ``N = graded_mesh_blocks(int m, int L, (1 - share) eps, u)`` with ``u`` the float-gap mass
    (:func:`float_gap_mass`, or 0 with ``floating_point=False``: exact arithmetic), ``n`` from
    :func:`bounds.graded_mesh_cells` on the box grown by ``int m + share eps``; for
    ``regularity="c2"`` the weight ``G_H`` is bounded by :func:`bounds.hessian_weight` on the
    graded mesh of ``fine_blocks`` blocks. ``nonzero = N P(d, n, d)`` (thm-relu-approx).
    """
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    lower, upper = as_box(box, "box", dim=field.dim)
    eps = positive_float(eps, "eps")
    share = EpsilonShare(share)
    if regularity not in ("lipschitz", "c2"):
        raise ValueError(f"regularity must be 'lipschitz' or 'c2', got {regularity!r}")
    if regularity == "c2" and field.hess_bound is None:
        raise ValueError("regularity='c2' needs a field with hess_bound")
    fine_blocks = positive_int(fine_blocks, "fine_blocks")
    horizon = field.horizon
    sup_total = nonnegative_float(field.sup_integral(0.0, horizon), "int m")
    lip_total = nonnegative_float(field.lip_integral(0.0, horizon), "int L")
    gap = float_gap_mass(field) if floating_point else 0.0
    blocks = bounds.graded_mesh_blocks(sup_total, lip_total, share.partition * eps, gap)
    eps_blocks = share.blocks * eps
    widths = (upper - lower) + 2.0 * (sup_total + eps_blocks)
    if regularity == "c2":
        fine = mesh_times(field, fine_blocks, "graded")
        weight = bounds.hessian_weight(field.hess_integral(fine[:-1], fine[1:]),
                                       field.lip_integral(fine[:-1], fine[1:]))
        cells = bounds.graded_mesh_cells(widths, eps_blocks, lip_total, hess_weight=weight)
    else:
        weight = math.expm1(lip_total)
        cells = bounds.graded_mesh_cells(widths, eps_blocks, lip_total)
    nonzero = blocks * kuhn_network_size(field.dim, cells, field.dim)[1]
    return GradedCount(eps, share.blocks, regularity, blocks, cells, nonzero, sup_total,
                       lip_total, weight, widths, gap)
