"""lem-first-order: the curvature constant Lambda_2, the central-difference Jacobian G and its
error bound e_G, the first-order spatial term, and how the certificate uses them."""

import numpy as np
import pytest
import torch
from torch import nn

import resnet_flows as rf
from resnet_flows import certificate_first_order as first
from resnet_flows import certify_resnet, fields

A = 0.7  # f(x) = -A tanh(x) in d = 1: sinh x(t) = sinh(x) e^{-A t}


def tanh_field(hess_factor=1.0):
    g = fields.saturated_field([[-A]])
    field = fields.time_scaled(g, lambda t: np.ones_like(t), lambda t: np.asarray(t), 1.0)
    if hess_factor == 1.0:
        return field
    return fields.VectorField(field.f, 1, 1.0, field.sup_bound, field.lip_bound,
                              hess_factor * float(field.hess(0.0)), mu_bound=field.mu_bound,
                              name="tanh field, H too small")


def tanh_jacobian(t, x):
    """D Phi(t, x) of x' = -A tanh(x): d/dx asinh(sinh(x) e^{-A t})."""
    y = np.sinh(x) * np.exp(-A * t)
    return np.cosh(x) * np.exp(-A * t) / np.sqrt(1 + y * y)


def bend_field(a=0.02):
    """f = a sign(x) q(|x|), q = r^2 / 2 up to 1, saturating at 2: |f''| = a, f odd, f'(0) = 0."""
    def f(t, x):
        r = np.abs(x)
        return a * np.sign(x) * np.where(r <= 1, r**2 / 2, 1 - np.maximum(2 - r, 0.0) ** 2 / 2)
    return fields.VectorField(f, 1, 1.0, a, a, a, mu_bound=a, name="bend")


def differences(field, centres, delta, t):
    points = first.stencil(centres, delta)
    flow = rf.reference_flow(field, points.reshape(-1, field.dim), [0.0, t])[-1:]
    g, half = first.central_differences(points, flow.reshape(1, *points.shape))
    return g, half


def test_central_differences_are_within_the_bound_of_a_known_jacobian():
    field = tanh_field()
    sub = np.linspace(0.0, 1.0, 9)
    curv = first.flow_curvature(field, sub, field.mu_bound)
    centres = np.linspace(-1, 1, 7)[:, None]
    for delta in (1e-3, 0.05, 0.3):
        step = np.full(7, delta)
        g, half = differences(field, centres, step, 1.0)
        bound = (first.difference_error(curv[-1:], centres, step, half, g)[0]
                 + first.difference_allowance(1e-8, half, 1))
        error = np.abs(g[0, :, 0, 0] - tanh_jacobian(1.0, centres[:, 0]))
        assert np.all(error <= bound)


def test_the_truncation_bound_is_attained_by_an_odd_kink_of_f_second_derivative():
    field = bend_field()
    curv = first.flow_curvature(field, np.array([0.0, 1.0]), field.mu_bound)[-1:]
    centre, step = np.zeros((1, 1)), np.array([0.1])
    g, half = differences(field, centre, step, 1.0)
    bound = float(first.difference_error(curv, centre, step, half, g)[0, 0])
    error = abs(float(g[0, 0, 0, 0]) - 1.0)  # D Phi(1, 0) = 1 since f'(0) = 0
    assert 0.9 * bound <= error <= bound


def test_curvature_constant_is_f_squared_times_int_h_and_bounds_the_jacobians_lipschitz():
    field = tanh_field()
    sub = np.linspace(0.0, 1.0, 5)
    curv = first.flow_curvature(field, sub, None)
    h, lip = float(field.hess(0.0)), float(field.lip(0.0))
    assert np.allclose(curv, np.exp(2 * lip * sub) * h * sub, rtol=1e-12)
    x = np.linspace(-2, 2, 401)
    jac = tanh_jacobian(1.0, x)
    assert np.max(np.abs(np.diff(jac)) / np.diff(x)) <= curv[-1]


def test_no_curvature_without_h_or_with_an_infinite_integral():
    g = fields.cutoff_rotation(1.0)
    plain = fields.VectorField(lambda t, x: g(x), 2, 1.0, g.sup, g.lip, None)
    assert first.flow_curvature(plain, np.array([0.0, 1.0]), None) is None
    blow = fields.VectorField(lambda t, x: g(x), 2, 1.0, g.sup, g.lip, lambda t: 1.0 / (1 - t),
                              hess_primitive=lambda t: -np.log1p(-np.asarray(t)))
    with np.errstate(divide="ignore"):
        assert first.flow_curvature(blow, np.array([0.0, 0.5, 1.0]), None) is None


def test_first_order_term_is_the_norm_of_the_interval_difference_plus_curvature():
    mid = np.array([[[[2.0, 0.0], [0.0, 1.0]]]])
    rad = np.array([[[[0.5, 0.0], [0.0, 0.0]]]])
    g = np.array([[[[1.0, 0.0], [0.0, 1.0]]]])
    term = first.first_order_term(mid, rad, g, np.array([[0.01]]), np.array([4.0]), np.array([0.5]))
    assert term[0, 0] == pytest.approx(0.5 * (1.5 + 0.01) + 0.125 * 4.0, rel=1e-14)
    assert term[0, 0] >= 0.5 * (1.5 + 0.01) + 0.125 * 4.0


