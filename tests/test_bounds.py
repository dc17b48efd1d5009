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

# -- depth (chapter 11): thm-depth-lower, lem-chord, lem-flow-map-block ------------------------
def _arc(angles, radius=1.0):
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=-1)


def test_depth_lower_bound_is_attained_by_the_best_affine_maps():
    """The parabola t^2 / 2 on [0, 1]: its best affine approximation misses by exactly 1/16, the
    bound kappa h^2 / 16; a circle arc of half-angle a: the affine map ((1 + cos a) / 2, s sin a)
    misses by exactly (1 - cos a) / 2, which is |second difference| / 4. A doubled bound fails."""
    s = np.linspace(0.0, 1.0, 20001)
    parabola = np.stack([s, s * s / 2], axis=-1)
    samples = parabola[[0, 10000, 20000]][None]
    assert bounds.depth_lower_bound(samples) == pytest.approx(1 / 16, rel=1e-12)
    best = np.abs(s * s / 2 - (s / 2 - 1 / 16)).max()  # the equioscillating affine map
    assert best == pytest.approx(1 / 16, rel=1e-12)
    for a in (0.05, 0.4, 1.2):
        u = np.linspace(-1.0, 1.0, 20001)
        arc = _arc(a * u)
        affine = np.stack([np.full_like(u, (1 + np.cos(a)) / 2), u * np.sin(a)], axis=-1)
        miss = np.linalg.norm(arc - affine, axis=-1).max()
        bound = bounds.depth_lower_bound(arc[[0, 10000, 20000]][None])
        assert bound == pytest.approx((1 - np.cos(a)) / 2, rel=1e-12)
        assert miss == pytest.approx(bound, rel=1e-9)
        assert miss < 2 * bound


def test_depth_lower_bound_with_node_errors_is_the_chord_for_exact_nodes():
    """Exact nodes (e = 0): the interpolant is the chord, whose midpoint error |D^2| / 2 is the
    sharper bound, twice the plain one; large node errors make it max(e_k, e_k+1)."""
    a = 0.3
    samples = _arc(np.array([-a, 0.0, a]))[None]
    chord = 1 - np.cos(a)
    refined = bounds.depth_lower_bound(samples, node_errors=np.zeros((1, 2)))
    assert refined == pytest.approx(chord, rel=1e-12)
    assert refined == pytest.approx(2 * bounds.depth_lower_bound(samples), rel=1e-12)
    assert bounds.depth_lower_bound(samples, node_errors=[[0.0, 5.0]]) == 5.0
    per_step = bounds.depth_lower_bound(np.stack([samples[0], 2 * samples[0]]), reduce=False)
    np.testing.assert_allclose(per_step, [chord / 2, chord])


def test_depth_lower_bound_five_points_on_takagi_primitive():
    """On every dyadic interval of length 2^-m the five-point weights (-1, 2, 0, -2, 1) take the
    value delta^(1 + a) / 8 on the primitive of the Takagi function (prop in chapter 11)."""
    from resnet_flows import rough

    for alpha in (0.5, 0.25):
        m = 6
        delta = 2.0**-m
        q = np.arange(2**m)[:, None] * delta + delta * np.arange(5) / 4
        primitive = rough.takagi_primitive(q, alpha)
        samples = np.stack([q, primitive], axis=-1)  # a curve (t, P(t)): t is affine
        per = bounds.depth_lower_bound(samples, weights=(-1, 2, 0, -2, 1), reduce=False)
        np.testing.assert_allclose(per, delta ** (1 + alpha) / 8 / 6, rtol=1e-9)


@pytest.mark.parametrize("call", [
    lambda: bounds.depth_lower_bound(np.zeros((1, 3, 2)), weights=(1, -1, 0)),
    lambda: bounds.depth_lower_bound(np.zeros((1, 3, 2)), weights=(0, 0, 0)),
    lambda: bounds.depth_lower_bound(np.zeros((1, 4, 2))),
    lambda: bounds.depth_lower_bound(np.full((1, 3, 2), np.nan)),
    lambda: bounds.depth_lower_bound(np.zeros((1, 5, 2)), weights=(-1, 2, 0, -2, 1),
                                     node_errors=np.zeros((1, 2))),
    lambda: bounds.depth_lower_bound(np.zeros((2, 3, 2)), node_errors=np.zeros((1, 2))),
    lambda: bounds.depth_lower_bound(np.zeros((1, 3, 2)), node_errors=[[-1.0, 0.0]]),
    lambda: bounds.chord_error_bound([0.1], [0.1], alpha=0.0),
    lambda: bounds.chord_error_bound([0.1], [0.1], holder_constant=-1.0),
    lambda: bounds.chord_error_bound([0.1, 0.1], [0.1, 0.1], holder_constant=[1.0]),
    lambda: bounds.chord_error_bound([0.1], [0.1, 0.2]),
    lambda: bounds.chord_error_bound([0.1], [0.1], 1.0, lip_integrals=[0.1, 0.1]),
    lambda: bounds.flow_map_block_error([0.1], [0.1], hess_integrals=[0.1, 0.2]),
    lambda: bounds.flow_map_block_error([-0.1], [0.1]),
    lambda: bounds.flow_map_block_error([0.1], [0.1], allowance=-1e-9),
])
def test_depth_bounds_refuse_bad_input(call):
    with pytest.raises(ValueError):
        call()


