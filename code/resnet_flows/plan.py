"""Certified plans for thm-main: a partition, a block box and a grid with a proved error bound.

For ``x`` in ``K``, ``t`` in ``I_k``:

    |X(t, x) - Phi(t, x)| <= max_k E_k  +  max_k M_k  +  max_k P_k
                              Euler       time interp.   blocks

with ``E`` the averaged-Euler bound (thm-averaged-euler), ``M_k = int_{I_k} m`` and ``P`` the
perturbation bound (thm-stability) for block errors ``delta_k = Lambda_k |h| / 2`` (Lipschitz)
or ``delta_k = |h|^2 / 8 int_{I_k} H`` (C^2) of thm-relu-approx. The block box is ``K`` grown by
``int_0^T m`` (where averaged Euler can go) plus ``P`` (how far the ResNet can stray from it).
Point-evaluation blocks (thm-complexity, :mod:`resnet_flows.plan_point`) share the same
core: one regularity check, one margin fixed point (:func:`least_margin`), one least-passing
search (:func:`least_passing`), the named shares of ``eps`` (:class:`EpsilonShare`), one choice
of mesh (:func:`~resnet_flows.mesh.choose_mesh`), one search over shares with its refusals
(:func:`~resnet_flows.search.search_plans`, :mod:`resnet_flows.limits`) and one sampled check of
the field's declared constants (:func:`~resnet_flows.declared.check_declared_bounds`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np

from . import bounds
from ._validate import as_box, as_times, nonnegative_float, positive_float, positive_int
from .declared import check_declared_bounds
from .fields import VectorField
from .limits import (
    DEFAULT_MAX_MEMORY,
    DEFAULT_MAX_PARAMETERS,
    PlanTooLarge,
    cells_lower_bound,
    exceeds,
    network_memory,
    plan_size_lower_bound,
    refusal,
    resolve_limits,
)
from .mesh import (
    MeshChoice,
    averaged_partition_bound,
    choose_mesh,
    growth,
    interval_integrals,
    mesh_times,
)
from .relu import KuhnGrid, count_parameters, kuhn_network_size
from .search import (
    MARGIN_ITERATIONS,
    cheapest_plan,
    fewest_cells,
    least_margin,
    least_passing,
    search_plans,
)

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "DEFAULT_MAX_PARAMETERS",
    "DEFAULT_SHARES",
    "MARGIN_ITERATIONS",
    "REGULARITIES",
    "EpsilonShare",
    "MeshChoice",
    "PartitionParts",
    "Plan",
    "PlanTooLarge",
    "block_part",
    "certify",
    "certify_parts",
    "cheapest_plan",
    "check_partition",
    "check_planner_inputs",
    "check_regularity",
    "choose_mesh",
    "fewest_cells",
    "least_margin",
    "least_passing",
    "mesh_times",
    "partition_parts",
    "plan_flow_resnet",
    "planner_eps",
    "resolve_shares",
    "search_plans",
]

REGULARITIES = ("lipschitz", "c2")


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


def planner_eps(eps) -> float:
    """``eps`` as a finite float ``> 0``; bools and strings are refused by
    :func:`~resnet_flows._validate.positive_float` (``True`` is not ``1.0`` here)."""
    return positive_float(eps, "eps")


def check_planner_inputs(field, box, eps, regularity, share, max_parameters, max_memory,
                         check_field, block_sums=True):
    """The checks every planner makes before searching: types, ``eps``, ``box``, regularities,
    shares and limits; the sampled declared constants (``check_field``); and the refusal of
    ``eps`` whose smallest possible plan already exceeds the limits
    (:func:`~resnet_flows.limits.plan_size_lower_bound`). Returns ``(eps, box, regularities,
    shares, (max_parameters, max_memory))``."""
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    eps = planner_eps(eps)
    box = as_box(box, "box", dim=field.dim)
    regularities = check_regularity(field, regularity, search=True)
    shares = resolve_shares(share)
    limits = resolve_limits(max_parameters, max_memory)
    if check_field:
        check_declared_bounds(field, box, regularities)
    smallest = plan_size_lower_bound(field, box, eps, shares, regularities, block_sums)
    if exceeds(smallest, *limits):
        raise refusal(eps, "every plan needs at least", smallest, *limits)
    return eps, box, regularities, shares, limits


@dataclass(frozen=True)
class Plan:
    """A partition and grid with the certified bound of thm-main split into its three parts,
    and the mesh it was planned on (``mesh``: uniform, graded or given; ``mesh_reason``)."""

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
    mesh: str = "given"
    mesh_reason: str = ""

    @property
    def num_blocks(self) -> int:
        return self.times.size - 1

    @property
    def bound(self) -> float:
        return self.euler_part + self.interpolation_part + self.block_part

    def parameter_counts(self) -> tuple[int, int]:
        """``(total, nonzero)`` parameters of the ResNet this plan builds, without building it:
        ``N`` Kuhn networks on the block grid (lem-kuhn-network-size), less the first-layer
        biases that vanish because a grid coordinate is 0. Nodal values are counted as nonzero:
        the built network (:func:`~resnet_flows.relu.count_parameters`) has fewer by exactly
        the nodal values that are 0 (where ``F_k`` vanishes at a node)."""
        dim = self.field.dim
        total, nonzero = kuhn_network_size(dim, self.cells, dim)
        lower, upper = self.block_box
        if np.all(np.isfinite(lower)) and np.all(np.isfinite(upper)):
            grid = KuhnGrid(self.block_box, self.cells)
            nonzero -= 2 * sum(int(np.count_nonzero(grid.coordinates(i) == 0))
                               for i in range(dim))
        return self.num_blocks * total, self.num_blocks * nonzero

    @property
    def parameters(self) -> tuple[int, int]:
        """``(total, nonzero)`` parameters of the ResNet this plan builds
        (:func:`~resnet_flows.relu.count_parameters` of the plan)."""
        return count_parameters(self)

    @property
    def memory(self) -> float:
        """Estimated bytes to build and hold its ResNet (:func:`~resnet_flows.limits.network_memory`)."""
        return network_memory(self.field.dim, self.num_blocks, self.cells)

    def summary(self) -> dict:
        return {
            "N": self.num_blocks, "cells": self.cells, "regularity": self.regularity,
            "euler_part": self.euler_part, "interpolation_part": self.interpolation_part,
            "block_part": self.block_part, "bound": self.bound, "eps": self.eps,
            "nonzero_parameters": self.parameters[1], "memory_bytes": self.memory,
            "mesh": self.mesh, "mesh_reason": self.mesh_reason,
        }


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
        largest = float(unit.max())  # max P = scale * max unit: O(1) per iteration, not O(N)

        def need(m):
            box_lower, box_upper = block_box(m)
            width = float(np.linalg.norm(box_upper - box_lower))
            return offset + float(_block_scale(regularity, width, cells) * largest)

        margin = least_margin(need, offset, limit)
    if math.isinf(margin):
        return np.full(unit.size, math.inf), (lower - math.inf, upper + math.inf)
    return part(margin), block_box(margin)


def check_partition(field, times):
    times = as_times(times, "times")
    if abs(times[0]) > 0 or abs(times[-1] - field.horizon) > 1e-12 * field.horizon:
        raise ValueError(f"times must run from 0 to the horizon {field.horizon}")
    return times


@dataclass(frozen=True)
class PartitionParts:
    """What thm-main's bound takes from the partition alone, computed once per partition and
    shared by every grid tried on it: ``M_k`` (``m_int``), the Euler bound ``E_k``
    (``euler``), ``int_0^T m`` (``reach``) and, per regularity, the Gronwall sums of the block
    weights (``units``: ``P_k = scale(|h|) units_k``)."""

    times: np.ndarray
    m_int: np.ndarray
    euler: np.ndarray
    reach: float
    units: dict


def partition_parts(field: VectorField, times, regularities=("lipschitz",)) -> PartitionParts:
    """The :class:`PartitionParts` of ``times`` (thm-averaged-euler and thm-stability with the
    amplification ``1 + growth_k`` per step, lem-one-sided where ``mu`` is declared)."""
    m_int, lam = interval_integrals(field, times)
    amplification = growth(field, times, lam)
    units = {}
    for regularity in regularities:
        weights = lam if regularity == "lipschitz" else interval_integrals(field, times, "hess")
        units[regularity] = bounds.discrete_gronwall(amplification, weights)
    return PartitionParts(times, m_int, bounds.discrete_gronwall(amplification, lam * m_int),
                          float(field.sup_integral(0.0, field.horizon)), units)


def certify_parts(field: VectorField, box, parts: PartitionParts, cells: int, regularity: str,
                  margin: float | None = None, mesh: str = "given", mesh_reason: str = "") -> Plan:
    """The certified plan of thm-main on a partition's :class:`PartitionParts` and ``cells``
    cells per axis (inputs already checked: :func:`certify` checks them)."""
    euler, m_int = parts.euler, parts.m_int
    pert, block_box = block_part(box, parts.reach, regularity, cells, parts.units[regularity],
                                 margin=margin)
    if margin is not None and pert.max() > margin:
        raise ValueError(f"margin={margin} is smaller than the block part {pert.max():.3g}")
    return Plan(field, box, parts.times, cells, block_box, regularity, float(euler.max()),
                float(m_int.max()), float(pert.max()),
                float(euler.max() + m_int.max() + pert.max()), euler + pert, mesh, mesh_reason)


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
    if margin is not None:
        margin = nonnegative_float(margin, "margin")
    return certify_parts(field, (lower, upper), partition_parts(field, times, (regularity,)),
                         cells, regularity, margin)


def plan_flow_resnet(field: VectorField, box, eps: float, mesh="auto",
                     regularity: str | None = None, share=None, *,
                     max_parameters: float = DEFAULT_MAX_PARAMETERS,
                     max_memory: float = DEFAULT_MAX_MEMORY, check_field: bool = True) -> Plan:
    """A cheapest certified plan with ``plan.bound <= eps`` (thm-main).

    For each share of ``eps`` (``share``: one number in ``(0, 1)`` or :class:`EpsilonShare`,
    a sequence of them, or None for :data:`DEFAULT_SHARES`) the smallest ``N`` whose Euler and
    interpolation parts fit the partition's share, then the fewest cells whose block part fits
    the blocks' share; the plan with the fewest nonzero parameters wins.
    ``regularity``: ``"lipschitz"``, ``"c2"`` or None for the cheaper of the two the field allows.
    ``mesh``: ``"auto"`` (:func:`~resnet_flows.mesh.choose_mesh`: graded for declared singular
    times or where it needs fewer blocks, else uniform; the plan records which and why),
    ``"uniform"``, ``"graded"`` (equal ``int m`` per block) or an array of times.
    Refuses (:class:`~resnet_flows.limits.PlanTooLarge`) plans beyond ``max_parameters`` nonzero
    parameters or ``max_memory`` bytes, before building or searching further; with
    ``check_field`` (default) refuses a field whose sampled values exceed its declared bounds.
    """
    eps, box, regularities, shares, limits = check_planner_inputs(
        field, box, eps, regularity, share, max_parameters, max_memory, check_field)
    choice = choose_mesh(field, eps, mesh)
    if choice.times is not None:
        check_partition(field, choice.times)
    bound = averaged_partition_bound(field)
    parts = {}

    def times_for(n):
        return choice.times_for(field, n, limits[1])

    def plan_for(times, cells, regularity):
        if times.size not in parts:  # one mesh per call: N fixes the partition
            parts.clear()  # one partition at a time: each holds O(N) floats
            parts[times.size] = partition_parts(field, times, regularities)
        return certify_parts(field, box, parts[times.size], cells, regularity, mesh=choice.mesh,
                             mesh_reason=choice.reason)

    def cells_floor(share):
        return cells_lower_bound(field, box, share.blocks * eps, regularities)

    return search_plans(field.dim, eps, shares, regularities, choice,
                        lambda n: bound(times_for(n)), plan_for, times_for=times_for,
                        max_parameters=limits[0], max_memory=limits[1], cells_floor=cells_floor)
