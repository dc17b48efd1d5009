"""resnet_flows.counts (thm-graded-count, lem-float-floor): the closed-form counts certify their
accuracy, never undercut the planner, and refuse what floating point cannot mesh."""

import numpy as np
import pytest

import resnet_flows as rf
from resnet_flows import counts, fields, rough

K = (-np.ones(2), np.ones(2))


@pytest.mark.parametrize("field", [fields.singular_rotation(),
                                   rough.power_singular_rotation(0.9, 0.0),
                                   rough.interior_singular_field(strength=0.02)],
                         ids=["beta 0.5", "beta 0.9 at 0", "interior"])
@pytest.mark.parametrize("regularity", ["c2", "lipschitz"])
def test_the_theorems_network_is_certified_and_the_planner_needs_no_more(field, regularity):
    """Defect: a count with a constant half as large (N or n halved) certifies more than eps."""
    eps = 0.1
    count = counts.graded_count(field, K, eps, share=0.5, regularity=regularity)
    times = rf.mesh_times(field, count.blocks, "graded")
    plan = rf.certify(field, K, times, count.cells, regularity=regularity, margin=0.05)
    assert plan.bound <= eps
    planned = rf.plan_flow_resnet(field, K, eps, mesh="graded", regularity=regularity, share=0.5)
    assert planned.num_blocks <= count.blocks and planned.cells <= count.cells
    assert planned.parameters[1] <= count.nonzero
    assert count.nonzero == count.blocks * rf.kuhn_network_size(2, count.cells, 2)[1]
    half = rf.mesh_times(field, max(1, count.blocks // 2), "graded")
    halved = rf.certify(field, K, half, count.cells, regularity=regularity, margin=0.05)
    assert halved.euler_part + halved.interpolation_part > 0.5 * eps or count.blocks == 1


def test_power_field_at_zero_is_attained_by_the_planner():
    """For m ~ t^-0.9 with small L the telescoped Groenwall sum is nearly exact: the planner's
    N equals the theorem's."""
    field = rough.power_singular_rotation(0.9, 0.0)
    for eps in (0.2, 0.1, 0.05):
        count = counts.graded_count(field, K, eps)
        planned = rf.plan_flow_resnet(field, K, eps, mesh="graded", regularity="c2", share=0.5)
        assert planned.num_blocks == count.blocks


def test_float_gap_mass_is_the_mass_next_to_the_singular_time():
    field = rough.interior_singular_field()  # c = 0.1, beta = 0.9, m = c sqrt2 |t - t*|^-0.9
    gap = np.spacing(0.61)
    closed = 0.1 * np.sqrt(2) * gap**0.1 / 0.1
    assert counts.float_gap_mass(field) == pytest.approx(closed, rel=1e-6)
    assert counts.float_gap_mass(fields.periodic_drift_rotation()) == 0.0
    # no partition with binary64 nodes beats it: the graded mesh of many blocks attains it
    times = rf.mesh_times(field, 4096, "graded")
    heaviest = float(field.sup_integral(times[:-1], times[1:]).max())
    assert heaviest >= counts.float_gap_mass(field) * (1 - 1e-9)


def test_below_the_floor_is_refused_by_name():
    with pytest.raises(ValueError, match="floating-point floor"):
        counts.graded_count(rough.interior_singular_field(), K, 0.2)
    # exact arithmetic has no floor
    assert counts.graded_count(rough.interior_singular_field(), K, 0.2,
                               floating_point=False).blocks > 0


@pytest.mark.parametrize("call, name", [
    (lambda: counts.graded_count(fields.singular_rotation(), K, -0.1), "eps"),
    (lambda: counts.graded_count(fields.singular_rotation(), K, 0.1, share=1.5), "share"),
    (lambda: counts.graded_count(fields.singular_rotation(), K, 0.1, regularity="c3"),
     "regularity"),
    (lambda: counts.graded_count(rf.VectorField(lambda t, x: 0 * x, 1, 1.0, 1.0, 1.0),
                                 (-np.ones(1), np.ones(1)), 0.1), "hess"),
    (lambda: counts.graded_count("field", K, 0.1), "field"),
    (lambda: counts.float_gap_mass(None), "field"),
    (lambda: counts.graded_count(fields.singular_rotation(), (np.zeros(3), np.ones(3)), 0.1),
     "box"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
