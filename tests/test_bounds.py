"""resnet_flows.bounds: every theorem's bound against its formula, a recursion or an example
where it is attained (so that a constant half as large fails), and bad input."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import resnet_flows as rf
from resnet_flows import bounds, fields, reference_flow
from resnet_flows.resnet import euler_resnet


def test_radius_formula_and_vectorised():
    assert bounds.neural_ode_radius(1.0, 2.0, 0.5, 1.5) == pytest.approx(1.75 * math.exp(3.0))
    out = bounds.neural_ode_radius(np.array([0.0, 1.0]), 0.0, 1.0, 2.0)
    np.testing.assert_allclose(out, [2.0, 3.0])


def test_time_lipschitz_formula_and_constants_dict():
    m2 = bounds.neural_ode_time_lipschitz(2.0, A=1.0, W=2.0, b=0.5, A1=0.25, W1=0.5, b1=0.1)
    speed = 1.0 * (2.0 * 2.0 + 0.5)
    assert m2 == pytest.approx(0.25 * 4.5 + 1.0 * (0.5 * 2.0 + 0.1) + 2.0 * speed)
    field = fields.random_neural_field(2, 5, seed=1)
    c = field.constants()
    assert bounds.neural_ode_sup(3.0, **c) == pytest.approx(c["A"] * (c["W"] * 3.0 + c["b"]))
    assert bounds.neural_ode_time_lipschitz(3.0, **c) > bounds.neural_ode_sup(3.0, **c) * c["L"]


@pytest.mark.parametrize("call", [
    lambda: bounds.neural_ode_radius(-1.0, 1.0, 1.0, 1.0),
    lambda: bounds.neural_ode_radius(1.0, float("nan"), 1.0, 1.0),
    lambda: bounds.neural_ode_radius(1.0, 1.0, -0.1, 1.0),
    lambda: bounds.neural_ode_time_lipschitz(-2.0, 1, 1, 1, 1, 1, 1),
    lambda: bounds.neural_ode_time_lipschitz(2.0, 1, 1, 1, -1, 1, 1),
    lambda: bounds.neural_ode_time_lipschitz(2.0, 1, 1, 1, 1, 1, 1, L=-1.0),
    lambda: bounds.neural_ode_sup(1.0, A=1.0, W=float("inf"), b=0.0),
])
def test_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()


def test_bounds_hold_for_a_random_neural_ode():
    field = fields.random_neural_field(2, 6, seed=4, scale=0.6)
    c = field.constants()
    x0 = np.random.default_rng(0).uniform(-1, 1, (40, 2))
    rho = bounds.neural_ode_radius(np.linalg.norm(x0, axis=1).max(), c["L"], c["beta"], 1.0)
    times = np.linspace(0.0, 1.0, 33)
    ref = reference_flow(field, x0, times)
    states = euler_resnet(field, times).trajectory(x0)
    assert np.linalg.norm(ref, axis=-1).max() <= rho
    assert np.linalg.norm(states, axis=-1).max() <= rho
    err = np.linalg.norm(states - ref, axis=-1).max()
    m2 = bounds.neural_ode_time_lipschitz(rho, **c)
    assert 0 < err <= bounds.neural_euler_error(m2, c["L"], 1.0, 1 / 32)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), blocks=st.integers(2, 40))
def test_averaged_and_perturbed_euler_bounds_hold_on_random_fields(seed, blocks):
    rng = np.random.default_rng(seed)
    omega = rng.uniform(0.2, 3.0)
    field = fields.switching(
        [fields.cutoff_rotation(omega, rng.uniform(0.5, 2), rng.uniform(-1, 1, 2)),
         fields.constant_drift(rng.uniform(-1, 1, 2))],
        [rng.uniform(0.2, 0.8)], 1.0)
    times = np.sort(np.concatenate([[0.0, 1.0], rng.uniform(0, 1, blocks - 1)]))
    x = rng.uniform(-1, 1, (50, 2))
    exact = rf.reference_flow(field, x, times)
    y = [x]
    deltas = rng.uniform(0, 0.01, blocks)
    z = [x]
    direction = rng.normal(size=2)
    direction /= np.linalg.norm(direction)
    for k, (a, b) in enumerate(itertools.pairwise(times)):
        y.append(y[-1] + field.average(a, b, y[-1]))
        z.append(z[-1] + field.average(a, b, z[-1]) + deltas[k] * np.tanh(z[-1][:, :1]) * direction)
    lam = field.lip_integral(times[:-1], times[1:])
    m = field.sup_integral(times[:-1], times[1:])
    euler = np.linalg.norm(np.stack(y) - exact, axis=-1).max(axis=1)
    assert np.all(euler <= bounds.averaged_euler_errors(lam, m) + 1e-11)
    assert np.all(bounds.averaged_euler_errors(lam, m)
                  <= bounds.averaged_euler_error_exp(lam, m) * (1 + 1e-12))
    perturbed = np.linalg.norm(np.stack(z) - np.stack(y), axis=-1).max(axis=1)
    assert np.all(perturbed <= bounds.perturbed_euler_errors(lam, deltas) + 1e-13)


def test_discrete_gronwall_matches_its_recursion():
    rng = np.random.default_rng(0)
    lam, r = rng.random(30), rng.random(30)
    e = [0.0]
    for k in range(30):
        e.append((1 + lam[k]) * e[-1] + r[k])
    assert np.allclose(bounds.discrete_gronwall(lam, r), e, rtol=1e-13)


def test_neural_euler_bound_limit_at_zero_lipschitz():
    assert bounds.neural_euler_error(2.0, 0.0, 1.0, 0.1) == pytest.approx(0.1)
    assert bounds.neural_euler_error(2.0, 1e-9, 1.0, 0.1) == pytest.approx(0.1, rel=1e-6)


def test_resnet_bounds():
    q = np.array([0.1, 0.2, 0.5])
    assert bounds.resnet_lipschitz(q) == pytest.approx(1.1 * 1.2 * 1.5)
    assert bounds.inverse_resnet_lipschitz(q) == pytest.approx(1 / (0.9 * 0.8 * 0.5))
    lo, hi = bounds.jacobian_determinant_bounds(q, 2)
    assert lo == pytest.approx((0.9 * 0.8 * 0.5) ** 2) and hi == pytest.approx((1.1 * 1.2 * 1.5) ** 2)
    eta = np.array([1.0, 1.0, 1.0])
    assert bounds.blockwise_inversion_error(q, eta) == pytest.approx(1 + 1 / 0.9 + 1 / 0.72)
    per_point = bounds.blockwise_inversion_error(q, np.ones((3, 4)))
    assert per_point.shape == (4,)
    for bad in ([1.0], [-0.1], [[0.1]], []):
        with pytest.raises(ValueError, match="q"):
            bounds.inverse_resnet_lipschitz(bad)
    with pytest.raises(ValueError, match="block_errors"):
        bounds.blockwise_inversion_error(q, np.ones(2))
    with pytest.raises(ValueError, match="dim"):
        bounds.jacobian_determinant_bounds(q, 0)


def test_cells_for_accuracy():
    rho, d, lip, hess, eps = 1.5, 3, 2.0, 5.0, 1e-2
    widths = np.full(d, 2 * rho)
    n = bounds.cpwl_cells_for_accuracy(eps, widths, lip=lip)
    assert n == math.ceil(rho * math.sqrt(d) * lip / eps) or n == math.ceil(
        rho * math.sqrt(d) * lip / eps) + 1
    assert bounds.cpwl_lipschitz_error(lip, widths / n) <= eps
    assert bounds.cpwl_lipschitz_error(lip, widths / (n - 1)) > eps
    m = bounds.cpwl_cells_for_accuracy(eps, widths, hess=hess)
    assert bounds.cpwl_c2_error(hess, widths / m) <= eps < bounds.cpwl_c2_error(hess,
                                                                                widths / (m - 1))
    with pytest.raises(ValueError, match="exactly one"):
        bounds.cpwl_cells_for_accuracy(eps, widths)
    with pytest.raises(ValueError, match="eps"):
        bounds.cpwl_cells_for_accuracy(0.0, widths, lip=1.0)


def test_space_time_error_bound_is_attained_by_a_drift():
    """x' = e_1 from x: Euler is exact at the nodes (e = 0), and a ResNet that stays at x_k on
    I_k until the node misses the flow by M_k at the end: the bound max(e_k, e_k+1) + M_k is
    attained, so a bound half as large would fail."""
    m = np.array([0.25, 0.5, 0.25])
    assert bounds.space_time_error_bound(np.zeros(4), m) == 0.5
    assert bounds.space_time_error_bound([0.0, 0.1, 0.3, 0.2], m) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="node_errors"):
        bounds.space_time_error_bound(np.zeros(3), m)


def test_exponential_forms_dominate_the_products():
    rng = np.random.default_rng(3)
    lam, m = rng.uniform(0, 0.3, 12), rng.uniform(0, 0.2, 12)
    assert np.all(bounds.averaged_euler_error_exp(lam, m)
                  >= bounds.averaged_euler_errors(lam, m) * (1 - 1e-14))
    assert np.all(bounds.perturbed_euler_error_exp(lam, m)
                  >= bounds.perturbed_euler_errors(lam, m) * (1 - 1e-14))


def test_contraction_bounds_are_attained_by_scalings():
    """R(x) = -q x: x + R(x) = (1 - q) x, inverse Lipschitz 1 / (1 - q) and determinant
    (1 - q)^d exactly; R(x) = q x gives the upper ends."""
    q = np.array([0.2, 0.5])
    assert bounds.inverse_resnet_lipschitz(q) == pytest.approx(1 / (0.8 * 0.5))
    assert bounds.resnet_lipschitz(q) == pytest.approx(1.2 * 1.5)
    assert bounds.jacobian_determinant_bounds(q, 2) == pytest.approx((0.64 * 0.25, 1.44 * 2.25))
    assert bounds.inverse_lipschitz(0.5) == pytest.approx(2.0)
    # Banach for z <- y - R(z) with R(z) = -q z: z_j - z* = q^j (z_0 - z*) exactly
    y, qq = 1.0, 0.5
    z_star, z0 = y / (1 - qq), y
    z1 = y + qq * z0
    err = [abs(y * sum(qq**i for i in range(j + 1)) - z_star) for j in range(1, 6)]
    assert np.all(np.array(err) <= bounds.fixed_point_error(qq, np.arange(1, 6), abs(z1 - z0)))


def test_flow_bounds_are_attained_by_linear_fields():
    """x' = L x: |Phi(t, x) - Phi(t, y)| = e^{L t} |x - y| and |Phi(t) - Phi(s)| ~ int m."""
    assert bounds.flow_lipschitz(0.7) == pytest.approx(math.exp(0.7))
    np.testing.assert_allclose(bounds.flow_time_modulus([-0.2, 0.3]), [0.2, 0.3])


