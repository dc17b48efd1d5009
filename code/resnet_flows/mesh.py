"""Partitions of ``[0, T]`` for the planners: uniform or graded meshes, and the choice between
them (``mesh="auto"``).

A graded mesh puts the same ``int m`` on every block, so blocks are short where ``m`` is large:
next to a singular time ``|t - t*|^{-beta}`` it needs ``N ~ 1 / eps`` blocks for
``max_k M_k <= eps`` where a uniform one needs ``N ~ eps^{-1 / (1 - beta)}`` (thm-averaged-euler).
Both read the field's cumulative integrals (closed-form primitives or
:class:`~resnet_flows.singular.CumulativeTable`), so a mesh of any size costs no quadrature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import bounds
from ._validate import as_times, positive_float, positive_int
from .limits import DEFAULT_MAX_MEMORY, MAX_SEARCH_BLOCKS, PlanTooLarge, format_bytes, mesh_memory
from .search import least_passing

__all__ = [
    "GRADED_GAIN",
    "MESHES",
    "MeshChoice",
    "averaged_partition_bound",
    "choose_mesh",
    "growth",
    "interval_integrals",
    "mesh_times",
]

MESHES = ("auto", "uniform", "graded")
# mesh="auto" takes a graded mesh without singular times only if it needs at most this fraction
# of the uniform mesh's blocks: uniform meshes are free to make, graded ones are not.
GRADED_GAIN = 0.9


def mesh_times(field, blocks: int, mesh: str = "uniform",
               max_memory: float = DEFAULT_MAX_MEMORY) -> np.ndarray:
    """``blocks + 1`` times: ``uniform``, or ``graded`` so that every ``I_k`` carries the same
    ``int m`` (for ``m ~ t^{-1/2}`` this is ``t_k = T (k / N)^2``). Raises
    :class:`~resnet_flows.limits.PlanTooLarge` when the mesh would need more than
    ``max_memory`` bytes."""
    blocks = positive_int(blocks, "blocks")
    if mesh not in ("uniform", "graded"):
        raise ValueError(f"mesh must be 'uniform' or 'graded' (choose_mesh decides 'auto'), "
                         f"got {mesh!r}")
    need = mesh_memory(blocks, mesh)
    if need > max_memory:
        raise PlanTooLarge(f"blocks={blocks:,}: a {mesh} mesh needs about {format_bytes(need)}, "
                           f"beyond max_memory={format_bytes(max_memory)}; pass a larger "
                           "max_memory if this machine has it")
    T = field.horizon
    if mesh == "uniform":
        return T * np.arange(blocks + 1) / blocks
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
        inner = _invert_primitive(field, targets)
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


_BRACKETS = 256


def _invert_primitive(field, targets):
    """Times ``t`` with ``int_0^t m = targets`` from a closed-form primitive: safeguarded Newton
    (``d/dt int_0^t m = m(t)``) inside brackets that bisection keeps, until the primitive
    meets the targets to its own round-off or the brackets are ``2^-60 T`` wide."""
    T = field.horizon
    primitive = field.cumulative("sup")
    start = primitive(0.0)
    # the primitive's own round-off: no t does better than this
    resolution = 8 * np.finfo(np.float64).eps * (abs(start) + abs(primitive(T)))
    # brackets from the primitive on a coarse grid, then the secant inside them
    grid = T * np.arange(_BRACKETS + 1) / _BRACKETS
    cumulative = np.maximum.accumulate(np.asarray(primitive(grid), dtype=np.float64) - start)
    j = np.clip(np.searchsorted(cumulative, targets, side="right"), 1, _BRACKETS)
    lo, hi = grid[j - 1], grid[j]
    rise = cumulative[j] - cumulative[j - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(rise > 0, lo + (hi - lo) * (targets - cumulative[j - 1]) / rise, 0.5 * (lo + hi))
    t = np.clip(t, lo, hi)
    for _ in range(120):
        excess = np.asarray(primitive(t), dtype=np.float64) - start - targets
        lo, hi = np.where(excess < 0, t, lo), np.where(excess < 0, hi, t)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = t - excess / np.asarray(field.sup(t), dtype=np.float64)
        # done: the target met to round-off, Newton standing still, or the bracket closed
        done = (np.abs(excess) <= resolution) | (newton == t) | (hi - lo <= 2.0**-60 * T)
        if np.all(done):
            return t
        inside = np.isfinite(newton) & (newton > lo) & (newton < hi)
        t = np.where(done, t, np.where(inside, newton, 0.5 * (lo + hi)))
    return t


@dataclass(frozen=True)
class MeshChoice:
    """The mesh a planner uses and why: ``mesh`` is ``"uniform"``, ``"graded"`` or ``"given"``
    (``times`` passed by the caller); ``reason`` says why, in words (shown in
    ``Plan.summary()``)."""

    mesh: str
    reason: str
    times: np.ndarray | None = None

    def times_for(self, field, blocks: int, max_memory: float = DEFAULT_MAX_MEMORY) -> np.ndarray:
        if self.times is not None:
            return self.times
        return mesh_times(field, blocks, self.mesh, max_memory)


def interval_integrals(field, times, kind: str | None = None):
    """``(M_k, Lambda_k)``: ``int m`` and ``int L`` over each ``I_k``, or the integrals of the
    bound ``kind`` (``"sup"``, ``"lip"``, ``"hess"``, ``"mu"``): differences of one evaluation
    of the cumulative integral at the ``N + 1`` times (the same floats as ``field.sup_integral``
    on the intervals, at half the cost)."""
    if kind is None:
        return interval_integrals(field, times, "sup"), interval_integrals(field, times, "lip")
    cumulative = np.asarray(field.cumulative(kind)(times), dtype=np.float64)
    return cumulative[1:] - cumulative[:-1]


def growth(field, times, lam) -> np.ndarray:
    """Per-step error amplification minus one: ``Lambda_k``, or with a declared one-sided
    Lipschitz bound ``sqrt(1 + 2 mu_k + Lambda_k^2) - 1`` (lem-one-sided)."""
    if getattr(field, "mu_bound", None) is None:
        return lam
    mu = interval_integrals(field, times, "mu")
    return bounds.one_sided_growth(lam, mu)


def averaged_partition_bound(field) -> Callable[[np.ndarray], float]:
    """``times -> max_k E_k + max_k M_k``: the Euler (thm-averaged-euler) and
    time-interpolation parts of thm-main on a partition, the parts that do not depend on the
    grid."""
    def bound(times):
        m_int, lam = interval_integrals(field, times)
        euler = bounds.discrete_gronwall(growth(field, times, lam), lam * m_int)
        return float(euler.max() + m_int.max())

    return bound


def _least_blocks(field, mesh, bound, target, limit):
    """Least ``N <= limit`` (doubling, then bisection) with ``bound(mesh of N) <= target``."""
    try:
        return least_passing(lambda n: bound(mesh_times(field, n, mesh)) <= target, limit=limit)
    except (ValueError, FloatingPointError):  # a graded mesh finer than floating point allows
        return None


def _graded_passes(field, blocks, bound, target) -> bool:
    try:
        return bound(mesh_times(field, blocks, "graded")) <= target
    except ValueError:  # a graded mesh finer than floating point allows
        return False


def choose_mesh(field, eps: float, mesh="auto",
                partition_bound: Callable[[np.ndarray], float] | None = None,
                share: float = 0.5, max_blocks: int = MAX_SEARCH_BLOCKS) -> MeshChoice:
    """The mesh for a plan of ``field`` at accuracy ``eps``, with its reason.

    ``mesh``: ``"uniform"`` or ``"graded"`` (kept, reason "requested"), an array of times
    (``"given"``), or ``"auto"``: graded if the field declares singular times; otherwise the
    cheap estimate: with ``N_u`` the least ``N`` whose uniform mesh has
    ``partition_bound(times) <= share * eps`` (the Euler and time-interpolation parts, default
    those of thm-main's averaged construction), graded if its mesh of
    ``GRADED_GAIN * N_u`` blocks passes too (it needs at least 10 % fewer blocks), else
    uniform. Uniform meshes cost nothing to make, so
    the estimate costs one graded mesh (a graded search if no uniform mesh of up to
    ``max_blocks`` passes).
    """
    if not isinstance(mesh, str):
        return MeshChoice("given", "times given by the caller", as_times(mesh, "mesh"))
    if mesh not in MESHES:
        raise ValueError(f"mesh must be one of {MESHES} or an array of times, got {mesh!r}")
    if mesh != "auto":
        return MeshChoice(mesh, f"mesh={mesh!r} requested")
    if field.singular_times.size:
        listed = ", ".join(f"t*={t:g} (beta={b:g})"
                           for t, b in zip(field.singular_times, field.singular_exponents))
        return MeshChoice("graded", f"the field declares singular times {listed}: graded blocks "
                                    "carry equal int m")
    eps = positive_float(eps, "eps")
    if partition_bound is None:
        partition_bound = averaged_partition_bound(field)
    target = positive_float(share, "share") * eps
    uniform = _least_blocks(field, "uniform", partition_bound, target, max_blocks)
    if uniform is None:
        graded = _least_blocks(field, "graded", partition_bound, target, max_blocks)
        if graded is None:
            return MeshChoice("uniform", f"estimate: neither mesh of up to {max_blocks:,} blocks "
                                         f"brings Euler + interpolation to {target:.3g}")
        return MeshChoice("graded", f"estimate: graded needs N={graded} blocks for Euler + "
                                    f"interpolation <= {target:.3g}, uniform more than "
                                    f"{max_blocks:,}")
    fewer = int(GRADED_GAIN * uniform)
    if fewer < 1:
        return MeshChoice("uniform", f"estimate: uniform needs N={uniform} block(s) for Euler + "
                                     f"interpolation <= {target:.3g}")
    if _graded_passes(field, fewer, partition_bound, target):
        return MeshChoice("graded", f"estimate: graded needs at most N={fewer} blocks for "
                                    f"Euler + interpolation <= {target:.3g}, uniform {uniform}")
    return MeshChoice("uniform", f"estimate: uniform needs N={uniform} blocks for Euler + "
                                 f"interpolation <= {target:.3g}, graded more than {fewer}")
