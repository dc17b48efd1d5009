"""Flow-map ResNets (thm-flow-map): blocks ``R_k = I_n(Phi_k - id)``, the Kuhn interpolants of
the exact one-step maps ``Phi_k = Phi(t_{k+1}; t_k, .)`` minus the identity.

For ``x`` in ``K`` and ``t`` in ``I_k``:

    |X(t, x) - Phi(t, x)| <= max(e_k, e_{k+1})  +  c_k
                              node errors           chord between the exact states (lem-chord)

with ``e_{k+1} <= e^{Lambda_k} e_k + delta_k`` (``Phi_k`` is ``e^{Lambda_k}``-Lipschitz) and
``delta_k`` the block error of :func:`~resnet_flows.bounds.flow_map_block_error`. There is no
Euler part: the nodes are exact up to the blocks. The chord part needs regularity in time only
to be small (``c_k <= M_k`` always), and is ``O(h^{1+a})`` for ``a``-Hoelder velocities, which
is why far fewer blocks than in thm-main suffice. The nodal values come from
:func:`~resnet_flows.flows.reference_flow` (closed form where the field has one, else DOP853),
batched over the nodes; they are trusted to :data:`SOLVER_ALLOWANCE` per step, which the bound
carries. The planner is a thin user of the planner core of :mod:`resnet_flows.plan`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np

from . import bounds
from ._validate import (
    as_box,
    as_times,
    field_steps_points,
    nonnegative_float,
    positive_float,
    positive_int,
)
from .fields import VectorField
from .flows import reference_flow
from .plan import (
    Plan,
    block_part,
    cheapest_plan,
    check_partition,
    check_regularity,
    fewest_cells,
    least_passing,
    mesh_times,
    resolve_shares,
)
from .resnet import ReLUResNet, kuhn_resnet

__all__ = ["EXACT_ALLOWANCE", "MAX_NODAL_VALUES", "SOLVER_ALLOWANCE", "FlowMapPlan",
           "certify_flow_map", "default_allowance", "flow_map_resnet", "one_step_maps",
           "plan_flow_map_resnet"]

# The one-step maps come from DOP853 at rtol 1e-11, atol 1e-12, or from the field's own flow map
# (a closed form, or for a time-scaled field whose spatial part has none, DOP853 at rtol 1e-12).
# Each nodal value is trusted to this much; the bound adds it to every block error. Measured:
# about 1e-12 and 1e-14 on the catalogue's fields, far below either allowance.
SOLVER_ALLOWANCE = 1e-8
EXACT_ALLOWANCE = 1e-10
# flow_map_resnet refuses to compute more nodal values than this (about 0.8 GB of float64).
MAX_NODAL_VALUES = 10**8
# block_part scales its unit by |h| / 2 (Lipschitz) or |h|^2 / 8 (C^2): cells of these widths
# make flow_map_block_error return the unit itself.
_UNIT_WIDTHS = {"lipschitz": np.array([2.0]), "c2": np.array([math.sqrt(8.0)])}


def one_step_maps(field: VectorField, times, points) -> np.ndarray:
    """``Phi(t_{k+1}; t_k, z)`` for every step ``k`` and every row ``z`` of ``points``: shape
    ``(N, n, d)``. One :func:`reference_flow` call per step, all points as one system."""
    times, points = field_steps_points(field, times, points)
    out = np.empty((times.size - 1, *points.shape))
    for k in range(times.size - 1):
        out[k] = reference_flow(field, points, times[k:k + 2])[-1]
    return out


def flow_map_resnet(field: VectorField, times, box, cells: int) -> ReLUResNet:
    """The flow-map ResNet (thm-flow-map): ``R_k = I_n(Phi_k - id)`` on ``box`` with ``cells``
    cells per axis, an exact ReLU network per block. Certified or not: with a plan of
    :func:`plan_flow_map_resnet` use ``flow_map_resnet(field, plan.times, plan.block_box,
    plan.cells)``; its error is then at most ``plan.bound``. Refuses more than
    :data:`MAX_NODAL_VALUES` nodal values before computing any."""
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    times = as_times(times, "times")
    if times.size < 2 or times[0] < 0 or times[-1] > field.horizon:
        raise ValueError(f"times must hold >= 2 increasing times in [0, {field.horizon}]")
    cells = positive_int(cells, "cells")
    values = (times.size - 1) * float(cells + 1) ** field.dim * field.dim
    if values > MAX_NODAL_VALUES:
        raise ValueError(f"cells={cells} with {times.size - 1} blocks needs {values:.3g} nodal "
                         f"values, more than MAX_NODAL_VALUES = {MAX_NODAL_VALUES:.0e}")

    def residual(a, b, nodes):
        return one_step_maps(field, [a, b], nodes)[0] - nodes

    return kuhn_resnet(field, times, box, cells, residual)


@dataclass(frozen=True)
class FlowMapPlan(Plan):
    """A certified plan for flow-map blocks (thm-flow-map). ``euler_part`` is 0 (the nodes are
    exact up to the blocks), ``interpolation_part = max_k c_k`` the chord part (lem-chord),
    ``block_part = max_k P_k`` the Gronwall sum of the block errors and of the solver allowance
    with the factors ``e^{Lambda_k}``; ``node_bounds = P``. Build it with
    ``flow_map_resnet(field, plan.times, plan.block_box, plan.cells)``."""

    chord_bounds: np.ndarray = dataclass_field(default=None, repr=False)
    allowance: float = SOLVER_ALLOWANCE


def default_allowance(field: VectorField, allowance=None) -> float:
    """``allowance``, or :data:`EXACT_ALLOWANCE` for a field with its own flow map (which
    :func:`one_step_maps` uses), else :data:`SOLVER_ALLOWANCE`."""
    if allowance is not None:
        return nonnegative_float(allowance, "allowance")
    return EXACT_ALLOWANCE if field.has_exact_flow else SOLVER_ALLOWANCE


def _order_and_constant(pair, name):
    try:
        alpha, constant = pair
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (alpha, constant), got {pair!r}") from None
    alpha = positive_float(alpha, f"{name} alpha")
    if alpha > 1:
        raise ValueError(f"{name} alpha must lie in (0, 1], got {alpha}")
    if not callable(constant):
        constant = nonnegative_float(constant, f"{name} constant")
    return alpha, constant


def _regularity_in_time(field, holder, velocity):
    """``holder``: ``(alpha, C)`` with ``||f(s, .) - f(t, .)||_inf <= C |s - t|^alpha``; default
    the field's ``holder_exponent`` and ``holder_constant``, if it has both. ``velocity``:
    ``(alpha, V)``, ``V`` a number or a callable ``V(a, b)`` of arrays: the alpha-Hoelder
    constant of ``t -> f(t, Phi(t, x))`` on ``[a, b]`` for every ``x`` of ``K``."""
    if holder is None:
        alpha = getattr(field, "holder_exponent", None)
        constant = getattr(field, "holder_constant", None)
        holder = None if alpha is None or constant is None else (alpha, constant)
    holder = None if holder is None else _order_and_constant(holder, "holder")
    if holder is not None and callable(holder[1]):
        raise ValueError("holder constant must be a number (velocity takes a callable)")
    velocity = None if velocity is None else _order_and_constant(velocity, "velocity")
    return holder, velocity


def _step_integrals(field, times, kind):
    """``int_{I_k}`` of the bound ``kind`` for every step, from one pass of its primitive."""
    return np.diff(np.asarray(field.cumulative(kind)(times), dtype=np.float64))


def _chord_bounds(field, times, holder, velocity):
    """``c_k`` of lem-chord: the smaller of the bounds that the declared regularity allows."""
    a, b = times[:-1], times[1:]
    steps = b - a
    m_int = _step_integrals(field, times, "sup")
    chord = bounds.chord_error_bound(steps, m_int)
    if holder is not None:
        lam = _step_integrals(field, times, "lip")
        chord = np.minimum(chord, bounds.chord_error_bound(steps, m_int, holder[1], holder[0],
                                                           lip_integrals=lam))
    if velocity is not None:
        alpha, v = velocity
        if callable(v):
            values = np.asarray(v(a, b), dtype=np.float64)
            if values.shape not in ((), steps.shape) or np.any(np.isnan(values)) or np.any(values < 0):
                raise ValueError(f"velocity constant V(a, b) must return one number >= 0 (inf "
                                 f"allowed) per step, shape {steps.shape}, got {values.shape}")
            v = np.broadcast_to(values, steps.shape)
        chord = np.minimum(chord, bounds.chord_error_bound(steps, m_int, v, alpha))
    return chord


def _refute_regularity(field, box, times, holder, velocity):
    """Sampled refutation of the declared regularity in time (a check, not a proof): on the
    corners and the centre of ``box`` and at two interior times of every step, ``f`` must respect
    ``holder`` and the velocity along the reference solutions must respect ``velocity``, up to
    round-off and the solver's tolerance. Raises ``ValueError`` naming the declaration."""
    if holder is None and velocity is None:
        return
    lower, upper = box
    corners = np.array(np.meshgrid(*zip(lower, upper), indexing="ij")).reshape(field.dim, -1).T
    points = np.vstack([corners[:2**min(field.dim, 4)], (lower + upper) / 2])
    a, b = times[:-1], times[1:]
    inner = np.stack([a + (b - a) / 3, a + 2 * (b - a) / 3], axis=1)  # (N, 2), never a node
    gap = inner[:, 1] - inner[:, 0]
    slack = 1e-7 * (1.0 + np.abs(np.asarray(field.sup(inner), dtype=np.float64)))
    if holder is not None:
        alpha, constant = holder
        for k, (s, t) in enumerate(inner):
            change = np.linalg.norm(field(t, points) - field(s, points), axis=1).max()
            if change > constant * gap[k] ** alpha + slack[k].max():
                raise ValueError(f"holder={holder} is refuted by the field: |f(t, x) - f(s, x)| = "
                                 f"{change:.3g} at s={s:.6g}, t={t:.6g}")
    if velocity is not None:
        alpha, v = velocity
        limit = np.broadcast_to(np.asarray(v(a, b) if callable(v) else v, dtype=np.float64),
                                gap.shape)
        states = _reference_states(field, points, inner.reshape(-1)).reshape(*inner.shape, *points.shape)
        for k, (s, t) in enumerate(inner):
            if not np.isfinite(limit[k]):
                continue
            change = np.linalg.norm(field(t, states[k, 1]) - field(s, states[k, 0]), axis=1).max()
            if change > limit[k] * gap[k] ** alpha + slack[k].max():
                raise ValueError(f"velocity={velocity} is refuted by the field: the velocity along "
                                 f"a solution changes by {change:.3g} between t={s:.6g} and "
                                 f"{t:.6g}")


