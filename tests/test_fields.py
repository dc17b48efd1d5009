"""resnet_flows.fields: closed-form integrals and averages against quadrature, sampled bounds,
the singular field, bad input."""

import numpy as np
import pytest
from scipy import integrate

from resnet_flows import fields, reference_flow
from resnet_flows.fields import VectorField

CATALOGUE = {
    "singular": fields.singular_rotation,
    "switching": fields.switching_rotations,
    "periodic": fields.periodic_drift_rotation,
    "saturated3d": fields.saturated_field_3d,
    "holder1": lambda: fields.holder_field(1, 0.5),
    "holder2": lambda: fields.holder_field(2, 1.0),
    "holder3": lambda: fields.holder_field(3, 0.5),
}


def plain_copy(field):
    """The same f and bounds without closed forms: integrals and averages by quadrature."""
    return VectorField(field.f, field.dim, field.horizon, field.sup_bound, field.lip_bound,
                       field.hess_bound, field.breakpoints,
                       singular_times=list(zip(field.singular_times, field.singular_exponents)))


@pytest.mark.parametrize("name", CATALOGUE)
def test_closed_form_integrals_and_averages_match_quadrature(name):
    field = CATALOGUE[name]()
    plain = plain_copy(field)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.5, 1.5, (20, field.dim))
    for a, b in [(0.0, 1.0), (0.1, 0.37), (0.45, 0.55), (0.0, 0.01)]:
        assert field.sup_integral(a, b) == pytest.approx(plain.sup_integral(a, b), rel=1e-9,
                                                         abs=1e-12)
        assert field.lip_integral(a, b) == pytest.approx(plain.lip_integral(a, b), rel=1e-9,
                                                         abs=1e-12)
        assert np.max(np.abs(field.average(a, b, x) - plain.average(a, b, x))) <= 1e-9


@pytest.mark.parametrize("name", CATALOGUE)
def test_sampled_field_respects_its_bounds(name):
    field = CATALOGUE[name]()
    rng = np.random.default_rng(1)
    for t in rng.uniform(1e-3, field.horizon, 8):
        x = rng.uniform(-3, 3, (400, field.dim))
        y = x + rng.normal(0, 0.3, x.shape)
        fx, fy = field(t, x), field(t, y)
        assert np.max(np.linalg.norm(fx, axis=1)) <= field.sup(t) * (1 + 1e-12)
        quotients = np.linalg.norm(fx - fy, axis=1) / np.linalg.norm(x - y, axis=1)
        assert np.max(quotients) <= field.lip(t) * (1 + 1e-12)








def test_cutoff_rotation_hessian_bound_by_finite_differences():
    g = fields.cutoff_rotation(1.3, 0.7)
    rng = np.random.default_rng(4)
    x = rng.uniform(-2, 2, (2000, 2))
    u = rng.normal(size=(2000, 2))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    step = 1e-4
    second = (g(x + step * u) - 2 * g(x) + g(x - step * u)) / step**2
    # the difference quotient is D^2 g at an intermediate point up to O(step^2 |D^4 g|)
    assert np.max(np.linalg.norm(second, axis=1)) <= g.hess * (1 + 1e-4)
    assert np.max(np.linalg.norm(second, axis=1)) >= 0.5 * g.hess


def test_cutoff_rotation_hessian_constant_is_attained():
    """Defect: the former 8|w|/(3 sqrt3 r) is 1.79 times the supremum; the constant must be
    attained at |x - c| = r/2 with u parallel to x - c, and not exceeded in any direction there."""
    omega, r, c = -1.3, 0.7, np.array([0.2, -0.1])
    g = fields.cutoff_rotation(omega, r, c)
    angles = np.linspace(0, 2 * np.pi, 721)
    e = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    x = c + 0.5 * r * e
    step = 1e-4
    along = np.linalg.norm(g(x + step * e) - 2 * g(x) + g(x - step * e), axis=1) / step**2
    assert along.max() == pytest.approx(g.hess, rel=1e-6)
    radii = r * np.linspace(0.01, 5, 400)
    for u_angle in np.linspace(0, np.pi, 37):  # every direction u relative to x - c = s e_1
        u = np.array([np.cos(u_angle), np.sin(u_angle)])
        y = c + radii[:, None] * np.array([1.0, 0.0])
        q = np.linalg.norm(g(y + step * u) - 2 * g(y) + g(y - step * u), axis=1) / step**2
        assert q.max() <= g.hess * (1 + 1e-6)


def test_singular_field_cannot_be_evaluated_at_zero():
    field = fields.singular_rotation()
    with pytest.raises(ValueError, match="non-finite"):
        field(0.0, np.ones((1, 2)))


def test_average_of_the_singular_field_is_exact():
    field = fields.singular_rotation(strength=0.5)
    x = np.array([[0.3, -0.4]])
    by_quad, _ = integrate.quad_vec(lambda s: field.f(s, x), 0.0, 0.04)
    assert np.max(np.abs(field.average(0.0, 0.04, x) - by_quad)) <= 1e-8


