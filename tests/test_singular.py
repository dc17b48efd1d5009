"""Declared singular times |t - t*|^-beta: quadrature, cumulative tables, averages and the
time-changed flow against closed forms, on user fields that supply none."""

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import resnet_flows as rf
from resnet_flows import fields, singular

G = fields.cutoff_rotation(1.0, 1.0)


def power_pair(tstar, beta, c=0.3, horizon=1.0):
    """``f = c |t - t*|^-beta g``: a closed-form field and the same field as a bare user field."""
    def rate(t):
        return c * np.abs(np.asarray(t, dtype=np.float64) - tstar) ** (-beta)

    def primitive(t):
        s = np.asarray(t, dtype=np.float64) - tstar
        return c * np.sign(s) * np.abs(s) ** (1 - beta) / (1 - beta)

    exact = fields.time_scaled(G, rate, primitive, horizon, singular_times=((tstar, beta),))
    user = rf.VectorField(lambda t, x: rate(t) * G(x), 2, horizon, lambda t: rate(t) * G.sup,
                          lambda t: rate(t) * G.lip, lambda t: rate(t) * G.hess,
                          singular_times={tstar: beta})
    return exact, user


X = np.random.default_rng(0).uniform(-1.0, 1.0, (6, 2))
CASES = [(beta, tstar) for beta in (0.5, 0.9) for tstar in (0.0, 0.37, 1.0)]


@pytest.mark.parametrize("beta, tstar", CASES)
def test_integrals_and_averages_match_closed_forms(beta, tstar):
    exact, user = power_pair(tstar, beta)
    a = np.array([0.0, 0.1, 0.3, 0.36, 0.37, 0.9, 0.0])
    b = np.array([0.1, 0.3, 0.5, 0.38, 0.4, 1.0, 1.0])
    for kind in ("sup", "lip", "hess"):
        got = getattr(user, f"{kind}_integral")(a, b)
        want = getattr(exact, f"{kind}_integral")(a, b)
        assert np.max(np.abs(got - want)) <= 1e-12 * max(1.0, np.max(want))
    for lo, hi in zip(a, b):
        assert np.max(np.abs(user.average(lo, hi, X) - exact.average(lo, hi, X))) <= 1e-10


@pytest.mark.parametrize("beta, tstar", CASES)
@pytest.mark.parametrize("mesh", ["uniform", "graded", "shifted"])
def test_time_changed_flow_matches_the_exact_flow(beta, tstar, mesh):
    exact, user = power_pair(tstar, beta)
    if mesh == "shifted":  # no node at t*: the singular time lies inside a step
        times = np.array([0.0, 0.2, 0.33, 0.41, 0.8, 1.0])
    else:
        times = rf.mesh_times(user, 9, mesh)
    want = rf.reference_flow(exact, X, times, method="exact")
    got = rf.reference_flow(user, X, times)
    assert np.max(np.abs(got - want)) <= 1e-8
    back = rf.reference_flow(user, got[-1], times[::-1])
    assert np.max(np.abs(back[-1] - X)) <= 1e-8


def test_mass_below_the_floating_point_spacing_is_kept():
    """Defect: sampling f only at representable times loses the mass of |t - t*| < ulp(t*),
    ``2 ulp^{0.1} / 0.1 ~ 0.5`` for beta = 0.9; the regular part r = f |t - t*|^beta keeps it."""
    exact, user = power_pair(0.61, 0.9, c=1.0)
    delta = 1e-20
    ulp = math.ulp(0.61)
    a, b = 0.61 - 4 * ulp, 0.61 + 4 * ulp
    want = exact.sup_integral(a, b)
    assert want > 0.5
    assert abs(user.sup_integral(a, b) - want) <= 1e-9 * want
    assert np.max(np.abs(user.average(a, b, X) - exact.average(a, b, X))) <= 1e-9
    assert delta < ulp


def test_graded_mesh_equidistributes_the_mass_around_an_interior_singularity():
    _, user = power_pair(0.37, 0.5)
    times = rf.mesh_times(user, 40, "graded")
    masses = user.sup_integral(times[:-1], times[1:])
    assert np.ptp(masses) <= 1e-9 * masses.mean()
    steps = np.diff(times)
    near = np.argmin(np.abs(times[:-1] - 0.37))
    assert steps[near] < 0.05 * steps.max()  # graded towards t* from both sides


def test_graded_mesh_below_the_float_spacing_stays_strictly_increasing():
    """Defect: for beta = 0.9 at t* = 0.37 the mass within one float of t* is ~0.07, so equal-mass
    nodes near t* collide; the mesh must still be a partition with the requested blocks."""
    _, user = power_pair(0.37, 0.9)
    times = rf.mesh_times(user, 400, "graded")
    assert times.size == 401 and np.all(np.diff(times) > 0)


def test_table_inverse_inverts_the_table():
    _, user = power_pair(0.37, 0.5)
    table = user.cumulative("sup")
    t = np.array([0.0, 0.01, 0.3699, 0.37, 0.3701, 0.8, 1.0])
    assert np.max(np.abs(table.inverse(table(t)) - t)) <= 1e-12


@pytest.mark.parametrize("pairs", [((0.5, 1.0),), ((0.5, 1.5),), ((0.5, 0.0),), ((-0.1, 0.5),),
                                   ((1.2, 0.5),), ((0.5, 0.5), (0.5, 0.3)), ("x",)])