def _reference_states(field, points, times):
    """The reference flow from time 0 at ``times`` (increasing), as ``(len(times), n, d)``."""
    grid = np.concatenate([[0.0], times]) if times[0] > 0 else times
    out = reference_flow(field, points, grid)
    return out[1:] if times[0] > 0 else out


def _mesh_pieces(field, times, holder, velocity, allowance):
    """Everything of the bound that depends on the partition but not on the grid."""
    lam = _step_integrals(field, times, "lip")
    growth = np.expm1(lam)  # Lip Phi_k - 1 <= e^{Lambda_k} - 1
    pieces = {"times": times, "chord": _chord_bounds(field, times, holder, velocity),
              "reach": float(field.sup_integral(0.0, field.horizon)),
              "solver": bounds.discrete_gronwall(growth, np.full(lam.shape, allowance))}
    hess = _step_integrals(field, times, "hess") if field.hess_bound is not None else None
    for regularity in ("lipschitz", "c2"):
        if regularity == "c2" and hess is None:
            continue
        weights = bounds.flow_map_block_error(lam, _UNIT_WIDTHS[regularity],
                                              hess if regularity == "c2" else None)
        pieces["unit", regularity] = bounds.discrete_gronwall(growth, weights)
    return pieces


def _flow_map_plan(field, box, pieces, cells, regularity, allowance, margin=None, eps=None):
    solver = pieces["solver"]
    # The margin must hold P + S (S: the solver allowance carried through), and P grows with
    # the box: the least fixed point of eta -> S_max + P_max(eta), as in certify.
    pert, block_box = block_part(box, pieces["reach"], regularity, cells,
                                 pieces["unit", regularity], offset=float(solver.max()),
                                 margin=margin)
    node = pert + solver
    chord = pieces["chord"]
    bound = float(node.max()) + float(chord.max())
    return FlowMapPlan(field, box, pieces["times"], cells, block_box, regularity,
                       euler_part=0.0, interpolation_part=float(chord.max()),
                       block_part=float(node.max()), eps=bound if eps is None else eps,
                       node_bounds=node, chord_bounds=chord, allowance=allowance)