def test_graded_mesh_blocks_telescopes_the_groenwall_sum():
    """Defect: e^{int L} replaced by e^{int L} - 1 (dropping the interpolation part) or the gap
    mass ignored. With M_k = M / N the Euler sum is exactly (M / N)(prod(1 + Lambda_i) - 1)."""
    rng = np.random.default_rng(4)
    lam = rng.uniform(0, 0.02, 50)
    m = np.full(50, 0.3 / 50)
    euler = bounds.averaged_euler_errors(lam, m).max()
    assert euler == pytest.approx(0.3 / 50 * (np.prod(1 + lam) - 1))
    n = bounds.graded_mesh_blocks(0.3, lam.sum(), 0.05)
    assert n == math.ceil(0.3 * math.exp(lam.sum()) / 0.05)
    assert 0.3 * math.exp(lam.sum()) / n <= 0.05 < 0.3 * math.exp(lam.sum()) / (n - 1)
    assert bounds.graded_mesh_blocks(0.3, lam.sum(), 0.05, gap_mass=0.001) > n
    with pytest.raises(ValueError, match="floor"):
        bounds.graded_mesh_blocks(0.3, 1.0, 0.05, gap_mass=0.01)
    with pytest.raises(ValueError, match="eps_partition"):
        bounds.graded_mesh_blocks(0.3, 1.0, 0.0)
    with pytest.raises(ValueError, match="lip_total"):
        bounds.graded_mesh_blocks(0.3, -1.0, 0.1)