def test_bad_singular_times_raise_value_error(pairs):
    with pytest.raises(ValueError, match="singular_times"):
        rf.VectorField(lambda t, x: x, 2, 1.0, 1.0, 1.0, singular_times=pairs)


def test_undeclared_singularity_is_reported():
    """Defect: a singular bound without its declaration must not give a silent wrong integral."""
    field = rf.VectorField(lambda t, x: 0 * x, 2, 1.0, lambda t: np.abs(t - 0.5) ** -0.5, 1.0,
                           breakpoints=(0.5,))
    with pytest.raises(ValueError, match="singular_times"):
        field.sup_integral(0.0, 1.0)


def test_segments_have_one_singular_end_each():
    _, user = power_pair(0.37, 0.5)
    user2 = rf.VectorField(user.f, 2, 1.0, user.sup_bound, user.lip_bound,
                           singular_times=((0.0, 0.5), (0.37, 0.9), (1.0, 0.2)))
    segs = singular.segments(user2)
    assert [s.e for s in segs] == [0.0, 0.37, 0.37, 1.0]
    assert [s.beta for s in segs] == [0.5, 0.9, 0.9, 0.2]


def test_singular_time_one_float_below_the_horizon():
    """Defect (found by hypothesis): with t* = nextafter(1, 0) the piece [t*, 1] holds no float
    strictly inside, and the field was evaluated at t* itself."""
    tstar = np.nextafter(1.0, 0.0)
    exact, user = power_pair(tstar, 0.5)
    assert abs(user.sup_integral(0.0, 1.0) - exact.sup_integral(0.0, 1.0)) <= 1e-11
    got = rf.reference_flow(user, X, [0.0, 0.5, 1.0])
    want = rf.reference_flow(exact, X, [0.0, 0.5, 1.0], method="exact")
    assert np.max(np.abs(got - want)) <= 1e-8


@settings(max_examples=25, deadline=None)
@given(tstar=st.floats(0.0, 1.0), beta=st.floats(0.05, 0.95), split=st.floats(0.05, 0.95))
def test_random_singular_times_and_exponents(tstar, beta, split):
    exact, user = power_pair(tstar, beta)
    times = np.array([0.0, split, 1.0])
    assert abs(user.sup_integral(0.0, split) - exact.sup_integral(0.0, split)) <= 1e-11
    assert np.max(np.abs(user.average(0.0, split, X) - exact.average(0.0, split, X))) <= 1e-9
    got = rf.reference_flow(user, X, times)
    want = rf.reference_flow(exact, X, times, method="exact")
    assert np.max(np.abs(got - want)) <= 1e-8


def test_graded_mesh_of_a_closed_form_field_resolves_nodes_below_2_to_the_minus_60():
    """Defect: bisection in t on the closed-form primitive stops at 2^-60 T, but for beta = 0.9
    at t* = 0 the first node is T N^-10 (1e-24 for N = 256): all first nodes collapse onto one."""
    exact, _ = power_pair(0.0, 0.9)
    times = rf.mesh_times(exact, 256, "graded")
    assert times[1] == pytest.approx(256.0**-10, rel=1e-9)
    masses = exact.sup_integral(times[:-1], times[1:])
    assert np.ptp(masses) <= 1e-9 * masses.mean()


def test_block_search_stops_at_the_floating_point_floor():
    """Defect: next to t* = 0.61 with beta = 0.9 no graded block is lighter than the mass between
    two floats (~0.036 here); the doubling search ran to 2^22 blocks (minutes) before failing."""
    from resnet_flows import plan, rough

    field = rough.interior_singular_field(tstar=0.61, beta=0.9, strength=0.1)
    box = (-np.ones(field.dim), np.ones(field.dim))
    started = time.perf_counter()
    with pytest.raises(ValueError, match="cannot be certified"):
        plan.plan_flow_resnet(field, box, 0.02, mesh="graded", share=0.5)
    assert time.perf_counter() - started < 60  # stopped at the stall, not at 2^22 blocks


@pytest.mark.parametrize("tstar", [0.0, 0.37, 1.0])
def test_the_table_reads_any_number_of_times_without_sampling_the_bound(tstar):
    """Inside a panel P is the antiderivative of the interpolant at the panel's Gauss nodes:
    10^5 random times and a 10^6-block mesh read the table to the rule's accuracy, and neither
    they nor the inverse call the bound."""
    exact, user = power_pair(tstar, 0.9)
    calls = []
    bound = user.sup_bound
    table = singular.CumulativeTable(user, lambda t: calls.append(1) or bound(t))
    built = len(calls)
    closed = exact.cumulative("sup")
    total = float(closed(1.0) - closed(0.0))
    t = np.concatenate([np.random.default_rng(3).uniform(0.0, 1.0, 10**5),
                        np.linspace(0.0, 1.0, 10**6 + 1)])
    assert np.max(np.abs(table(t) - (closed(t) - closed(0.0)))) <= 1e-13 * total
    # inverted where it is well conditioned (near t* a float step of t moves P by ~0.07)
    times = np.random.default_rng(4).random(10**4)
    assert np.max(np.abs(table.inverse(table(times)) - times)) <= 1e-12
    assert len(calls) == built
