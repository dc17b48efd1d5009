"""Certified plans for thm-main: a partition, a block box and a grid with a proved error bound.

For ``x`` in ``K``, ``t`` in ``I_k``:

    |X(t, x) - Phi(t, x)| <= max_k E_k  +  max_k M_k  +  max_k P_k
                              Euler       time interp.   blocks

with ``E`` the averaged-Euler bound (thm-averaged-euler), ``M_k = int_{I_k} m`` and ``P`` the
perturbation bound (thm-stability) for block errors ``delta_k = Lambda_k |h| / 2`` (Lipschitz)
or ``delta_k = |h|^2 / 8 int_{I_k} H`` (C^2) of thm-relu-approx. The block box is ``K`` grown by
``int_0^T m`` (where averaged Euler can go) plus ``P`` (how far the ResNet can stray from it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np

from . import bounds
from ._validate import as_box, as_times, nonnegative_float, positive_float, positive_int
from .fields import VectorField
from .relu import kuhn_network_size

__all__ = ["Plan", "PointPlan", "certify", "certify_point", "mesh_times", "plan_flow_resnet",
           "plan_point_resnet"]

REGULARITIES = ("lipschitz", "c2")
_SPLITS = np.linspace(0.05, 0.95, 19)


@dataclass(frozen=True)
class Plan:
    """A partition and grid with the certified bound of thm-main split into its three parts."""

    field: VectorField
    box: tuple[np.ndarray, np.ndarray]
    times: np.ndarray
    cells: int
    block_box: tuple[np.ndarray, np.ndarray]
    regularity: str
    euler_part: float
    interpolation_part: float
    block_part: float
    eps: float
    node_bounds: np.ndarray = dataclass_field(repr=False)

    @property
    def num_blocks(self) -> int:
        return self.times.size - 1

    @property
    def bound(self) -> float:
        return self.euler_part + self.interpolation_part + self.block_part

    @property
    def parameters(self) -> tuple[int, int]:
        """``(total, nonzero)`` parameters of the ResNet this plan builds (all blocks)."""
        total, nonzero = kuhn_network_size(self.field.dim, self.cells, self.field.dim)
        return self.num_blocks * total, self.num_blocks * nonzero

    def summary(self) -> dict:
        return {
            "N": self.num_blocks, "cells": self.cells, "regularity": self.regularity,
            "euler_part": self.euler_part, "interpolation_part": self.interpolation_part,
            "block_part": self.block_part, "bound": self.bound, "eps": self.eps,
            "nonzero_parameters": self.parameters[1],
        }


def mesh_times(field: VectorField, blocks: int, mesh: str = "uniform") -> np.ndarray:
    """``blocks + 1`` times: ``uniform``, or ``graded`` so that every ``I_k`` carries the same
    ``int m`` (for ``m ~ t^{-1/2}`` this is ``t_k = T (k / N)^2``)."""
    blocks = positive_int(blocks, "blocks")
    T = field.horizon
    if mesh == "uniform":
        return T * np.arange(blocks + 1) / blocks
    if mesh != "graded":
        raise ValueError(f"mesh must be 'uniform', 'graded' or an array of times, got {mesh!r}")
    total = float(field.sup_integral(0.0, T))
    if total == 0:
        return T * np.arange(blocks + 1) / blocks
    targets = total * np.arange(1, blocks) / blocks
    lo, hi = np.zeros_like(targets), np.full_like(targets, T)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = np.asarray(field.sup_integral(np.zeros_like(mid), mid)) < targets
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return np.concatenate([[0.0], 0.5 * (lo + hi), [T]])


def _interval_integrals(field, times):
    a, b = times[:-1], times[1:]
    return np.asarray(field.sup_integral(a, b)), np.asarray(field.lip_integral(a, b))


def _block_weights(field, times, regularity, lam):
    if regularity == "lipschitz":
        return lam
    return np.asarray(field.hess_integral(times[:-1], times[1:]))


def _block_scale(regularity, widths_norm_per_cell, cells):
    """``delta_k = scale * w_k``: ``|h| / 2`` or ``|h|^2 / 8`` with ``|h| = |width| / cells``."""
    h = widths_norm_per_cell / cells
    return 0.5 * h if regularity == "lipschitz" else h * h / 8.0


def certify(field: VectorField, box, times, cells: int, regularity: str | None = None,
            margin: float | None = None) -> Plan:
    """The certified bound of thm-main for a given partition and grid (``eps`` = the bound).

    ``margin`` is how far the block box extends ``K`` beyond ``int m``; by default the block
    part itself, which is what thm-stability needs.
    """
    lower, upper = as_box(box, "box", dim=field.dim)
    times = as_times(times, "times")
    if abs(times[0]) > 0 or abs(times[-1] - field.horizon) > 1e-12 * field.horizon:
        raise ValueError(f"times must run from 0 to the horizon {field.horizon}")
    cells = positive_int(cells, "cells")
    regularity = regularity or ("c2" if field.hess_bound is not None else "lipschitz")
    if regularity not in REGULARITIES:
        raise ValueError(f"regularity must be one of {REGULARITIES}, got {regularity!r}")
    if regularity == "c2" and field.hess_bound is None:
        raise ValueError("regularity='c2' needs a field with hess_bound")
    m_int, lam = _interval_integrals(field, times)
    euler = bounds.averaged_euler_errors(lam, m_int)
    weights = _block_weights(field, times, regularity, lam)
    reach = float(field.sup_integral(0.0, field.horizon))
    pert_unit = bounds.perturbed_euler_errors(lam, weights)

    def block_part(grow):
        box_lower, box_upper = lower - grow, upper + grow
        scale = _block_scale(regularity, float(np.linalg.norm(box_upper - box_lower)), cells)
        return scale * pert_unit, (box_lower, box_upper)

    # The block part grows with the box and the box must hold it as margin: iterate
    # m <- P(m) from m = 0; it increases to the least fixed point, or diverges (too few cells).
    # Slow convergence means the cells barely suffice; such a grid is treated as too coarse.
    if margin is None:
        guess = math.inf
        trial = 0.0
        for _ in range(200):
            pert, _ = block_part((reach + trial) * (1 + 1e-9))
            if pert.max() <= trial:
                guess = trial
                break
            trial = float(pert.max()) * (1 + 1e-6)
            if trial > 1e6 * (1.0 + float(np.max(upper - lower)) + reach):
                break
    else:
        guess = nonnegative_float(margin, "margin")
    if math.isinf(guess):
        pert = np.full(times.size, math.inf)
        block_lower, block_upper = lower - math.inf, upper + math.inf
    else:
        pert, (block_lower, block_upper) = block_part((reach + guess) * (1 + 1e-9))
        if pert.max() > guess:
            raise ValueError(f"margin={margin} is smaller than the block part {pert.max():.3g}")
    return Plan(field, (lower, upper), times, cells, (block_lower, block_upper), regularity,
                float(euler.max()), float(m_int.max()), float(pert.max()),
                float(euler.max() + m_int.max() + pert.max()), euler + pert)


def _smallest_blocks(field, mesh, target):
    """Smallest ``N`` whose Euler plus time-interpolation parts are ``<= target``."""
    def parts(n):
        times = mesh_times(field, n, mesh)
        m_int, lam = _interval_integrals(field, times)
        return bounds.averaged_euler_errors(lam, m_int).max() + m_int.max()

    hi = 1
    while parts(hi) > target:
        hi *= 2
        if hi > 2**22:
            raise ValueError(f"no partition with fewer than {2**22} blocks reaches {target:.3g}")
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if parts(mid) <= target else (mid, hi)
    return hi


def plan_flow_resnet(field: VectorField, box, eps: float, mesh="uniform",
                     regularity: str | None = None) -> Plan:
    """A cheapest certified plan with ``plan.bound <= eps`` (thm-main).

    Searches the share of ``eps`` given to the blocks; for each share the smallest ``N`` whose
    Euler and interpolation parts fit the rest, then the fewest cells whose block part fits.
    ``regularity``: ``"lipschitz"``, ``"c2"`` or None for the cheaper of the two the field allows.
    ``mesh``: ``"uniform"``, ``"graded"`` (equal ``int m`` per block) or an array of times.
    """
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    eps = positive_float(eps, "eps")
    lower, upper = as_box(box, "box", dim=field.dim)
    regularities = [regularity] if regularity else (["lipschitz", "c2"] if field.hess_bound is not None
                                       else ["lipschitz"])
    fixed_times = None if isinstance(mesh, str) else as_times(mesh, "mesh")
    best = None
    for share in _SPLITS:
        if fixed_times is None:
            n_blocks = _smallest_blocks(field, mesh, (1 - share) * eps)
            times = mesh_times(field, n_blocks, mesh)
        else:
            times = fixed_times
        for choice in regularities:
            plan = _fewest_cells(field, (lower, upper), times, choice, share * eps, eps)
            feasible = plan is not None and plan.bound <= eps
            if feasible and (best is None or plan.parameters[1] < best.parameters[1]):
                best = plan
    if best is None:
        raise ValueError(f"eps={eps} cannot be certified with mesh={mesh!r}: the partition's "
                         "Euler and interpolation parts exceed it")
    return best


def _fewest_cells(field, box, times, regularity, block_target, eps):
    """Fewest cells whose block part is ``<= block_target`` (it decreases with the cells)."""
    return _fewest_cells_by(lambda cells: certify(field, box, times, cells, regularity),
                            block_target, eps)


def _fewest_cells_by(plan_for, block_target, eps):
    """Fewest cells with ``plan_for(cells).block_part <= block_target``, by doubling then
    bisection (the block part decreases with the cells); the plan carries ``eps``."""
    plan = plan_for(1)
    if plan.euler_part + plan.interpolation_part >= eps:
        return None
    hi = 1
    while plan.block_part > block_target:
        hi *= 2
        if hi > 2**16:
            return None
        plan = plan_for(hi)
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        candidate = plan_for(mid)
        if candidate.block_part <= block_target:
            hi, plan = mid, candidate
        else:
            lo = mid
    return type(plan)(**{**plan.__dict__, "eps": eps})


# -- point-evaluation blocks (thm-complexity) -------------------------------------------------


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
    lower, upper = box
    euler, m_int, reach = mesh["euler"], mesh["m_int"], mesh["reach"]
    pert_unit = mesh["unit", regularity]
    euler_max, unit_max = float(euler.max()), float(pert_unit.max())

    def block_box(margin):
        grow = (reach + margin) * (1 + 1e-9)
        return lower - grow, upper + grow

    def block_scale(margin):
        box_lower, box_upper = block_box(margin)
        return _block_scale(regularity, float(np.linalg.norm(box_upper - box_lower)), cells)

    # The margin must hold E + P, and P grows with the box: the least fixed point of
    # eta -> E_max + P_max(eta), approached from below as in certify (scalar iteration).
    margin = math.inf
    trial = euler_max
    for _ in range(200):
        needed = euler_max + block_scale(trial) * unit_max
        if needed <= trial:
            margin = trial
            break
        trial = needed * (1 + 1e-6)
        if trial > 1e6 * (1.0 + float(np.max(upper - lower)) + reach):
            break
    if math.isinf(margin):
        pert = np.full(euler.size, math.inf)
        block_lower, block_upper = lower - math.inf, upper + math.inf
    else:
        pert = block_scale(margin) * pert_unit
        block_lower, block_upper = block_box(margin)
    total = euler_max + float(m_int.max()) + float(pert.max())
    return PointPlan(field, (lower, upper), mesh["times"], cells, (block_lower, block_upper),
                     regularity, euler_max, float(m_int.max()), float(pert.max()), total, euler + pert,
                     mesh["holder"])


def certify_point(field: VectorField, box, times, cells: int, regularity: str | None = None,
                  holder=None) -> PointPlan:
    """The certified bound of thm-complexity for point-evaluation blocks on given times and grid.

    ``e_{k+1} <= (1 + h_k L(t_k)) e_k + r_k + delta_k`` with the point-Euler local error ``r_k``
    (:func:`bounds.point_euler_local_errors`) and ``delta_k = h_k L(t_k) |h| / 2`` (Lipschitz) or
    ``h_k H(t_k) |h|^2 / 8`` (C^2) on the block box: ``K`` grown by ``int_0^T m`` plus the margin
    ``max_k (E_k + P_k)`` (the flow stays within ``int m`` of its start, the ResNet within
    ``E_k + P_k`` of the flow); the margin is the least fixed point, found as in :func:`certify`.
    ``holder = (alpha, C)`` defaults to the field's ``holder_exponent``, ``holder_constant``.
    """
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    box = as_box(box, "box", dim=field.dim)
    times = as_times(times, "times")
    if abs(times[0]) > 0 or abs(times[-1] - field.horizon) > 1e-12 * field.horizon:
        raise ValueError(f"times must run from 0 to the horizon {field.horizon}")
    cells = positive_int(cells, "cells")
    alpha, constant = _holder_of(field, holder)
    regularity = regularity or ("c2" if field.hess_bound is not None else "lipschitz")
    if regularity not in REGULARITIES:
        raise ValueError(f"regularity must be one of {REGULARITIES}, got {regularity!r}")
    if regularity == "c2" and field.hess_bound is None:
        raise ValueError("regularity='c2' needs a field with hess_bound")
    return _point_plan(field, box, _point_mesh(field, times, alpha, constant), cells, regularity)


def plan_point_resnet(field: VectorField, box, eps: float, regularity: str | None = None,
                      holder=None, dyadic: bool = False, share: float | None = None) -> PointPlan:
    """A cheapest certified plan with point-evaluation blocks and ``plan.bound <= eps``
    (thm-complexity), on a uniform mesh.

    As :func:`plan_flow_resnet`: for each share of ``eps`` given to the blocks, the smallest
    ``N`` (a power of two if ``dyadic``) whose Euler and time-interpolation parts fit the rest,
    then the fewest cells whose block part fits; the plan with the fewest nonzero parameters
    wins. ``regularity``: ``"lipschitz"``, ``"c2"``, or None for the cheaper one the field allows.
    ``share`` in ``(0, 1)`` fixes the blocks' share of ``eps`` (as in the proof) instead.
    """
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    eps = positive_float(eps, "eps")
    box = as_box(box, "box", dim=field.dim)
    if share is not None:
        share = positive_float(share, "share")
        if share >= 1:
            raise ValueError(f"share must lie in (0, 1), got {share}")
    alpha, constant = _holder_of(field, holder)
    if regularity is not None and regularity not in REGULARITIES:
        raise ValueError(f"regularity must be one of {REGULARITIES}, got {regularity!r}")
    if regularity == "c2" and field.hess_bound is None:
        raise ValueError("regularity='c2' needs a field with hess_bound")
    regularities = [regularity] if regularity else (["lipschitz", "c2"] if field.hess_bound is not None
                                       else ["lipschitz"])
    meshes, plans, parts = {}, {}, {}

    def parts_of(n):
        """``max_k E_k + max_k M_k`` of the uniform ``n``-block mesh (cached scalars only)."""
        if n not in parts:
            times = field.horizon * np.arange(n + 1) / n
            nodes, steps = times[:-1], np.diff(times)
            euler = bounds.point_euler_errors(steps, _at_nodes(field.sup, nodes),
                                              _at_nodes(field.lip, nodes), constant, alpha)
            parts[n] = float(euler.max()) + float(np.max(field.sup_integral(nodes, times[1:])))
        return parts[n]

    def plan_of(n, cells, choice):
        if n not in meshes:
            meshes[n] = _point_mesh(field, field.horizon * np.arange(n + 1) / n, alpha, constant)
        if (n, cells, choice) not in plans:
            plans[n, cells, choice] = _point_plan(field, box, meshes[n], cells, choice)
        return plans[n, cells, choice]

    best, start = None, 1
    for part in _SPLITS if share is None else [share]:  # increasing: decreasing targets
        n_blocks = _smallest_point_blocks(parts_of, (1 - part) * eps, dyadic, start)
        start = n_blocks
        for choice in regularities:
            plan = _fewest_point_cells(lambda cells, n=n_blocks, c=choice: plan_of(n, cells, c),
                                       part * eps, eps)
            feasible = plan is not None and plan.bound <= eps
            if feasible and (best is None or plan.parameters[1] < best.parameters[1]):
                best = plan
        plans.clear()
        meshes.clear()
    if best is None:
        raise ValueError(f"eps={eps} cannot be certified with point-evaluation blocks")
    return best


def _smallest_point_blocks(parts, target, dyadic, start=1):
    """Smallest uniform ``N >= start`` (a power of two if ``dyadic``) whose point-Euler and
    time-interpolation parts ``parts(N)`` are ``<= target`` (assumed to decrease in ``N``).

    Bracket by doubling, then shrink the bracket ``(lo, hi]`` by interpolating ``log N`` linearly
    in ``log parts`` (the parts behave like powers of ``N``), falling back to bisection."""
    if parts(start) <= target:
        return start
    lo, hi = start, 2 * start
    while parts(hi) > target:
        lo, hi = hi, 2 * hi
        if hi > 2**24:
            raise ValueError(f"no partition with fewer than {2**24} blocks reaches {target:.3g}")
    if dyadic:
        return hi
    use_guess = True
    while hi - lo > 1:
        p_lo, p_hi = parts(lo), parts(hi)
        mid = (lo + hi) // 2
        if use_guess and p_lo > p_hi > 0:
            w = math.log(p_lo / target) / math.log(p_lo / p_hi)
            mid = min(max(round(math.exp((1 - w) * math.log(lo) + w * math.log(hi))), lo + 1),
                      hi - 1)
        before = hi - lo
        lo, hi = (lo, mid) if parts(mid) <= target else (mid, hi)
        use_guess = (hi - lo) < 0.5 * before or not use_guess  # alternate when slow
    return hi


def _fewest_point_cells(plan_for, block_target, eps):
    """Fewest cells with ``block_part <= block_target`` (it decreases with the cells)."""
    return _fewest_cells_by(plan_for, block_target, eps)
