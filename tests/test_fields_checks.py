"""resnet_flows.fields.checks (prop-field-constants, thm-well-posed): sampled constant checks,
quadrature forms, solver tolerance, bad input."""

import numpy as np
import pytest

from resnet_flows import fields
from resnet_flows.fields import checks as field_checks


def test_catalogue_constants_hold_and_are_sharp():
    rng = np.random.default_rng(1)
    g = fields.cutoff_rotation(2.0, 0.5, (0.1, 0.3))
    out = field_checks.sample_field_constants(g, rng, times=2, points=256, center=(0.1, 0.3))
    assert out["sup"] <= 1 and out["lip"] <= 1 and out["hess"] <= 1
    assert out["lip"] > 0.99  # Lip g = |omega| is attained at the centre


def test_wrong_constant_is_caught():
    rng = np.random.default_rng(2)
    g = fields.saturated_field([[-1.0]])
    wrong = fields.SpatialField(g.g, 1, g.sup, 0.5 * g.lip, g.hess, name="too small Lip")
    assert field_checks.sample_field_constants(wrong, rng, times=1, points=256)["lip"] > 1


def test_second_difference_has_no_truncation_error():
    # for tanh, |D^2| attains H: the ratio is close to, but never above, 1
    rng = np.random.default_rng(3)
    g = fields.saturated_field([[1.0]])
    out = field_checks.sample_field_constants(g, rng, times=1, points=4096, scales=(0.1, 2.0),
                                              step=1e-2)
    assert 0.99 < out["hess"] <= 1


def test_quadrature_forms_match_closed_forms():
    f = fields.singular_rotation()
    x = np.array([[0.5, -1.0], [2.0, 0.1]])
    value, _ = field_checks.average_by_quadrature(f, 0.0, 0.6, x)
    assert np.abs(value - f.average(0.0, 0.6, x)).max() < 1e-10
    v, _ = field_checks.bound_integral_by_quadrature(f, "sup", 0.0, 1.0)
    assert abs(v - 1.0) < 1e-10


def test_holder_ratio_and_solver_tolerance():
    rng = np.random.default_rng(4)
    f = fields.holder_field(1, 0.5)
    assert 0.9 < field_checks.holder_ratio(f, rng, pairs=256, anchor=0.5) <= 1
    tol = field_checks.solver_tolerance(fields.singular_rotation(), 0.0, 1.0, 2.0, steps=10)
    assert tol == pytest.approx(np.e * 10 * (1e-11 * 2.0 + 1e-12))


def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="g must be a SpatialField"):
        field_checks.autonomous("not a field")
    with pytest.raises(ValueError, match="points"):
        field_checks.sample_field_constants(fields.constant_drift((1.0,)), rng, points=0)
    with pytest.raises(ValueError, match="holder_exponent"):
        field_checks.holder_ratio(fields.singular_rotation(), rng)
    with pytest.raises(ValueError, match="kind"):
        field_checks.bound_integral_by_quadrature(fields.singular_rotation(), "size", 0, 1)
    with pytest.raises(ValueError, match="state_bound"):
        field_checks.solver_tolerance(fields.singular_rotation(), 0, 1, -1.0)


def test_kinks_make_quadrature_of_abs_sin_exact():
    f = fields.periodic_drift_rotation()
    closed = float(f.sup_integral(0.0019, 0.9923))
    value, _ = field_checks.bound_integral_by_quadrature(f, "sup", 0.0019, 0.9923,
                                                         kinks=np.arange(0.0, 1.0, 0.25))
    assert abs(value - closed) < 1e-12
    with pytest.raises(ValueError, match="kinks"):
        field_checks.bound_integral_by_quadrature(f, "sup", 0.0, 1.0, kinks=[np.nan])


def test_one_sided_excess_catches_a_too_small_mu():
    rng = np.random.default_rng(0)
    rotation = fields.periodic_drift_rotation()  # mu = |omega| 3^(-3/2), proved (lem-one-sided)
    assert field_checks.one_sided_excess(rotation, rng)["excess"] <= 0
    rotation.mu_bound = 0.5 * float(rotation.mu_bound(0.0))  # half the proved constant
    assert field_checks.one_sided_excess(rotation, rng, points=4096)["excess"] > 0
    with pytest.raises(ValueError, match="mu_bound"):
        field_checks.one_sided_excess(fields.holder_field(1, 0.5), rng)


def test_one_sided_ratio_is_near_one_for_the_proved_mu_and_catches_half_of_it():
    """lem-one-sided (3): mu = |omega| 3^(-3/2) is attained, so the sampled ratio is close to 1,
    and a declared mu half as large gives a ratio near 2."""
    rotation = fields.periodic_drift_rotation()
    ratio = field_checks.one_sided_ratio(rotation, np.random.default_rng(0))["ratio"]
    assert 0.99 < ratio <= 1.0
    rotation.mu_bound = 0.5 * float(rotation.mu_bound(0.0))
    assert field_checks.one_sided_ratio(rotation, np.random.default_rng(0))["ratio"] > 1.9
    with pytest.raises(ValueError, match="mu_bound"):
        field_checks.one_sided_ratio(fields.holder_field(1, 0.5), np.random.default_rng(0))
    with pytest.raises(ValueError, match="points"):
        field_checks.one_sided_ratio(rotation, np.random.default_rng(0), points=0)