@pytest.mark.parametrize(
    "call",
    [
        lambda: VectorField(None, 2, 1.0, 1.0, 1.0),
        lambda: VectorField(lambda t, x: x, 0, 1.0, 1.0, 1.0),
        lambda: VectorField(lambda t, x: x, 2, -1.0, 1.0, 1.0),
        lambda: VectorField(lambda t, x: x, 2, 1.0, -1.0, 1.0),
        lambda: VectorField(lambda t, x: x, 2, 1.0, 1.0, np.nan),
        lambda: VectorField(lambda t, x: x, 2, 1.0, 1.0, 1.0, breakpoints=[2.0]),
        lambda: VectorField(lambda t, x: x, 2, 1.0, 1.0, 1.0)(0.5, np.ones((3, 3))),
        lambda: VectorField(lambda t, x: x, 2, 1.0, 1.0, 1.0)(1.5, np.ones((3, 2))),
        lambda: VectorField(lambda t, x: x[:, :1], 2, 1.0, 1.0, 1.0)(0.5, np.ones((3, 2))),
        lambda: VectorField(lambda t, x: x * np.nan, 2, 1.0, 1.0, 1.0)(0.5, np.ones((3, 2))),
        lambda: VectorField(lambda t, x: x, 2, 1.0, 1.0, 1.0).sup_integral(0.6, 0.4),
        lambda: VectorField(lambda t, x: x, 2, 1.0, 1.0, 1.0).hess_integral(0.0, 0.4),
        lambda: reference_flow(fields.switching_rotations(), np.zeros((2, 3)), [0.0, 1.0]),
        lambda: reference_flow(fields.switching_rotations(), np.zeros((2, 2)), [0.0, 0.5, 0.2]),
        lambda: reference_flow(fields.switching_rotations(), np.zeros((2, 2)), [0.0, 2.0]),
        lambda: reference_flow(fields.periodic_drift_rotation(), np.zeros((1, 2)), [0.0, 1.0],
                               method="exact"),
        lambda: fields.holder_field(2, 1.5),
        lambda: fields.cutoff_rotation(1.0, 0.0),
        lambda: fields.switching([fields.constant_drift([1.0, 0.0])], [0.5], 1.0),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_callable_bound_returning_a_negative_value_is_named():
    g = fields.cutoff_rotation()
    # refused at construction (sampled there), and wherever it is evaluated later
    with pytest.raises(ValueError, match=r"sup_bound must return numbers >= 0.*got -1\.0"):
        VectorField(lambda t, x: g(x), 2, 1.0, lambda t: -1.0, 1.0)
    late = VectorField(lambda t, x: g(x), 2, 1.0, 1.0, 1.0)
    late.sup_bound = lambda t: -1.0
    with pytest.raises(ValueError, match=r"sup_bound must return numbers >= 0.*got -1\.0"):
        late.sup_integral(0.0, 0.5)
    from resnet_flows import plan_flow_resnet
    with pytest.raises(ValueError, match="sup_bound must return numbers >= 0"):
        plan_flow_resnet(late, (-np.ones(2), np.ones(2)), 0.1)


def test_negative_rate_of_a_time_scaled_field_is_named():
    g = fields.cutoff_rotation()
    with pytest.raises(ValueError, match=r"rate must be >= 0.*got -0\.5"):
        fields.time_scaled(g, lambda t: 0.5 - np.asarray(t) * 0 - (np.asarray(t) > 0.5),
                           lambda t: np.asarray(t), 1.0)
    with pytest.raises(ValueError, match="sup_primitive decreases"):
        VectorField(lambda t, x: g(x), 2, 1.0, 1.0, 1.0, sup_primitive=lambda t: -np.asarray(t))


def test_bounds_set_after_construction_are_checked_too():
    field = VectorField(lambda t, x: -x, 1, 1.0, 1.0, 1.0)
    field.lip_bound = lambda t: np.full(np.shape(t), np.nan)
    with pytest.raises(ValueError, match="lip_bound must return numbers >= 0"):
        field.lip_integral(0.0, 1.0)
    with pytest.raises(ValueError, match="hess_bound must be a finite number >= 0"):
        field.hess_bound = -2.0
    field.mu_bound = lambda t: -0.5  # a one-sided bound may be negative (a contraction)
    assert field.mu_integral(0.0, 1.0) == pytest.approx(-0.5)
    field.mu_bound = None
    assert field.mu_bound is None


@pytest.mark.parametrize("name", ["singular", "switching", "periodic"])
def test_with_hessian_factor_scales_only_h(name):
    field = CATALOGUE[name]()
    weaker = field.with_hessian_factor(1.79)
    rng = np.random.default_rng(2)
    x = rng.uniform(-1.5, 1.5, (10, field.dim))
    for a, b in [(0.0, 1.0), (0.1, 0.37), (0.0, 0.01)]:
        assert weaker.hess_integral(a, b) == pytest.approx(1.79 * field.hess_integral(a, b),
                                                           rel=1e-12)
        assert weaker.sup_integral(a, b) == field.sup_integral(a, b)
        assert weaker.lip_integral(a, b) == field.lip_integral(a, b)
        assert weaker.mu_integral(a, b) == field.mu_integral(a, b)
        assert np.array_equal(weaker.average(a, b, x), field.average(a, b, x))
    assert weaker.hess(0.3) == pytest.approx(1.79 * field.hess(0.3))
    assert np.array_equal(weaker.breakpoints, field.breakpoints)
    assert np.array_equal(weaker.singular_times, field.singular_times)
    assert weaker.has_exact_flow == field.has_exact_flow


@pytest.mark.parametrize("factor", [0.5, 0.0, -1.0, float("nan"), float("inf"), "2", True])
def test_with_hessian_factor_refuses_a_bound_that_is_not_proved(factor):
    with pytest.raises(ValueError, match="factor"):
        fields.singular_rotation().with_hessian_factor(factor)


def test_with_hessian_factor_needs_a_declared_h():
    without = VectorField(lambda t, x: -x, 1, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="no hess_bound"):
        without.with_hessian_factor(2.0)