def test_graded_mesh_cells_meets_the_block_share_with_the_fewest_cells():
    widths = np.array([4.0, 4.0])
    n = bounds.graded_mesh_cells(widths, 0.05, 1.0)
    block = lambda c: 0.5 * np.linalg.norm(widths) / c * math.expm1(1.0)
    assert block(n) <= 0.05 < block(n - 1)
    n2 = bounds.graded_mesh_cells(widths, 0.05, 1.0, hess_weight=2.0)
    block2 = lambda c: (np.linalg.norm(widths) / c) ** 2 / 8 * 2.0
    assert block2(n2) <= 0.05 < block2(n2 - 1)
    with pytest.raises(ValueError, match="box_widths"):
        bounds.graded_mesh_cells([0.0, 1.0], 0.05, 1.0)
    with pytest.raises(ValueError, match="eps_blocks"):
        bounds.graded_mesh_cells(widths, -0.05, 1.0)


def test_hessian_weight_bounds_every_partitions_block_sum():
    """G_H from above on a fine partition: it bounds the C^2 block sum of coarser partitions
    (the sum the planner computes) and lies below e^{int L} int H."""
    field = fields.singular_rotation()
    fine = rf.mesh_times(field, 2048, "graded")
    weight = bounds.hessian_weight(field.hess_integral(fine[:-1], fine[1:]),
                                   field.lip_integral(fine[:-1], fine[1:]))
    for n in (4, 16, 64):
        t = rf.mesh_times(field, n, "graded")
        lam, hess = field.lip_integral(t[:-1], t[1:]), field.hess_integral(t[:-1], t[1:])
        assert bounds.discrete_gronwall(lam, hess).max() <= weight
    total_l, total_h = field.lip_integral(0, 1), field.hess_integral(0, 1)
    assert weight <= math.exp(total_l) * total_h
    # H = kappa L here, so G_H = kappa (e^{int L} - 1), approached from above
    assert weight == pytest.approx(total_h / total_l * math.expm1(total_l), rel=2e-3)
    with pytest.raises(ValueError, match="one length"):
        bounds.hessian_weight([1.0, 2.0], [1.0])


@pytest.mark.parametrize("call", [
    lambda: bounds.graded_mesh_blocks(1.0, 1e4, 0.1),
    lambda: bounds.graded_mesh_cells([1.0, 1.0], 0.1, 1e4),
    lambda: bounds.hessian_weight([1.0, 1.0], [500.0, 500.0]),
])
def test_graded_counts_refuse_an_overflowing_groenwall_factor_by_name(call):
    """Defect: math.exp(1e4) raised OverflowError (or numpy returned inf) instead of a
    ValueError naming the parameter."""
    with pytest.raises(ValueError, match="lip_"):
        call()