def test_chord_error_bound_is_attained():
    """Velocity t e_1 (f = t e_1): the chord misses t^2 / 2 by exactly h^2 / 8 = V h^2 / 8.
    Velocity sign(t - c) |t - c|^a has Hoelder constant V = 2^(1 - a) and misses by exactly
    V h^(1 + a) / (4 (1 + a)) at the midpoint."""
    h = 0.3
    s = np.linspace(0.0, h, 30001)
    chord_miss = np.abs(s * s / 2 - s * h / 2).max()
    bound = bounds.chord_error_bound([h], [h * h / 2], holder_constant=1.0)
    assert chord_miss == pytest.approx(bound[0], rel=1e-9)
    assert bound[0] == pytest.approx(h * h / 8)
    for a in (0.5, 0.25):
        c = h / 2
        speed = np.sign(s - c) * np.abs(s - c) ** a
        position = np.concatenate([[0.0], np.cumsum((speed[1:] + speed[:-1]) / 2 * np.diff(s))])
        miss = np.abs(position - position[-1] * s / h).max()
        v = 2.0 ** (1 - a)
        bound = bounds.chord_error_bound([h], [1.0], holder_constant=v, alpha=a)[0]
        assert miss <= bound * (1 + 1e-6)
        assert miss == pytest.approx(bound, rel=1e-5)


def test_chord_error_bound_falls_back_to_the_mass_and_adds_the_motion():
    steps, mass, lam = np.array([0.1, 0.2]), np.array([0.01, 1.0]), np.array([0.3, 0.4])
    np.testing.assert_allclose(bounds.chord_error_bound(steps, mass), mass)
    both = bounds.chord_error_bound(steps, mass, 2.0, 1.0, lip_integrals=lam)
    np.testing.assert_allclose(both, np.minimum(mass, (2.0 * steps**2 / 2 + lam * mass) / 4))
    # a rotation with angular speed w on radius r: the chord misses by r (1 - cos(w h / 2))
    w, r, h = 3.0, 0.8, 0.05
    exact = r * (1 - np.cos(w * h / 2))
    bound = bounds.chord_error_bound([h], [10.0], holder_constant=r * w * w)[0]
    assert exact <= bound and exact / bound > 0.999


def test_flow_map_block_error_holds_and_is_nearly_attained_by_tanh():
    """f = -tanh x in d = 1: the flow is sinh(Phi_tau(x)) = sinh(x) e^-tau; the Kuhn interpolant
    of Phi_tau - id on a fine grid misses by |D^2 Phi_tau| w^2 / 8 near its largest curvature,
    close to e^(2 tau) tau H w^2 / 8 for small tau. A bound half as large fails."""
    tau, lower, upper, cells = 0.01, -3.0, 3.0, 64
    nodes = np.linspace(lower, upper, cells + 1)
    phi = lambda x: np.arcsinh(np.sinh(x) * np.exp(-tau)) - x
    x = np.linspace(lower, upper, 200001)
    miss = np.abs(np.interp(x, nodes, phi(nodes)) - phi(x)).max()
    hess = 4 / (3 * math.sqrt(3)) * tau
    bound = bounds.flow_map_block_error([tau], [(upper - lower) / cells], [hess])[0]
    assert miss <= bound
    assert miss > 0.9 * bound
    lip = bounds.flow_map_block_error([tau], [(upper - lower) / cells])[0]
    assert miss <= lip and lip == pytest.approx(math.expm1(tau) * 3 / cells)
    assert bounds.flow_map_block_error([tau], [1.0], allowance=1e-8)[0] == pytest.approx(
        math.expm1(tau) / 2 + 1e-8)