def _stretch_block(d, weight):
    block = nn.Linear(d, d).double()
    with torch.no_grad():
        block.weight.fill_(weight)
        block.bias.zero_()
    return block


def test_certificate_uses_the_first_order_term_and_reports_it():
    zero = fields.time_scaled(fields.constant_drift([0.0, 0.0]), lambda t: np.ones_like(t),
                              lambda t: np.asarray(t), 1.0)
    box = ([-1.0, -1.0], [1.0, 1.0])
    one = certify_resnet([_stretch_block(2, 1.0)], zero, box, [0.0, 1.0], cells=1, max_rounds=0)
    zeroth = certify_resnet([_stretch_block(2, 1.0)], zero, box, [0.0, 1.0], cells=1,
                            max_rounds=0, first_order=False)
    assert one.spatial_order == 1 and zeroth.spatial_order == 0
    assert one.bound == pytest.approx(2 * np.sqrt(2), rel=1e-7)  # attained at the corner
    assert zeroth.bound == pytest.approx(4 * np.sqrt(2), rel=1e-7)
    assert one.spatial_part == pytest.approx(2 * np.sqrt(2), rel=1e-7)


def test_never_worse_than_the_zeroth_order_term_on_one_partition():
    field = tanh_field()
    torch.manual_seed(3)
    blocks = [nn.Sequential(nn.Linear(1, 6, dtype=torch.float64), nn.ReLU(),
                            nn.Linear(6, 1, dtype=torch.float64)) for _ in range(3)]
    options = {"cells": 5, "max_rounds": 0, "time_points": 24}
    box = ([-1.0], [1.0])
    a = certify_resnet(blocks, field, box, np.linspace(0, 1, 4), **options)
    b = certify_resnet(blocks, field, box, np.linspace(0, 1, 4), first_order=False, **options)
    assert a.bound <= b.bound
    assert np.all(a.node_bounds <= b.node_bounds) and np.all(a.step_bounds <= b.step_bounds)


def test_a_too_small_hess_bound_is_refused_by_name():
    identity = [_stretch_block(1, 0.0)]
    ok = certify_resnet(identity, tanh_field(), ([-2.0], [2.0]), [0.0, 1.0], cells=16,
                        max_rounds=0, time_points=16)
    assert ok.certified
    with pytest.raises(ValueError, match="hess_bound does not hold"):
        certify_resnet(identity, tanh_field(0.01), ([-2.0], [2.0]), [0.0, 1.0], cells=16,
                       max_rounds=0, time_points=16)


def test_bad_first_order_option_is_refused():
    with pytest.raises(ValueError, match="first_order"):
        certify_resnet([_stretch_block(1, 0.0)], tanh_field(), ([-1.0], [1.0]), [0.0, 1.0],
                       first_order="yes")


def test_singular_field_gets_a_finite_first_order_certificate():
    field = fields.singular_rotation()
    times = rf.mesh_times(field, 4, "graded")
    blocks = [_stretch_block(2, 0.0) for _ in range(4)]
    cert = certify_resnet(blocks, field, ([-1.0, -1.0], [1.0, 1.0]), times, cells=4,
                          max_rounds=0, time_points=32)
    assert cert.certified and np.isfinite(cert.bound)


def test_reference_of_a_numerical_flow_map_is_one_solve_per_step_and_agrees():
    """saturated_field_3d's exact flow runs DOP853 per call: the certificate's reference solves
    each step once instead, to the same states."""
    from resnet_flows.certificate import _reference

    field = fields.saturated_field_3d()
    assert not field.exact_flow_is_closed_form
    assert fields.periodic_drift_rotation().exact_flow_is_closed_form
    sub, nodes = np.linspace(0, 1, 9), np.array([0, 4, 8])
    x = np.random.default_rng(0).uniform(-1, 1, (5, 3))
    exact = np.stack([field.exact_flow(0.0, t, x) for t in sub])
    assert np.abs(_reference(field, x, sub, nodes) - exact).max() < 1e-9


def test_zero_solver_allowance_takes_the_smallest_step_and_stays_below_the_zeroth_order():
    identity = [_stretch_block(1, 0.0)]
    options = {"cells": 4, "max_rounds": 0, "time_points": 16, "solver_allowance": 0.0}
    a = certify_resnet(identity, tanh_field(), ([-1.0], [1.0]), [0.0, 1.0], **options)
    b = certify_resnet(identity, tanh_field(), ([-1.0], [1.0]), [0.0, 1.0], first_order=False,
                       **options)
    assert a.certified and a.spatial_order == 1 and a.bound < b.bound
    assert first.difference_step(2.0, np.array([0.5]), 0.0)[0] == first.MIN_STEP