def certify_flow_map(field: VectorField, box, times, cells: int, regularity: str | None = None,
                     holder=None, velocity=None, allowance: float | None = None,
                     margin: float | None = None) -> FlowMapPlan:
    """The certified bound of thm-flow-map for a given partition and grid (``eps`` = the bound).

    ``regularity``: ``"lipschitz"``, ``"c2"`` or None (``"c2"`` when the field has ``H``).
    ``holder``, ``velocity``: regularity in time for the chord part (lem-chord), see
    :func:`plan_flow_map_resnet`. ``margin`` defaults to the least fixed point of
    ``eta = max_k P_k`` on the box grown by ``eta`` (:func:`~resnet_flows.plan.least_margin`).
    """
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    box = as_box(box, "box", dim=field.dim)
    times = check_partition(field, times)
    cells = positive_int(cells, "cells")
    (regularity,) = check_regularity(field, regularity, search=False)
    holder, velocity = _regularity_in_time(field, holder, velocity)
    allowance = default_allowance(field, allowance)
    if margin is not None:
        margin = nonnegative_float(margin, "margin")
    _refute_regularity(field, box, times, holder, velocity)
    pieces = _mesh_pieces(field, times, holder, velocity, allowance)
    plan = _flow_map_plan(field, box, pieces, cells, regularity, allowance, margin)
    if margin is not None and plan.block_part > margin:
        raise ValueError(f"margin={margin} is smaller than the block part {plan.block_part:.3g}")
    return plan


