"""Certified plans for thm-main: a partition, a block box and a grid with a proved error bound.

For ``x`` in ``K``, ``t`` in ``I_k``:

    |X(t, x) - Phi(t, x)| <= max_k E_k  +  max_k M_k  +  max_k P_k
                              Euler       time interp.   blocks

with ``E`` the averaged-Euler bound (thm-averaged-euler), ``M_k = int_{I_k} m`` and ``P`` the
perturbation bound (thm-stability) for block errors ``delta_k = Lambda_k |h| / 2`` (Lipschitz)
or ``delta_k = |h|^2 / 8 int_{I_k} H`` (C^2) of thm-relu-approx. The block box is ``K`` grown by
``int_0^T m`` (where averaged Euler can go) plus ``P`` (how far the ResNet can stray from it).
Point-evaluation blocks (thm-complexity, :mod:`resnet_flows.plan_point`) share the same core: one regularity check, one margin
fixed point (:func:`least_margin`), one least-passing search (:func:`least_passing`) and the
named shares of ``eps`` (:class:`EpsilonShare`).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np

from . import bounds
from ._validate import as_box, as_times, nonnegative_float, positive_float, positive_int
from .fields import VectorField
from .relu import kuhn_network_size

__all__ = [
    "DEFAULT_SHARES",
    "MARGIN_ITERATIONS",
    "REGULARITIES",
    "EpsilonShare",
    "Plan",
    "block_part",
    "certify",
    "cheapest_plan",
    "check_partition",
    "check_regularity",
    "fewest_cells",
    "least_margin",
    "least_passing",
    "mesh_times",
    "plan_flow_resnet",
    "resolve_shares",
]

REGULARITIES = ("lipschitz", "c2")
MARGIN_ITERATIONS = 200


@dataclass(frozen=True)
class EpsilonShare:
    """A split of ``eps``: ``blocks * eps`` for the block part ``max_k P_k`` and the rest,
    ``partition * eps = (1 - blocks) * eps``, for the Euler and time-interpolation parts."""

    blocks: float

    def __post_init__(self):
        value = positive_float(self.blocks, "share")
        if value >= 1:
            raise ValueError(f"share must lie in (0, 1), got {self.blocks}")
        object.__setattr__(self, "blocks", value)

    @property
    def partition(self) -> float:
        return 1.0 - self.blocks


# The planners try these shares and keep the cheapest plan: 5 %, 10 %, ..., 95 % to the blocks.
DEFAULT_SHARES = tuple(EpsilonShare(float(s)) for s in np.linspace(0.05, 0.95, 19))


def resolve_shares(share) -> tuple[EpsilonShare, ...]:
    """``None``: :data:`DEFAULT_SHARES`; one share (a number or :class:`EpsilonShare`); or a
    sequence of them, tried in the given order."""
    if share is None:
        return DEFAULT_SHARES
    if isinstance(share, (EpsilonShare, int, float, np.floating)):
        share = [share]
    try:
        out = tuple(s if isinstance(s, EpsilonShare) else EpsilonShare(s) for s in share)
    except TypeError:
        raise ValueError(f"share must be a number in (0, 1), an EpsilonShare or a sequence of "
                         f"them, got {share!r}") from None
    if not out:
        raise ValueError("share must not be empty")
    return out


def check_regularity(field, regularity, search: bool):
    """The regularity check shared by all planners. ``None`` means: every regularity the field
    allows when ``search`` (the planners compare them), else the better one (``"c2"`` if the
    field has ``H``). Returns the list of regularities to use."""
    if regularity is not None and regularity not in REGULARITIES:
        raise ValueError(f"regularity must be one of {REGULARITIES}, got {regularity!r}")
    if regularity == "c2" and field.hess_bound is None:
        raise ValueError("regularity='c2' needs a field with hess_bound")
    if regularity is not None:
        return [regularity]
    allowed = ["lipschitz", "c2"] if field.hess_bound is not None else ["lipschitz"]
    return allowed if search else allowed[-1:]


def least_margin(need: Callable[[float], float], start: float, limit: float,
                 iterations: int = MARGIN_ITERATIONS) -> float:
    """The least fixed point ``m = need(m)`` of an increasing ``need``, by ``m <- need(m)`` from
    ``start`` (below it); ``inf`` when none is found.

    The block box must hold the block part as margin and the block part grows with the box, so
    the margin is such a fixed point. The iteration increases to the least fixed point when one
    exists, but only linearly, with ratio ``need'(m)``: close to 1 it takes very many steps.
    It therefore gives up after ``iterations`` steps, or once ``m`` exceeds ``limit``, even when a
    fixed point may exist: such a grid barely suffices and is treated as too coarse (the
    planners then try more cells), which bounds the cost of every plan.
    """
    trial = start
    for _ in range(iterations):
        needed = need(trial)
        if needed <= trial:
            return trial
        trial = needed * (1 + 1e-6)
        if trial > limit:
            break
    return math.inf


def least_passing(passes: Callable[[int], bool], start: int = 1, limit: int = 2**24,
                  refine: bool = True) -> int | None:
    """The least integer ``n >= start`` with ``passes(n)``, for ``passes`` false then true
    (monotone): doubling from ``start`` brackets it in ``(hi / 2, hi]``, then ``bisect`` finds
    it. ``None`` when no ``n <= limit`` of the doubling passes; with ``refine=False`` the first
    passing ``start * 2^j`` is returned instead."""
    lo, hi = start - 1, start
    while not passes(hi):
        lo, hi = hi, 2 * hi
        if hi > limit:
            return None
    if not refine:
        return hi
    return bisect.bisect_left(range(lo + 1, hi), True, key=passes) + lo + 1


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
    # Bisection in t cannot place nodes closer than 2^-60 T to a singular time (t_1 = T N^-10
    # for beta = 0.9): there the table is inverted in its variable u instead.
    table = field.cumulative("sup", table=bool(field.singular_times.size))
    inverse = getattr(table, "inverse", None)
    if inverse is not None:
        # The planner asks for the same N under every share of eps: invert the table once.
        cached = table.meshes
        if blocks not in cached:
            cached[blocks] = inverse(targets)
        inner = cached[blocks].copy()
    else:
        lo, hi = np.zeros_like(targets), np.full_like(targets, T)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            below = np.asarray(field.sup_integral(np.zeros_like(mid), mid)) < targets
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        inner = 0.5 * (lo + hi)
    times = np.concatenate([[0.0], inner, [T]])
    # Near an interior t* with exponent beta the block of mass M has length ~ M^{1/(1-beta)},
    # possibly below the spacing of floats at t*: such nodes collide and are moved apart by one
    # float (the blocks' actual masses are what the certificates use).
    collisions = np.nonzero(np.diff(times) <= 0)[0]
    for i in range(collisions[0] if collisions.size else times.size, times.size - 1):
        times[i + 1] = max(times[i + 1], np.nextafter(times[i], np.inf))
    if np.any(np.diff(times) <= 0):
        raise ValueError(f"blocks={blocks} is too many for a graded mesh of {field.name} "
                         "in floating point")
    return times


def _interval_integrals(field, times):
    a, b = times[:-1], times[1:]
    return np.asarray(field.sup_integral(a, b)), np.asarray(field.lip_integral(a, b))


def _growth(field, times, lam):
    """Per-step error amplification minus one: ``Lambda_k``, or with a declared one-sided
    Lipschitz bound ``sqrt(1 + 2 mu_k + Lambda_k^2) - 1`` (lem-one-sided)."""
    if getattr(field, "mu_bound", None) is None:
        return lam
    mu = np.asarray(field.mu_integral(times[:-1], times[1:]), dtype=np.float64)
    return bounds.one_sided_growth(lam, mu)


def _block_weights(field, times, regularity, lam):
    if regularity == "lipschitz":
        return lam
    return np.asarray(field.hess_integral(times[:-1], times[1:]))


def _block_scale(regularity, widths_norm_per_cell, cells):
    """``delta_k = scale * w_k``: ``|h| / 2`` or ``|h|^2 / 8`` with ``|h| = |width| / cells``."""
    h = widths_norm_per_cell / cells
    return 0.5 * h if regularity == "lipschitz" else h * h / 8.0


def block_part(box, reach, regularity, cells, unit, offset=0.0, margin=None):
    """The block part ``P = scale(B) * unit`` on the block box ``B``: ``K`` grown by
    ``int_0^T m`` plus the margin, the least fixed point of ``margin = offset + max P(margin)``
    (:func:`least_margin`) unless ``margin`` is given. Returns ``(P, B)``; ``P = inf`` and an
    unbounded ``B`` when no fixed point is found."""
    lower, upper = box

    def block_box(m):
        grow = (reach + m) * (1 + 1e-9)
        return lower - grow, upper + grow

    def part(m):
        box_lower, box_upper = block_box(m)
        return _block_scale(regularity, float(np.linalg.norm(box_upper - box_lower)), cells) * unit

    if margin is None:
        limit = 1e6 * (1.0 + float(np.max(upper - lower)) + reach)
        margin = least_margin(lambda m: offset + float(part(m).max()), offset, limit)
    if math.isinf(margin):
        return np.full(unit.size, math.inf), (lower - math.inf, upper + math.inf)
    return part(margin), block_box(margin)


def check_partition(field, times):
    times = as_times(times, "times")
    if abs(times[0]) > 0 or abs(times[-1] - field.horizon) > 1e-12 * field.horizon:
        raise ValueError(f"times must run from 0 to the horizon {field.horizon}")
    return times


def certify(field: VectorField, box, times, cells: int, regularity: str | None = None,
            margin: float | None = None) -> Plan:
    """The certified bound of thm-main for a given partition and grid (``eps`` = the bound).

    ``margin`` is how far the block box extends ``K`` beyond ``int m``; by default the block
    part itself, which is what thm-stability needs (the least fixed point, :func:`least_margin`).
    ``regularity``: ``"lipschitz"``, ``"c2"`` or None for ``"c2"`` when the field allows it.
    """
    lower, upper = as_box(box, "box", dim=field.dim)
    times = check_partition(field, times)
    cells = positive_int(cells, "cells")
    (regularity,) = check_regularity(field, regularity, search=False)
    m_int, lam = _interval_integrals(field, times)
    growth = _growth(field, times, lam)
    # thm-averaged-euler and thm-stability with the amplification 1 + growth_k per step
    euler = bounds.discrete_gronwall(growth, lam * m_int)
    weights = _block_weights(field, times, regularity, lam)
    reach = float(field.sup_integral(0.0, field.horizon))
    pert_unit = bounds.discrete_gronwall(growth, weights)
    if margin is not None:
        margin = nonnegative_float(margin, "margin")
    pert, (block_lower, block_upper) = block_part((lower, upper), reach, regularity, cells,
                                                   pert_unit, margin=margin)
    if margin is not None and pert.max() > margin:
        raise ValueError(f"margin={margin} is smaller than the block part {pert.max():.3g}")
    return Plan(field, (lower, upper), times, cells, (block_lower, block_upper), regularity,
                float(euler.max()), float(m_int.max()), float(pert.max()),
                float(euler.max() + m_int.max() + pert.max()), euler + pert)


def fewest_cells(plan_for, block_target, eps):
    """The plan with the fewest cells whose block part is ``<= block_target`` (it decreases
    with the cells), carrying ``eps``; ``None`` if the other parts already reach ``eps`` or no
    grid of up to ``2^16`` cells per axis suffices."""
    plans = {}

    def plan_at(cells):
        if cells not in plans:
            plans[cells] = plan_for(cells)
        return plans[cells]

    if plan_at(1).euler_part + plan_at(1).interpolation_part >= eps:
        return None
    cells = least_passing(lambda c: plan_at(c).block_part <= block_target, limit=2**16)
    return None if cells is None else dataclasses.replace(plan_at(cells), eps=eps)


def cheapest_plan(plans):
    """The feasible plan with the fewest nonzero parameters (the first one on ties)."""
    best = None
    for plan in plans:
        feasible = plan is not None and plan.bound <= plan.eps
        if feasible and (best is None or plan.parameters[1] < best.parameters[1]):
            best = plan
    return best


class _Stalled(Exception):
    """The Euler and interpolation parts stopped decreasing as the mesh was refined."""


def plan_flow_resnet(field: VectorField, box, eps: float, mesh="uniform",
                     regularity: str | None = None, share=None) -> Plan:
    """A cheapest certified plan with ``plan.bound <= eps`` (thm-main).

    For each share of ``eps`` (``share``: one number in ``(0, 1)`` or :class:`EpsilonShare`,
    a sequence of them, or None for :data:`DEFAULT_SHARES`) the smallest ``N`` whose Euler and
    interpolation parts fit the partition's share, then the fewest cells whose block part fits
    the blocks' share; the plan with the fewest nonzero parameters wins.
    ``regularity``: ``"lipschitz"``, ``"c2"`` or None for the cheaper of the two the field allows.
    ``mesh``: ``"uniform"``, ``"graded"`` (equal ``int m`` per block) or an array of times.
    """
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    eps = positive_float(eps, "eps")
    box = as_box(box, "box", dim=field.dim)
    regularities = check_regularity(field, regularity, search=True)
    shares = resolve_shares(share)
    fixed_times = None if isinstance(mesh, str) else as_times(mesh, "mesh")

    computed: dict[int, float] = {}

    def parts(n):
        if n not in computed:
            times = mesh_times(field, n, mesh)
            m_int, lam = _interval_integrals(field, times)
            growth = _growth(field, times, lam)
            computed[n] = bounds.discrete_gronwall(growth, lam * m_int).max() + m_int.max()
            # Stalled doubling: next to a singular time the graded blocks cannot get lighter
            # than the mass between two adjacent floats (|t - t*|^-beta, beta near 1).
            if n >= 64 and n & (n - 1) == 0 and computed.get(n // 2, math.inf) * 0.99 < computed[n]:
                raise _Stalled
        return computed[n]

    def candidates():
        for part in shares:
            times = fixed_times
            if times is None:
                target = part.partition * eps
                try:
                    n_blocks = least_passing(lambda n, t=target: parts(n) <= t, limit=2**22)
                except _Stalled:
                    n_blocks = None
                if n_blocks is None:  # this share leaves too little for Euler and interpolation
                    continue
                times = mesh_times(field, n_blocks, mesh)
            for choice in regularities:
                yield fewest_cells(
                    lambda cells, t=times, c=choice: certify(field, box, t, cells, c),
                    part.blocks * eps, eps)

    best = cheapest_plan(candidates())
    if best is None:
        raise ValueError(f"eps={eps} cannot be certified with mesh={mesh!r}: the partition's "
                         "Euler and interpolation parts exceed it")
    return best
