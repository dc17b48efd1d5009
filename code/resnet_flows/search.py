"""The searches of the planner core (:mod:`resnet_flows.plan`): the least passing integer of a
monotone test, the least fixed point of an increasing map, the fewest cells, and the search over
shares of ``eps`` that every planner runs (:func:`search_plans`), with its refusals."""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Callable

from . import limits
from .relu import count_parameters

__all__ = [
    "CELLS_LIMIT",
    "MARGIN_ITERATIONS",
    "cheapest_plan",
    "fewest_cells",
    "least_margin",
    "least_passing",
    "search_plans",
]

MARGIN_ITERATIONS = 200


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
    it; the doubling stops at ``limit`` itself, and ``None`` means ``passes(limit)`` fails.
    With ``refine=False`` the first passing ``start * 2^j <= limit`` is returned instead."""
    lo, hi = start - 1, start
    while not passes(hi):
        if hi >= limit or (not refine and 2 * hi > limit):
            return None
        lo, hi = hi, min(2 * hi, limit)
    if not refine:
        return hi
    return bisect.bisect_left(range(lo + 1, hi), True, key=passes) + lo + 1


CELLS_LIMIT = 2**16  # cells per axis: beyond it no grid is searched
_EXACT_BLOCKS = 2**16  # the least N is found exactly up to here, to 1/128 of N above


def fewest_cells(plan_for, block_target, eps, limit: int = CELLS_LIMIT):
    """The plan with the fewest cells whose block part is ``<= block_target`` (it decreases
    with the cells), carrying ``eps``; ``None`` if the other parts already reach ``eps`` or no
    grid of up to ``limit`` cells per axis suffices."""
    plans = {}

    def plan_at(cells):
        if cells not in plans:
            plans[cells] = plan_for(cells)
        return plans[cells]

    if plan_at(1).euler_part + plan_at(1).interpolation_part >= eps:
        return None
    cells = least_passing(lambda c: plan_at(c).block_part <= block_target, limit=limit)
    return None if cells is None else dataclasses.replace(plan_at(cells), eps=eps)


def cheapest_plan(plans):
    """The feasible plan with the fewest nonzero parameters (:func:`count_parameters`; the
    first one on ties)."""
    best, fewest = None, None
    for plan in plans:
        if plan is None or not plan.bound <= plan.eps:
            continue
        nonzero = count_parameters(plan)[1]
        if best is None or nonzero < fewest:
            best, fewest = plan, nonzero
    return best


class _Stalled(Exception):
    """The Euler and interpolation parts stopped decreasing as the mesh was refined."""


def _beyond(size, max_parameters, max_memory) -> bool:
    """Whether a plan of this estimate is beyond the limits even with the ``2 d`` zero
    first-layer biases per block of a grid with a coordinate 0 (Plan.parameter_counts)."""
    fewest = size["parameters"] - 2 * size["dim"] * size["blocks"]
    return fewest > max_parameters or size["memory"] > max_memory


def _most_cells(dim, blocks, max_parameters, max_memory) -> int:
    """The most cells per axis (``<= CELLS_LIMIT``) a plan of ``blocks`` blocks may have
    within the limits; 0 if not even one cell fits."""
    def too_large(cells):
        return _beyond(limits.estimate(dim, blocks, cells), max_parameters, max_memory)

    if too_large(1):
        return 0
    first = least_passing(too_large, limit=CELLS_LIMIT)
    return CELLS_LIMIT if first is None else first - 1


class _Outcome:
    """Why shares found no plan: the smallest estimate beyond the limits, the search limit
    reached on the blocks, or a stall next to a singular time."""

    def __init__(self):
        self.too_large = self.search_limit = self.stalled = None

    def beyond_limits(self, size):
        if self.too_large is None or size["parameters"] < self.too_large["parameters"]:
            self.too_large = size

    def error(self, eps, choice, max_parameters, max_memory) -> ValueError:
        mesh = f"the {choice.mesh} mesh" if choice.times is None else "the given times"
        if self.too_large is not None:
            return limits.refusal(eps, "the smallest plan within reach needs about",
                                  self.too_large, max_parameters, max_memory)
        if self.search_limit is not None:
            value, target = self.search_limit
            return ValueError(
                f"eps={eps:g}: the search for the number of blocks stopped at its limit of "
                f"{limits.MAX_SEARCH_BLOCKS:,} blocks (2^{limits.MAX_SEARCH_BLOCKS.bit_length() - 1}"
                f", resnet_flows.limits.MAX_SEARCH_BLOCKS) on {mesh}, where the Euler "
                f"and interpolation parts are still {value:.3g} > {target:.3g} (at that share "
                f"of eps they would fit eps={value * eps / target:.3g}). That is the "
                "planner's search limit, not a proof that no plan exists: raise eps, use "
                "mesh='graded' (and declare the field's singular times) if m(t) is "
                "concentrated, or pass your own partition as mesh=<array of times>.")
        if self.stalled is not None:
            return ValueError(
                f"eps={eps:g} cannot be certified with {mesh}: refining it stopped "
                f"lowering the Euler and interpolation parts (at {self.stalled:.3g}); next to a "
                "singular time no block gets lighter than the mass between two adjacent "
                "floats. Raise eps.")
        return ValueError(f"eps={eps:g} cannot be certified with {mesh}: the partition's "
                          "Euler and interpolation parts exceed it")


def search_plans(dim, eps, shares, regularities, choice, partition_bound, plan_for, *,
                 times_for, max_parameters, max_memory, refine=True, warm_start=False,
                 cells_floor=None):
    """The planner core's search (thm-main, thm-complexity): for each share of ``eps`` the least
    ``N`` with ``partition_bound(N) <= share.partition * eps``, then for each regularity the
    fewest cells with a block part ``<= share.blocks * eps``; returns the feasible plan with the
    fewest nonzero parameters (:func:`count_parameters`; the first one on ties).

    ``partition_bound(n)``: the Euler and interpolation parts of the ``n``-block mesh;
    ``times_for(n)`` that mesh; ``plan_for(times, cells, regularity)`` a plan;
    ``cells_floor(share)`` a proved least number of cells under that share (default 1). The
    blocks are searched up to :data:`~resnet_flows.limits.MAX_SEARCH_BLOCKS` and no further than
    one cell per block allows within ``max_parameters`` and ``max_memory``; the cells up to the
    most the limits allow. Doubling brackets ``N`` in ``(lo, hi]`` first; a share whose
    ``(lo + 1) nnz(cells_floor)`` already exceeds the limits or the best plan so far is dropped
    before the bisection. The bisection is exact up to ``2^16`` blocks and to ``1 / 128`` of
    ``N`` above (a partition of more blocks also passes). ``refine=False``: ``N`` a power of
    two. ``warm_start``: each share starts at the previous share's ``N`` (for shares ordered by
    increasing blocks' share). Raises :class:`~resnet_flows.limits.PlanTooLarge` when the
    limits cut every share, else a ``ValueError`` saying whether the block search limit was hit
    or the mesh stalled.
    """
    one_cell = limits.estimate(dim, 1, 1)
    per_block = limits.network_memory(dim, 1, 1) - limits.network_memory(dim, 0, 1)
    blocks_cap = int(min(limits.MAX_SEARCH_BLOCKS, max_parameters / one_cell["parameters"],
                         (max_memory - limits.network_memory(dim, 0, 1)) / per_block))
    outcome = _Outcome()
    computed: dict[int, float] = {}
    stall = []
    best = []  # (nonzero parameters, plan) of the cheapest feasible plan so far

    def bound_at(n):
        if stall and n >= stall[0]:
            raise _Stalled
        if n not in computed:
            computed[n] = partition_bound(n)
            # Stalled doubling: next to a singular time the graded blocks cannot get lighter
            # than the mass between two adjacent floats (|t - t*|^-beta, beta near 1).
            if n >= 64 and n & (n - 1) == 0 and computed.get(n // 2, math.inf) * 0.99 < computed[n]:
                outcome.stalled = computed[n]
                stall.append(n)
                raise _Stalled
        return computed[n]

    def blocks_for(target, start, floor):
        if blocks_cap < 1:
            outcome.beyond_limits(one_cell)
            return None
        lo, hi = start - 1, start
        try:
            while bound_at(hi) > target:
                if hi >= blocks_cap or (not refine and 2 * hi > blocks_cap):
                    _no_blocks(target)
                    return None
                lo, hi = hi, min(2 * hi, blocks_cap)
            fewest = limits.estimate(dim, lo + 1.0, floor)
            if _beyond(fewest, max_parameters, max_memory):
                outcome.beyond_limits(fewest)
                return None
            # even its least N with its fewest cells (less the biases a grid may zero) is larger
            if best and fewest["parameters"] - 2 * dim * (lo + 1) > best[0][0]:
                return None
            if not refine:
                return hi
            while hi - lo > 1 and (hi <= _EXACT_BLOCKS or hi - lo > hi / 128):
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if bound_at(mid) <= target else (mid, hi)
            return hi
        except _Stalled:
            return None

    def _no_blocks(target):
        last = max(computed)
        if blocks_cap < limits.MAX_SEARCH_BLOCKS:  # one cell per block would not fit
            needed = max(blocks_cap + 1.0, last * computed[last] / target)
            outcome.beyond_limits(limits.estimate(dim, needed, 1))
        elif outcome.search_limit is None or target > outcome.search_limit[1]:
            outcome.search_limit = (computed[last], target)

    def cells_for(times, share, regularity, most):
        target = share.blocks * eps
        plan = fewest_cells(lambda c: plan_for(times, c, regularity), target, eps, limit=most)
        if plan is None and most < CELLS_LIMIT:
            at_most = plan_for(times, most, regularity)
            if at_most.euler_part + at_most.interpolation_part < eps:  # the grid was too coarse
                order = 1.0 if regularity == "lipschitz" else 2.0
                ratio = at_most.block_part / target
                needed = most * ratio ** (1.0 / order) if math.isfinite(ratio) else most + 1.0
                outcome.beyond_limits(limits.estimate(dim, times.size - 1, max(needed, most + 1.0)))
        return plan

    start = 1
    for share in shares:
        floor = 1 if cells_floor is None else cells_floor(share)
        if choice.times is not None:
            times = choice.times
        else:
            n = blocks_for(share.partition * eps, start, floor)
            if n is None:
                continue
            start = n if warm_start else 1
            times = times_for(n)
        most = _most_cells(dim, times.size - 1, max_parameters, max_memory)
        if most == 0:
            outcome.beyond_limits(limits.estimate(dim, times.size - 1, 1))
            continue
        for regularity in regularities:
            plan = cells_for(times, share, regularity, most)
            if plan is not None and plan.bound <= plan.eps:
                nonzero = count_parameters(plan)[1]
                if nonzero > max_parameters:
                    size = limits.estimate(dim, plan.num_blocks, plan.cells)
                    outcome.beyond_limits(dict(size, parameters=float(nonzero)))
                elif not best or nonzero < best[0][0]:
                    best[:] = [(nonzero, plan)]
    if not best:
        raise outcome.error(eps, choice, max_parameters, max_memory)
    return best[0][1]
