"""Certified plans for point-evaluation blocks ``R_k = I_n(h_k f(t_k, .))`` (thm-complexity).

They share the planner core of :mod:`resnet_flows.plan` (regularity check, margin fixed point,
least-passing search, shares of ``eps``); only the Euler part differs: the point-Euler bound of
:func:`resnet_flows.bounds.point_euler_errors` under Hoelder regularity in time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import bounds
from ._validate import as_box, nonnegative_float, positive_float, positive_int
from .fields import VectorField
from .plan import (
    Plan,
    block_part,
    cheapest_plan,
    check_partition,
    check_regularity,
    fewest_cells,
    least_passing,
    resolve_shares,
)

__all__ = ["PointPlan", "certify_point", "plan_point_resnet"]



@dataclass(frozen=True)
class PointPlan(Plan):
    """A certified plan for point-evaluation blocks ``R_k = I_n(h_k f(t_k, .))`` (thm-complexity).

    ``euler_part = max_k E_k`` is the point-Euler bound (:func:`bounds.point_euler_errors`),
    ``block_part = max_k P_k`` the Gronwall sum of the block errors, ``interpolation_part =
    max_k M_k``; ``node_bounds = E + P``. Build it with ``build_point_resnet(field, plan.times,
    plan.block_box, plan.cells)``.
    """

    holder: tuple[float, float] = (1.0, 0.0)


def _holder_of(field, holder):
    if holder is None:
        alpha = getattr(field, "holder_exponent", None)
        constant = getattr(field, "holder_constant", None)
        if alpha is None or constant is None:
            raise ValueError("holder must be given as (alpha, constant) for a field without "
                             "holder_exponent and holder_constant attributes")
    else:
        try:
            alpha, constant = holder
        except (TypeError, ValueError):
            raise ValueError(f"holder must be a pair (alpha, constant), got {holder!r}") from None
    alpha = positive_float(alpha, "holder alpha")
    if alpha > 1:
        raise ValueError(f"holder alpha must lie in (0, 1], got {alpha}")
    return alpha, nonnegative_float(constant, "holder constant")


def _at_nodes(bound, nodes):
    return np.broadcast_to(np.asarray(bound(nodes), dtype=np.float64), nodes.shape).copy()


def _point_mesh(field, times, alpha, constant):
    """The partition-dependent pieces of the point-evaluation bound (one pass over ``times``)."""
    nodes, steps = times[:-1], np.diff(times)
    sup_nodes, lip_nodes = _at_nodes(field.sup, nodes), _at_nodes(field.lip, nodes)
    mesh = {
        "times": times,
        "euler": bounds.point_euler_errors(steps, sup_nodes, lip_nodes, constant, alpha),
        "m_int": np.asarray(field.sup_integral(nodes, times[1:]), dtype=np.float64),
        "reach": float(field.sup_integral(0.0, field.horizon)),
        "holder": (alpha, constant),
    }
    growth = steps * lip_nodes
    mesh["unit", "lipschitz"] = bounds.discrete_gronwall(growth, steps * lip_nodes)
    if field.hess_bound is not None:
        mesh["unit", "c2"] = bounds.discrete_gronwall(growth, steps * _at_nodes(field.hess, nodes))
    return mesh


def _point_plan(field, box, mesh, cells, regularity):
    euler, m_int = mesh["euler"], mesh["m_int"]
    euler_max = float(euler.max())
    # The margin must hold E + P, and P grows with the box: the least fixed point of
    # eta -> E_max + P_max(eta), as in certify.
    pert, block_box = block_part(box, mesh["reach"], regularity, cells,
                                  mesh["unit", regularity], offset=euler_max)
    total = euler_max + float(m_int.max()) + float(pert.max())
    return PointPlan(field, box, mesh["times"], cells, block_box, regularity, euler_max,
                     float(m_int.max()), float(pert.max()), total, euler + pert, mesh["holder"])


def certify_point(field: VectorField, box, times, cells: int, regularity: str | None = None,
                  holder=None) -> PointPlan:
    """The certified bound of thm-complexity for point-evaluation blocks on given times and grid.

    ``e_{k+1} <= (1 + h_k L(t_k)) e_k + r_k + delta_k`` with the point-Euler local error ``r_k``
    (:func:`bounds.point_euler_local_errors`) and ``delta_k = h_k L(t_k) |h| / 2`` (Lipschitz) or
    ``h_k H(t_k) |h|^2 / 8`` (C^2) on the block box: ``K`` grown by ``int_0^T m`` plus the margin
    ``max_k (E_k + P_k)`` (the flow stays within ``int m`` of its start, the ResNet within
    ``E_k + P_k`` of the flow); the margin is the least fixed point (:func:`least_margin`).
    ``holder = (alpha, C)`` defaults to the field's ``holder_exponent``, ``holder_constant``.
    """
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    box = as_box(box, "box", dim=field.dim)
    times = check_partition(field, times)
    cells = positive_int(cells, "cells")
    alpha, constant = _holder_of(field, holder)
    (regularity,) = check_regularity(field, regularity, search=False)
    return _point_plan(field, box, _point_mesh(field, times, alpha, constant), cells, regularity)


def plan_point_resnet(field: VectorField, box, eps: float, regularity: str | None = None,
                      holder=None, dyadic: bool = False, share=None) -> PointPlan:
    """A cheapest certified plan with point-evaluation blocks and ``plan.bound <= eps``
    (thm-complexity), on a uniform mesh.

    As :func:`plan_flow_resnet`: for each share of ``eps`` (``share``: a number in ``(0, 1)``,
    an :class:`EpsilonShare`, a sequence of them, or None for :data:`DEFAULT_SHARES`), the
    smallest ``N`` (a power of two if ``dyadic``) whose Euler and time-interpolation parts fit
    the partition's share, then the fewest cells whose block part fits the blocks' share; the
    plan with the fewest nonzero parameters wins. ``regularity``: ``"lipschitz"``, ``"c2"``, or
    None for the cheaper one the field allows.
    """
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    eps = positive_float(eps, "eps")
    box = as_box(box, "box", dim=field.dim)
    shares = resolve_shares(share)
    alpha, constant = _holder_of(field, holder)
    regularities = check_regularity(field, regularity, search=True)
    parts = {}

    def parts_of(n):
        """``max_k E_k + max_k M_k`` of the uniform ``n``-block mesh (cached scalars only)."""
        if n not in parts:
            times = field.horizon * np.arange(n + 1) / n
            nodes, steps = times[:-1], np.diff(times)
            euler = bounds.point_euler_errors(steps, _at_nodes(field.sup, nodes),
                                              _at_nodes(field.lip, nodes), constant, alpha)
            parts[n] = float(euler.max()) + float(np.max(field.sup_integral(nodes, times[1:])))
        return parts[n]

    def candidates():
        start = 1
        for part in shares:  # the default shares increase, so the smallest N does too
            target = part.partition * eps
            n_blocks = least_passing(lambda n, t=target: parts_of(n) <= t, start, 2**24,
                                     refine=not dyadic)
            if n_blocks is None:
                raise ValueError(f"no partition with fewer than {2**24} blocks reaches "
                                 f"{target:.3g}")
            if share is None:
                start = n_blocks
            mesh = _point_mesh(field, field.horizon * np.arange(n_blocks + 1) / n_blocks, alpha,
                               constant)
            for choice in regularities:
                yield fewest_cells(
                    lambda cells, c=choice, m=mesh: _point_plan(field, box, m, cells, c),
                    part.blocks * eps, eps)

    best = cheapest_plan(candidates())
    if best is None:
        raise ValueError(f"eps={eps} cannot be certified with point-evaluation blocks")
    return best