def _meshes(field, mesh):
    """``(makers, fixed)``: the functions ``blocks -> times`` to search for ``mesh`` (a name,
    ``"auto"`` for uniform and graded, or a callable), or none and the given array of times."""
    if callable(mesh):
        return [lambda n: check_partition(field, mesh(n))], None
    if isinstance(mesh, str):
        if mesh not in ("uniform", "graded", "auto"):
            raise ValueError(f"mesh must be 'uniform', 'graded', 'auto', a callable or an array "
                             f"of times, got {mesh!r}")
        names = ("uniform", "graded") if mesh == "auto" else (mesh,)
        return [lambda n, name=name: mesh_times(field, n, name) for name in names], None
    return [None], check_partition(field, as_times(mesh, "mesh"))


def plan_flow_map_resnet(field: VectorField, box, eps: float, mesh="uniform",
                         regularity: str | None = None, share=None, holder=None, velocity=None,
                         allowance: float | None = None) -> FlowMapPlan:
    """A cheapest certified flow-map plan with ``plan.bound <= eps`` (thm-flow-map).

    As :func:`~resnet_flows.plan.plan_flow_resnet`: for each share of ``eps`` the smallest ``N``
    whose chord part fits the partition's share, then the fewest cells whose block part fits
    the blocks' share; the plan with the fewest nonzero parameters wins.

    ``mesh``: ``"uniform"``, ``"graded"`` (equal ``int m`` per step), ``"auto"`` (both, the
    cheaper wins), a callable ``blocks -> times`` or an array of times. The chord part is
    ``M_k`` unless regularity in time is declared (lem-chord): ``holder = (alpha, C)``, the
    sup-norm Hoelder constant of ``f`` in time (default: the field's ``holder_exponent`` and
    ``holder_constant``), or ``velocity = (alpha, V)``, a Hoelder constant of the velocity
    ``t -> f(t, Phi(t, x))`` along the solutions from ``K``, a number or a callable ``V(a, b)``
    of the step ends (``inf`` where none is known). ``allowance``: the error trusted to each
    computed one-step value (None: :func:`default_allowance`).
    """
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    eps = positive_float(eps, "eps")
    box = as_box(box, "box", dim=field.dim)
    regularities = check_regularity(field, regularity, search=True)
    shares = resolve_shares(share)
    holder, velocity = _regularity_in_time(field, holder, velocity)
    allowance = default_allowance(field, allowance)
    makers, fixed = _meshes(field, mesh)

    def candidates():
        for times_of in makers:
            chord_max: dict[int, float] = {}

            def chord_part(n, times_of=times_of, chord_max=chord_max):
                if n not in chord_max:
                    times = times_of(n)
                    chord_max[n] = float(_chord_bounds(field, times, holder, velocity).max())
                return chord_max[n]

            start = 1
            for part in shares:
                if fixed is not None:
                    times = fixed
                else:
                    target = part.partition * eps
                    n_blocks = least_passing(lambda n, t=target: chord_part(n) <= t, start,
                                             limit=2**20)
                    if n_blocks is None:  # this share leaves too little for the chord part
                        continue
                    if share is None:  # the default shares increase, so the least N does too
                        start = n_blocks
                    times = times_of(n_blocks)
                pieces = _mesh_pieces(field, times, holder, velocity, allowance)
                for choice in regularities:
                    yield fewest_cells(
                        lambda cells, p=pieces, c=choice: _flow_map_plan(field, box, p, cells, c,
                                                                         allowance),
                        part.blocks * eps, eps)

    best = cheapest_plan(candidates())
    if best is not None:
        _refute_regularity(field, box, best.times, holder, velocity)
    if best is None:
        named = mesh if isinstance(mesh, str) else "the given times" if fixed is not None else \
            "the given mesh"
        raise ValueError(f"eps={eps} cannot be certified with flow-map blocks on {named}: the "
                         "chord part or the solver allowance exceeds it")
    return best
