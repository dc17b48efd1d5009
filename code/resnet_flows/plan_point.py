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
from .limits import DEFAULT_MAX_MEMORY, DEFAULT_MAX_PARAMETERS
from .mesh import MeshChoice, choose_mesh
from .plan import (
    Plan,
    block_part,
    check_partition,
    check_planner_inputs,
    check_regularity,
    search_plans,
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


def _point_bound(field, alpha, constant):
    """``times -> max_k E_k + max_k M_k``: the point-Euler and time-interpolation parts."""
    def bound(times):
        nodes, steps = times[:-1], np.diff(times)
        euler = bounds.point_euler_errors(steps, _at_nodes(field.sup, nodes),
                                          _at_nodes(field.lip, nodes), constant, alpha)
        return float(euler.max()) + float(np.max(field.sup_integral(nodes, times[1:])))

    return bound


def _point_plan(field, box, mesh, cells, regularity, choice=None):
    euler, m_int = mesh["euler"], mesh["m_int"]
    euler_max = float(euler.max())
    # The margin must hold E + P, and P grows with the box: the least fixed point of
    # eta -> E_max + P_max(eta), as in certify.
    pert, block_box = block_part(box, mesh["reach"], regularity, cells,
                                  mesh["unit", regularity], offset=euler_max)
    total = euler_max + float(m_int.max()) + float(pert.max())
    chosen = {} if choice is None else {"mesh": choice.mesh, "mesh_reason": choice.reason}
    return PointPlan(field, box, mesh["times"], cells, block_box, regularity, euler_max,
                     float(m_int.max()), float(pert.max()), total, euler + pert, **chosen,
                     holder=mesh["holder"])


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
                      holder=None, dyadic: bool = False, share=None, mesh="auto", *,
                      max_parameters: float = DEFAULT_MAX_PARAMETERS,
                      max_memory: float = DEFAULT_MAX_MEMORY,
                      check_field: bool = True) -> PointPlan:
    """A cheapest certified plan with point-evaluation blocks and ``plan.bound <= eps``
    (thm-complexity).

    As :func:`plan_flow_resnet`: for each share of ``eps`` (``share``: a number in ``(0, 1)``,
    an :class:`EpsilonShare`, a sequence of them, or None for :data:`DEFAULT_SHARES`), the
    smallest ``N`` (a power of two if ``dyadic``) whose Euler and time-interpolation parts fit
    the partition's share, then the fewest cells whose block part fits the blocks' share; the
    plan with the fewest nonzero parameters wins. ``regularity``: ``"lipschitz"``, ``"c2"``, or
    None for the cheaper one the field allows. ``mesh``: ``"auto"``
    (:func:`~resnet_flows.mesh.choose_mesh` with the point-Euler parts), ``"uniform"``,
    ``"graded"`` or an array of times; ``dyadic`` needs a uniform mesh. Limits and the field
    check as in :func:`plan_flow_resnet` (the size lower bound counts only ``N`` here).
    """
    eps, box, regularities, shares, limits = check_planner_inputs(
        field, box, eps, regularity, share, max_parameters, max_memory, check_field,
        block_sums=False)
    alpha, constant = _holder_of(field, holder)
    bound = _point_bound(field, alpha, constant)
    if dyadic:
        if not (isinstance(mesh, str) and mesh in ("auto", "uniform")):
            raise ValueError(f"mesh must be 'uniform' (or 'auto') with dyadic=True, got {mesh!r}")
        choice = MeshChoice("uniform", "dyadic=True: uniform dyadic meshes")
    else:
        choice = choose_mesh(field, eps, mesh, partition_bound=bound)
    if choice.times is not None:
        check_partition(field, choice.times)
    meshes = {}

    def times_for(n):
        return choice.times_for(field, n, limits[1])

    def plan_for(times, cells, regularity):
        if times.size not in meshes:  # one mesh per call: N fixes the partition
            meshes.clear()
            meshes[times.size] = _point_mesh(field, times, alpha, constant)
        return _point_plan(field, box, meshes[times.size], cells, regularity, choice)

    return search_plans(field.dim, eps, shares, regularities, choice,
                        lambda n: bound(times_for(n)), plan_for, times_for=times_for,
                        max_parameters=limits[0], max_memory=limits[1], refine=not dyadic,
                        warm_start=share is None)
