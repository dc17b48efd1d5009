"""One pure function per theorem's bound; each docstring states the bound and cites its label.

Arrays follow the partition ``0 = t_0 < ... < t_N = T``: ``lip_integrals[k] = Lambda_k =
int_{I_k} L`` and ``sup_integrals[k] = M_k = int_{I_k} m``; error arrays have ``N + 1`` entries,
one per node ``t_k``.
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import nonnegative_array

__all__ = [
    "averaged_euler_error_exp", "averaged_euler_errors", "blockwise_inversion_error",
    "chord_error_bound", "cpwl_c2_error", "cpwl_cells_for_accuracy", "cpwl_lipschitz_error",
    "depth_lower_bound", "discrete_gronwall", "fixed_point_error", "flow_lipschitz",
    "flow_map_block_error", "flow_time_modulus", "graded_mesh_blocks", "graded_mesh_cells",
    "hessian_weight", "inverse_lipschitz", "inverse_resnet_lipschitz",
    "jacobian_determinant_bounds", "kuhn_interpolant_lipschitz", "neural_euler_error",
    "neural_ode_radius", "neural_ode_sup", "neural_ode_time_lipschitz", "one_sided_growth",
    "perturbed_euler_error_exp", "perturbed_euler_errors", "point_euler_errors",
    "point_euler_local_errors", "resnet_lipschitz", "space_time_error_bound",
]


def flow_lipschitz(lip_integral):
    """``|Phi(t, x) - Phi(t, y)| <= exp(int_0^t L) |x - y|`` (thm-well-posed, (i))."""
    return np.exp(nonnegative_array(lip_integral, "lip_integral"))


def flow_time_modulus(sup_integral):
    """``|Phi(t, x) - Phi(s, x)| <= |int_s^t m|`` (thm-well-posed, (ii))."""
    return np.abs(np.asarray(sup_integral, dtype=np.float64))


def neural_euler_error(m2: float, lip: float, horizon: float, step: float) -> float:
    """``max_k |x_k - Phi(t_k, x)| <= M_2 h (e^{L T} - 1) / (2 L)`` (prop-resnet-euler).

    ``M_2`` is a Lipschitz constant of ``t -> g(t, x(t))`` along the solution, ``L`` of
    ``g(t, .)``; for ``L = 0`` the limit ``M_2 h T / 2``.
    """
    m2, lip, horizon, step = (float(nonnegative_array(v, n)) for v, n in
                              ((m2, "m2"), (lip, "lip"), (horizon, "horizon"), (step, "step")))
    growth = horizon if lip == 0 else math.expm1(lip * horizon) / lip
    return 0.5 * m2 * step * growth


def neural_ode_radius(x0_norm, lip: float, beta: float, horizon: float):
    """``rho = (|x_0| + beta T) e^{L T}`` (prop-resnet-euler).

    For ``g(t, x) = A(t) relu(W(t) x + b(t))`` one has ``|g(t, x)| <= L |x| + beta`` with
    ``L >= sup_t ||A(t)|| ||W(t)||`` and ``beta >= sup_t ||A(t)|| |b(t)|``; by Gronwall the
    solution from ``x_0`` and every explicit Euler state (any step ``h``, ``N h <= T``) stay in
    the ball ``|x| <= rho``. Vectorised over ``x0_norm``.
    """
    x0_norm = nonnegative_array(x0_norm, "x0_norm")
    lip, beta, horizon = (float(nonnegative_array(v, n)) for v, n in
                          ((lip, "lip"), (beta, "beta"), (horizon, "horizon")))
    rho = (x0_norm + beta * horizon) * math.exp(lip * horizon)
    return float(rho) if rho.ndim == 0 else rho


def neural_ode_sup(radius, A: float, W: float, b: float, **_constants):
    """``sup_{t, |x| <= rho} |g(t, x)| <= A_max (W_max rho + b_max)`` (prop-resnet-euler).

    Extra keyword arguments (the other entries of ``NeuralODEField.constants()``) are ignored, so
    ``neural_ode_sup(rho, **field.constants())`` works.
    """
    radius = nonnegative_array(radius, "radius")
    A, W, b = (float(nonnegative_array(v, n)) for v, n in ((A, "A"), (W, "W"), (b, "b")))
    out = A * (W * radius + b)
    return float(out) if np.ndim(out) == 0 else out


def neural_ode_time_lipschitz(radius, A: float, W: float, b: float, A1: float, W1: float,
                              b1: float, L: float | None = None, **_constants):
    """Lipschitz constant ``M_2`` of ``t -> g(t, x(t))`` along a solution in ``|x| <= rho``.

    For ``g(t, x) = A(t) relu(W(t) x + b(t))`` with ``A(t) = A_0 + t A_1`` (likewise ``W, b``),
    ``sup_t ||A(t)|| <= A``, ``sup_t ||W(t)|| <= W``, ``sup_t |b(t)| <= b``
    (prop-resnet-euler):

    ``M_2 = [||A_1|| (W rho + b) + A (||W_1|| rho + |b_1|)] + L A (W rho + b)``,

    the time-Lipschitz constant of ``g(., x)`` on the ball plus ``L`` times the speed bound
    ``sup |g|``; ``L`` defaults to ``A W``. Keyword-compatible with
    ``neural_ode_time_lipschitz(rho, **field.constants())``.
    """
    radius = nonnegative_array(radius, "radius")
    A, W, b, A1, W1, b1 = (float(nonnegative_array(v, n)) for v, n in
                           ((A, "A"), (W, "W"), (b, "b"), (A1, "A1"), (W1, "W1"), (b1, "b1")))
    lip = A * W if L is None else float(nonnegative_array(L, "L"))
    speed = A * (W * radius + b)
    out = A1 * (W * radius + b) + A * (W1 * radius + b1) + lip * speed
    return float(out) if np.ndim(out) == 0 else out


def cpwl_lipschitz_error(lip: float, widths) -> float:
    """``||g - I_n g||_inf <= Lip(g) |h| / 2``, ``|h|`` the cell diagonal (thm-relu-approx)."""
    h = nonnegative_array(widths, "widths")
    return float(nonnegative_array(lip, "lip")) * 0.5 * float(np.linalg.norm(h))


def cpwl_c2_error(hess: float, widths) -> float:
    """``||g - I_n g||_inf <= H |h|^2 / 8`` for ``g in C^2`` (thm-relu-approx); ``d h^2 H / 8``
    on cubes."""
    h = nonnegative_array(widths, "widths")
    return float(nonnegative_array(hess, "hess")) * float(np.sum(h * h)) / 8.0


def cpwl_cells_for_accuracy(eps: float, box_widths, lip: float | None = None,
                            hess: float | None = None) -> int:
    """Fewest cells per axis ``n`` whose interpolation bound is ``<= eps`` (thm-relu-approx).

    With box side lengths ``W`` the widths are ``W / n``, so the Lipschitz bound
    ``Lip |W| / (2 n) <= eps`` needs ``n >= Lip |W| / (2 eps)`` (``= rho sqrt(d) Lip / eps`` on
    ``[-rho, rho]^d``) and the C^2 bound ``H |W|^2 / (8 n^2) <= eps`` needs
    ``n >= |W| sqrt(H / (8 eps))`` (``= rho sqrt(d H / (2 eps))``). Give exactly one of ``lip``
    and ``hess``.
    """
    eps = float(nonnegative_array(eps, "eps"))
    if eps <= 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    widths = np.asarray(nonnegative_array(box_widths, "box_widths"), dtype=np.float64).reshape(-1)
    if widths.size == 0 or np.any(widths <= 0):
        raise ValueError(f"box_widths must be positive side lengths, got {box_widths!r}")
    if (lip is None) == (hess is None):
        raise ValueError("give exactly one of lip and hess")
    diameter = float(np.linalg.norm(widths))
    if lip is not None:
        constant = float(nonnegative_array(lip, "lip"))
        cells = math.ceil(constant * diameter / (2 * eps))
        error = lambda n: cpwl_lipschitz_error(constant, widths / n)
    else:
        constant = float(nonnegative_array(hess, "hess"))
        cells = math.ceil(diameter * math.sqrt(constant / (8 * eps)))
        error = lambda n: cpwl_c2_error(constant, widths / n)
    cells = max(cells, 1)
    while error(cells) > eps:  # guards the rounding of the closed form
        cells += 1
    return cells


def discrete_gronwall(lip_integrals, local_errors) -> np.ndarray:
    """``e_0 = 0``, ``e_{k+1} = (1 + Lambda_k) e_k + r_k``, i.e.
    ``e_k = sum_{j<k} r_j prod_{j<i<k} (1 + Lambda_i)`` (lem-discrete-gronwall)."""
    lam = nonnegative_array(lip_integrals, "lip_integrals")
    r = nonnegative_array(local_errors, "local_errors")
    if lam.shape != r.shape or lam.ndim != 1:
        raise ValueError(f"lip_integrals and local_errors must be 1-D of one length, got "
                         f"{lam.shape} and {r.shape}")
    # e_k = P_k sum_{j<k} r_j / P_{j+1} with P_k = prod_{i<k} (1 + Lambda_i), in logarithms
    log_p = np.concatenate([[0.0], np.cumsum(np.log1p(lam))])
    scaled = np.concatenate([[0.0], np.cumsum(r * np.exp(-log_p[1:]))])
    return np.exp(log_p) * scaled


def one_sided_growth(lip_integrals, mu_integrals) -> np.ndarray:
    """``sqrt(1 + 2 mu_k + Lambda_k^2) - 1`` (at least 0). Passed to :func:`discrete_gronwall`
    in place of ``Lambda_k`` it keeps the recursions of thm-averaged-euler and thm-stability,
    because ``z -> z + F_k(z)`` is ``sqrt(1 + 2 mu_k + Lambda_k^2)``-Lipschitz when ``f`` has
    the one-sided Lipschitz bound ``mu``, ``mu_k = int_{I_k} mu`` (lem-one-sided)."""
    lam = nonnegative_array(lip_integrals, "lip_integrals")
    mu = np.asarray(mu_integrals, dtype=np.float64)
    if mu.shape != lam.shape or not np.all(np.isfinite(mu)):
        raise ValueError(f"mu_integrals must be finite with shape {lam.shape}, got {mu.shape}")
    return np.maximum(np.sqrt(np.maximum(1.0 + 2.0 * mu + lam * lam, 0.0)) - 1.0, 0.0)


def averaged_euler_errors(lip_integrals, sup_integrals) -> np.ndarray:
    """``|y_k - Phi(t_k, x)| <= sum_{j<k} Lambda_j M_j prod_{j<i<k} (1 + Lambda_i)``
    (thm-averaged-euler), for all ``k``."""
    lam = nonnegative_array(lip_integrals, "lip_integrals")
    return discrete_gronwall(lam, lam * nonnegative_array(sup_integrals, "sup_integrals"))


def averaged_euler_error_exp(lip_integrals, sup_integrals) -> np.ndarray:
    """The exponential form ``exp(sum_{j<k} Lambda_j) sum_{j<k} Lambda_j M_j``
    (thm-averaged-euler)."""
    lam = nonnegative_array(lip_integrals, "lip_integrals")
    local = lam * nonnegative_array(sup_integrals, "sup_integrals")
    cum = lambda v: np.concatenate([[0.0], np.cumsum(v)])
    return np.exp(cum(lam)) * cum(local)


def perturbed_euler_errors(lip_integrals, block_errors) -> np.ndarray:
    """``|x_k - y_k| <= sum_{j<k} delta_j prod_{j<i<k} (1 + Lambda_i)`` (thm-stability)."""
    return discrete_gronwall(lip_integrals, block_errors)


def perturbed_euler_error_exp(lip_integrals, block_errors) -> np.ndarray:
    """``exp(sum_{j<k} Lambda_j) sum_{j<k} delta_j`` (thm-stability)."""
    lam = nonnegative_array(lip_integrals, "lip_integrals")
    delta = nonnegative_array(block_errors, "block_errors")
    cum = lambda v: np.concatenate([[0.0], np.cumsum(v)])
    return np.exp(cum(lam)) * cum(delta)


def point_euler_local_errors(steps, sup_nodes, lip_nodes, holder_constant: float,
                             alpha: float) -> np.ndarray:
    """Local error of one point-evaluation Euler step along a solution ``x`` (thm-complexity):

    ``|int_{I_k} f(s, x(s)) ds - h_k f(t_k, x(t_k))| <= C h^{1+a} / (1+a)
    + L(t_k) (m(t_k) h^2 / 2 + C h^{2+a} / ((1+a)(2+a)))``

    for ``f`` alpha-Hoelder in time in the sup norm, ``||f(s, .) - f(t, .)||_inf <= C |s - t|^a``.
    Split ``f(s, x(s)) - f(t_k, x(t_k))`` at ``f(t_k, x(s))``: the first part is at most
    ``C (s - t_k)^a``; the second at most ``L(t_k) |x(s) - x(t_k)|`` with
    ``|x(s) - x(t_k)| <= int_{t_k}^s (m(t_k) + C (u - t_k)^a) du``; integrate over ``I_k``.
    ``steps[k] = h_k``, ``sup_nodes[k] = m(t_k)``, ``lip_nodes[k] = L(t_k)``.
    """
    h = nonnegative_array(steps, "steps")
    m = nonnegative_array(sup_nodes, "sup_nodes")
    lip = nonnegative_array(lip_nodes, "lip_nodes")
    if not (h.ndim == 1 and h.shape == m.shape == lip.shape):
        raise ValueError(f"steps, sup_nodes and lip_nodes must be 1-D of one length, got "
                         f"{h.shape}, {m.shape} and {lip.shape}")
    c = float(nonnegative_array(holder_constant, "holder_constant"))
    a = float(alpha)
    if not 0 < a <= 1:
        raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
    return (c * h ** (1 + a) / (1 + a)
            + lip * (m * h * h / 2 + c * h ** (2 + a) / ((1 + a) * (2 + a))))


def point_euler_errors(steps, sup_nodes, lip_nodes, holder_constant: float,
                       alpha: float) -> np.ndarray:
    """``|z_k - Phi(t_k, x)| <= e_k`` for point-evaluation Euler ``z_{k+1} = z_k + h_k f(t_k, z_k)``
    (thm-complexity): the discrete Gronwall recursion ``e_{k+1} = (1 + h_k L(t_k)) e_k + r_k``
    with the local errors ``r_k`` of :func:`point_euler_local_errors`. For uniform steps and
    bounded ``m, L`` it is ``<= e^{L T} T (C h^a / (1+a) + L m h / 2 + ...)``: order ``h^a``."""
    h = nonnegative_array(steps, "steps")
    lip = nonnegative_array(lip_nodes, "lip_nodes")
    local = point_euler_local_errors(h, sup_nodes, lip, holder_constant, alpha)
    return discrete_gronwall(h * lip, local)


def space_time_error_bound(node_errors, sup_integrals) -> float:
    """``sup_{t in I_k} |X(t) - Phi(t)| <= max(e_k, e_{k+1}) + M_k``, maximised over ``k``
    (thm-main): the interpolant is a convex combination of node states, the flow moves by at
    most ``M_k`` inside ``I_k``."""
    e = nonnegative_array(node_errors, "node_errors")
    m = nonnegative_array(sup_integrals, "sup_integrals")
    if e.size != m.size + 1:
        raise ValueError("node_errors must have one more entry than sup_integrals")
    return float(np.max(np.maximum(e[:-1], e[1:]) + m))


def kuhn_interpolant_lipschitz(lip: float, dim: int) -> float:
    """``Lip(I_n g) <= sqrt(d) Lip(g)`` for the Kuhn interpolant (thm-invertible)."""
    return math.sqrt(dim) * float(nonnegative_array(lip, "lip"))


def inverse_lipschitz(q):
    """``x -> x + R(x)`` with ``Lip R <= q < 1`` has an inverse with Lipschitz constant
    ``<= 1 / (1 - q)`` (thm-invertible)."""
    q = nonnegative_array(q, "q")
    if np.any(q >= 1):
        raise ValueError("q must be < 1")
    return 1.0 / (1.0 - q)


def fixed_point_error(q, iterations, first_step):
    """``|z_j - z*| <= q^j / (1 - q) |z_1 - z_0|`` for ``z <- y - R(z)`` (thm-invertible)."""
    q = nonnegative_array(q, "q")
    if np.any(q >= 1):
        raise ValueError("q must be < 1")
    return q ** np.asarray(iterations) / (1.0 - q) * nonnegative_array(first_step, "first_step")


def _contraction_constants(q):
    q = nonnegative_array(q, "q")
    if q.ndim != 1 or q.size == 0:
        raise ValueError(f"q must be a nonempty 1-D array (one constant per block), got {q.shape}")
    if np.any(q >= 1):
        raise ValueError("q must be < 1")
    return q


def resnet_lipschitz(q) -> float:
    """``Lip(x -> x_N) <= prod_k (1 + q_k)`` for a ResNet with ``Lip R_k <= q_k``
    (thm-invertible)."""
    return float(np.prod(1.0 + _contraction_constants(q)))


def inverse_resnet_lipschitz(q) -> float:
    """The inverse of a ResNet with ``Lip R_k <= q_k < 1`` has Lipschitz constant
    ``<= prod_k 1 / (1 - q_k)`` (thm-invertible)."""
    return float(np.prod(1.0 / (1.0 - _contraction_constants(q))))


def blockwise_inversion_error(q, block_errors) -> np.ndarray:
    """Error of inverting a ResNet block by block, last block first (thm-invertible).

    If the computed ``w_k`` misses the exact preimage of the computed ``w_{k+1}`` under block
    ``k`` by ``eta_k = block_errors[k]``, then ``e_k = |w_k - Psi^{-1}_{k..N-1}(y)|`` obeys
    ``e_k <= eta_k + e_{k+1} / (1 - q_k)``, ``e_N = 0``, so
    ``e_0 <= sum_k eta_k prod_{i<k} 1 / (1 - q_i)``. ``block_errors`` has shape ``(N,)`` or
    ``(N, n)`` (per point); returns a scalar or shape ``(n,)``.
    """
    q = _contraction_constants(q)
    eta = nonnegative_array(block_errors, "block_errors")
    if eta.shape[:1] != q.shape:
        raise ValueError(f"block_errors must have {q.size} rows (one per block), got {eta.shape}")
    growth = np.concatenate([[1.0], np.cumprod(1.0 / (1.0 - q))[:-1]])
    return np.tensordot(growth, eta, axes=(0, 0))


def jacobian_determinant_bounds(q, dim: int) -> tuple[float, float]:
    """``prod_k (1 - q_k)^d <= det D(x -> x_N) <= prod_k (1 + q_k)^d`` wherever the ResNet with
    ``Lip R_k <= q_k < 1`` is differentiable (thm-invertible): every singular value of
    ``I + DR_k`` lies in ``[1 - q_k, 1 + q_k]`` and ``det(I + t DR_k) != 0`` for ``t`` in
    ``[0, 1]``, so the determinant is positive."""
    q = _contraction_constants(q)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    return float(np.prod((1.0 - q) ** dim)), float(np.prod((1.0 + q) ** dim))


# --- thm-graded-count: averaged blocks on a graded mesh, every f in L^1(I; C_b^{0,1}) ---------


def graded_mesh_blocks(sup_total: float, lip_total: float, eps_partition: float,
                       gap_mass: float = 0.0) -> int:
    """``N = ceil(int m e^{int L} / (eps_1 - 2 u e^{int L}))``.

    With binary64 nodes every ``M_k`` may exceed ``int m / N`` by the masses ``u`` of two float
    gaps (``gap_mass``, 0 in exact arithmetic; lem-float-floor); ``ValueError`` when
    ``eps_1 <= 2 u e^{int L}``: no floating-point graded mesh is then guaranteed to reach it.
    On a mesh with ``M_k <= int m / N + 2 u`` the Euler and time-interpolation parts of thm-main
    sum to at most ``(int m / N + 2 u) e^{int L}`` (the Groenwall sum telescopes to
    ``prod (1 + Lambda_i) - 1 <= e^{int L} - 1``), so this ``N`` makes them ``<= eps_1``
    (thm-graded-count).
    """
    total = float(nonnegative_array(sup_total, "sup_total"))
    growth = _exp_of_total(lip_total)
    eps = float(nonnegative_array(eps_partition, "eps_partition"))
    if eps <= 0:
        raise ValueError(f"eps_partition must be > 0, got {eps_partition!r}")
    room = eps - 2.0 * float(nonnegative_array(gap_mass, "gap_mass")) * growth
    if room <= 0:
        raise ValueError(f"eps_partition={eps:.3g} is below the floating-point floor "
                         f"2 u e^(int L) = {eps - room:.3g} of graded meshes")
    return max(1, math.ceil(total * growth / room))


def graded_mesh_cells(box_widths, eps_blocks: float, lip_total: float,
                      hess_weight: float | None = None) -> int:
    """Cells per axis of thm-graded-count: with the block box's side lengths ``W`` (``K``'s box
    grown by ``int m + eps_2`` on every side), ``n = ceil(|W| (e^{int L} - 1) / (2 eps_2))``
    (Lipschitz blocks, ``delta_k = Lambda_k |h| / 2``: the Groenwall sum telescopes) or, given
    ``hess_weight`` ``G_H >= sum_k H_k prod_{k<i} (1 + Lambda_i)`` (:func:`hessian_weight`),
    ``n = ceil(|W| sqrt(G_H / (8 eps_2)))`` (C^2 blocks). Either makes ``max_k P_k <= eps_2``
    (thm-graded-count).
    """
    widths = np.asarray(nonnegative_array(box_widths, "box_widths"), dtype=np.float64).reshape(-1)
    if widths.size == 0 or np.any(widths <= 0):
        raise ValueError(f"box_widths must be positive side lengths, got {box_widths!r}")
    eps = float(nonnegative_array(eps_blocks, "eps_blocks"))
    if eps <= 0:
        raise ValueError(f"eps_blocks must be > 0, got {eps_blocks!r}")
    diameter = float(np.linalg.norm(widths))
    if hess_weight is None:
        cells = diameter * (_exp_of_total(lip_total) - 1.0) / (2.0 * eps)
    else:
        cells = diameter * math.sqrt(float(nonnegative_array(hess_weight, "hess_weight")) / (8 * eps))
    return max(1, math.ceil(cells))


def _exp_of_total(lip_total) -> float:
    """``e^{int L}``; ``ValueError`` naming ``lip_total`` where it overflows a float."""
    lip = float(nonnegative_array(lip_total, "lip_total"))
    if lip > 700:
        raise ValueError(f"lip_total={lip:.3g} is too large: e^(int L) overflows")
    return math.exp(lip)


def hessian_weight(hess_integrals, lip_integrals) -> float:
    """``G_H = int_0^T H(s) exp(int_s^T L) ds`` from above: the sum over any partition of
    ``H_k exp(sum_{i >= k} Lambda_i)`` (``H_k = int_{I_k} H``). It bounds the C^2 block sum
    ``sum_j H_j prod_{j<i<k} (1 + Lambda_i)`` of every partition, and ``G_H <= e^{int L} int H``
    (thm-graded-count)."""
    hess = nonnegative_array(hess_integrals, "hess_integrals")
    lam = nonnegative_array(lip_integrals, "lip_integrals")
    if hess.shape != lam.shape or hess.ndim != 1:
        raise ValueError(f"hess_integrals and lip_integrals must be 1-D of one length, got "
                         f"{hess.shape} and {lam.shape}")
    tail = np.cumsum(lam[::-1])[::-1]  # sum_{i >= k} Lambda_i
    if tail.size and tail[0] > 700:
        raise ValueError(f"lip_integrals sum to {tail[0]:.3g}: e^(int L) overflows")
    return float(np.sum(hess * np.exp(tail)))


# -- depth: what every ResNet needs and what flow-map blocks achieve (chapter 11) ---------------
SECOND_DIFFERENCE = (1.0, -2.0, 1.0)


def depth_lower_bound(samples, weights=SECOND_DIFFERENCE, node_errors=None, reduce: bool = True):
    """A lower bound on ``sup_t |X(t, x) - Phi(t, x)|`` for every ResNet (thm-depth-lower).

    ``samples[..., i, :] = Phi(s_i, x)`` at ``p + 1`` equally spaced times ``s_0 < ... < s_p``
    inside one step ``I_k`` (leading axes: steps, points). ``X(., x)`` is affine on ``I_k``
    whatever the blocks, and ``sum_i w_i a(s_i) = 0`` for every affine ``a`` when the weights
    satisfy ``sum_i w_i = sum_i i w_i = 0``, so ``|sum_i w_i Phi(s_i)| = |sum_i w_i (Phi - X)(s_i)|
    <= sum_i |w_i| sup_{I_k} |X - Phi|`` (lem-affine-duality). Returns the largest
    ``|sum_i w_i Phi(s_i, x)| / sum_i |w_i|``: with the default weights ``(1, -2, 1)`` the
    midpoint second difference over 4.

    ``node_errors[..., :] = (e_k, e_{k+1})``, the ResNet's errors at the ends of the step (only
    with the default weights and ``s_0 = t_k``, ``s_2 = t_{k+1}``), give the sharper
    ``max(e_k, e_{k+1}, |Phi_k + Phi_{k+1} - 2 Phi(c_k)| / 2 - (e_k + e_{k+1}) / 2)``: the
    interpolant's midpoint is the mean of its node states. ``reduce=False`` returns the bound
    per leading index (step, point) instead of the largest (thm-depth-lower).
    """
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.size < 3 or not np.all(np.isfinite(w)):
        raise ValueError(f"weights must hold >= 3 finite numbers, got {weights!r}")
    scale = float(np.abs(w).sum())
    moments = abs(w.sum()), abs(np.arange(w.size) @ w) / w.size
    if scale == 0 or max(moments) > 1e-12 * scale:
        raise ValueError("weights must annihilate affine functions: sum w_i = sum i w_i = 0")
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim < 2 or x.shape[-2] != w.size or not np.all(np.isfinite(x)):
        raise ValueError(f"samples must be finite with shape (..., {w.size}, d), got {x.shape}")
    size = np.linalg.norm(np.tensordot(x, w, axes=([-2], [0])), axis=-1)
    if node_errors is None:
        out = size / scale
        return out if not reduce else float(np.max(out, initial=0.0))
    if w.size != 3 or not np.allclose(w / w[0], SECOND_DIFFERENCE):
        raise ValueError("node_errors need the default weights (1, -2, 1) over a whole step")
    e = nonnegative_array(node_errors, "node_errors")
    if e.shape != (*size.shape, 2):
        raise ValueError(f"node_errors must have shape {(*size.shape, 2)}, got {e.shape}")
    mean = e.mean(axis=-1)
    second = size / abs(w[0])  # |Phi_k + Phi_{k+1} - 2 Phi(c_k)|
    out = np.maximum(e.max(axis=-1), second / 2 - mean)
    return out if not reduce else float(np.max(out, initial=0.0))


def chord_error_bound(steps, sup_integrals, holder_constant=math.inf, alpha: float = 1.0,
                      lip_integrals=None) -> np.ndarray:
    """``sup_{t in I_k} |C_k(t) - Phi(t, x)| <= c_k`` for the chord ``C_k`` through the exact
    states ``Phi(t_k, x)``, ``Phi(t_{k+1}, x)`` (lem-chord), per step:

    ``c_k = min(M_k, (V h_k^{1+a} / (1 + a) + Lambda_k M_k) / 4)``.

    With ``lip_integrals`` omitted, ``V = holder_constant`` bounds the ``a``-Hoelder constant of
    the velocity ``t -> f(t, Phi(t, x))`` on ``I_k`` (sharp: ``V h^2 / 8`` for ``a = 1``). With
    ``lip_integrals`` (``Lambda_k``) given, ``V`` is the sup-norm Hoelder constant of ``f`` in
    time, ``||f(s, .) - f(t, .)||_inf <= V |s - t|^a``, and ``Lambda_k M_k`` pays for the motion
    of the state inside the step. ``holder_constant`` may be one number or one per step; ``inf``
    (the default) leaves ``M_k``, which needs no regularity in time.
    """
    h = nonnegative_array(steps, "steps")
    m = nonnegative_array(sup_integrals, "sup_integrals")
    if h.ndim != 1 or h.shape != m.shape:
        raise ValueError(f"steps and sup_integrals must be 1-D of one length, got {h.shape} and "
                         f"{m.shape}")
    a = float(alpha)
    if not 0 < a <= 1:
        raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
    v = np.asarray(holder_constant, dtype=np.float64)
    if np.any(np.isnan(v)) or np.any(v < 0) or v.ndim > 1 or (v.ndim == 1 and v.shape != h.shape):
        raise ValueError(f"holder_constant must be >= 0 (one number or one per step), got "
                         f"{holder_constant!r}")
    moving = 0.0
    if lip_integrals is not None:
        lam = nonnegative_array(lip_integrals, "lip_integrals")
        if lam.shape != h.shape:
            raise ValueError(f"lip_integrals must have shape {h.shape}, got {lam.shape}")
        moving = lam * m
    with np.errstate(invalid="ignore"):  # inf * 0 for a step of length 0
        smooth = np.where(np.isinf(v), np.inf, (v * h ** (1 + a) / (1 + a) + moving) / 4)
    return np.minimum(m, smooth)


def flow_map_block_error(lip_integrals, widths, hess_integrals=None,
                         allowance: float = 0.0) -> np.ndarray:
    """``sup_B |R_k - (Phi_k - id)| <= delta_k`` for the Kuhn interpolant ``R_k`` of the one-step
    map ``Phi_k = Phi(t_{k+1}; t_k, .)`` minus the identity (lem-flow-map-block), per step:

    ``delta_k = (e^{Lambda_k} - 1) |h| / 2 + sigma`` (Lipschitz), or
    ``delta_k = e^{2 Lambda_k} (int_{I_k} H) |h|^2 / 8 + sigma`` (``C^2``),

    ``|h|`` the cell diagonal, ``sigma = allowance`` the error of the computed nodal values.
    ``Lip(Phi_k - id) <= e^{Lambda_k} - 1`` and ``|D^2 Phi_k[u, u]| <= e^{2 Lambda_k} int H``
    from the variational equations; thm-relu-approx does the rest (lem-flow-map-block).
    """
    lam = nonnegative_array(lip_integrals, "lip_integrals")
    h = nonnegative_array(widths, "widths")
    sigma = float(nonnegative_array(allowance, "allowance"))
    if hess_integrals is None:
        return np.expm1(lam) * 0.5 * float(np.linalg.norm(h)) + sigma
    hess = nonnegative_array(hess_integrals, "hess_integrals")
    if hess.shape != lam.shape:
        raise ValueError(f"hess_integrals must have shape {lam.shape}, got {hess.shape}")
    return np.exp(2.0 * lam) * hess * float(np.sum(h * h)) / 8.0 + sigma
