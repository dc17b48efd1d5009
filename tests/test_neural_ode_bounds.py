"""Constants of prop-resnet-euler: the a-priori radius, the sup bound and M_2 of a neural ODE."""

import math

import numpy as np
import pytest

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
