"""resnet_flows.flows: reference flows against closed forms, backward flows, and the restarted
solver loop."""

import numpy as np
import pytest

from resnet_flows import fields, reference_flow
from resnet_flows.fields import VectorField
from resnet_flows.flows import solve_ivp_piece, solve_restarted

CATALOGUE = {
    "singular": fields.singular_rotation,
    "switching": fields.switching_rotations,
    "saturated3d": fields.saturated_field_3d,
    "holder1": lambda: fields.holder_field(1, 0.5),
    "holder3": lambda: fields.holder_field(3, 0.5),
}


@pytest.mark.parametrize("name", ["singular", "switching", "saturated3d", "holder1", "holder3"])
def test_exact_flow_matches_piecewise_numerical_flow(name):
    field = CATALOGUE[name]()
    rng = np.random.default_rng(2)
    x0 = rng.uniform(-1, 1, (30, field.dim))
    times = np.linspace(0, field.horizon, 9)
    exact = reference_flow(field, x0, times, method="exact")
    numerical = reference_flow(field, x0, times, method="numerical")
    assert np.max(np.abs(exact - numerical)) <= 1e-9


def test_backward_flow_inverts_forward_flow_through_a_singularity():
    field = fields.singular_rotation()
    rng = np.random.default_rng(3)
    x0 = rng.uniform(-1, 1, (20, 2))
    times = np.linspace(0, 1, 6)
    forward = reference_flow(field, x0, times, method="numerical")
    backward = reference_flow(field, forward[-1], times[::-1], method="numerical")
    assert np.max(np.abs(backward[::-1] - forward)) <= 1e-9


def test_reference_flow_of_a_linear_field_against_the_matrix_exponential():
    from scipy.linalg import expm

    a = np.array([[-0.3, 1.0], [-1.0, -0.3]])
    field = VectorField(lambda t, x: x @ a.T, 2, 1.0, 10.0, np.linalg.norm(a, 2))
    x0 = np.array([[1.0, 0.5], [-0.2, 0.3]])
    times = np.array([0.0, 0.25, 1.0])
    flow = reference_flow(field, x0, times)
    for t, states in zip(times, flow, strict=True):
        assert np.max(np.abs(states - x0 @ expm(a * t).T)) <= 1e-9


def test_solve_restarted_never_steps_over_a_breakpoint():
    """x' = +1 before t = 0.4, -1 after: each piece is integrated on its own, so the kink of the
    solution is met exactly; a loop that ignored the breakpoint would straddle it."""
    calls = []
    rhs = lambda t, y: np.where(t < 0.4, 1.0, -1.0) * np.ones_like(y)
    inner = solve_ivp_piece(rhs)

    def piece(a, b, y, t_eval):
        calls.append((a, b))
        return inner(a, b, y, t_eval)

    times = np.array([0.0, 0.1, 0.4, 0.7, 1.0])
    states, evaluations = solve_restarted(piece, np.zeros(1), times, breakpoints=[0.4, 1.5])
    assert calls == [(0.0, 0.4), (0.4, 1.0)]
    exact = np.where(times < 0.4, times, 0.8 - times)
    np.testing.assert_allclose(states[:, 0], exact, atol=1e-12)
    assert evaluations > 0
    back, _ = solve_restarted(piece, states[-1], times[::-1], breakpoints=[0.4])
    assert calls[-2:] == [(1.0, 0.4), (0.4, 0.0)]
    # this test field takes its right-hand value at t = 0.4, where the backward solve starts its
    # first step: a solver step's worth of error, not a straddled jump (that would be O(0.1))
    np.testing.assert_allclose(back[:, 0], exact[::-1], atol=1e-9)
