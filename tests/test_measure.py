"""resnet_flows.measure: measured space-time errors, node and interpolation ratios, the empirical
search (thm-main, chapter 6)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import resnet_flows as rf
from resnet_flows import measure

K = ([-1.0, -1.0], [1.0, 1.0])


def drift_field():
    """``f = (1, 0.5)``: every averaged field is constant, so the Kuhn blocks are exact."""
    g = rf.fields.constant_drift((1.0, 0.5))
    return rf.fields.time_scaled(g, lambda t: np.ones_like(np.asarray(t, dtype=float)),
                                 lambda t: np.asarray(t, dtype=float), 1.0)


@pytest.fixture(scope="module")
def singular_case():
    field = rf.fields.singular_rotation()
    plan = rf.plan_flow_resnet(field, K, 0.3, mesh="graded")
    net = rf.build_certified_resnet(field, plan)
    points = np.random.default_rng(0).uniform(-1, 1, (200, 2))
    times = measure.evaluation_times(plan.times, base=128, per_block=2)
    return field, plan, net, points, measure.measured_space_time_error(net, field, points, times)


def test_evaluation_times_holds_nodes_and_interior_points():
    nodes = np.array([0.0, 0.1, 0.5, 1.0])
    t = measure.evaluation_times(nodes, base=4, per_block=1)
    assert np.all(np.diff(t) > 0)
    for value in (*nodes, 0.05, 0.3, 0.75, 0.25):
        assert np.any(np.isclose(t, value, rtol=0, atol=1e-15))
    with pytest.raises(ValueError, match="per_block"):
        measure.evaluation_times(nodes, per_block=-1)
    with pytest.raises(ValueError, match="times"):
        measure.evaluation_times([0.0])


def test_exact_blocks_give_zero_error():
    field = drift_field()
    plan = rf.plan_flow_resnet(field, K, 0.1)
    net = rf.build_certified_resnet(field, plan)
    points = np.random.default_rng(1).uniform(-1, 1, (50, 2))
    result = measure.measured_space_time_error(net, field, points, np.linspace(0, 1, 33))
    assert result.errors.shape == (33, 50)
    assert result.sup <= 1e-13


def test_measured_error_within_certified_bound(singular_case):
    field, plan, _net, _points, result = singular_case
    assert 0 < result.sup <= plan.bound <= 0.3
    t, j = result.worst
    i = int(np.searchsorted(result.times, t))
    assert result.errors[i, j] == result.sup
    assert result.states.shape == (plan.num_blocks + 1, 200, 2)
    assert measure.node_bound_ratio(result, plan.times, plan.node_bounds) <= 1.0
    ratio = measure.interpolation_ratio(result, plan.times, field, away=0.05)
    assert 0.5 < ratio <= 1.0


def test_space_time_error_rejects_bad_input(singular_case):
    field, plan, net, points, result = singular_case
    with pytest.raises(ValueError, match="reference"):
        measure.measured_space_time_error(net, field, points, result.times, reference=np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="resnet"):
        measure.measured_space_time_error(object(), field, points, result.times)
    with pytest.raises(ValueError, match="times"):
        measure.measured_space_time_error(net, field, points, [0.5, 1.0])
    with pytest.raises(ValueError, match="node"):
        measure.node_bound_ratio(result, [0.0, 0.123456, 1.0], [0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="away"):
        measure.interpolation_ratio(result, plan.times, field, away=0.5)


def test_empirical_search_finds_cheapest_passing_choice():
    field = drift_field()
    points = np.random.default_rng(2).uniform(-1, 1, (20, 2))
    times = np.linspace(0, 1, 17)
    choice = measure.empirical_smallest(field, K, 1e-3, points, times, [4, 1, 2], [3, 1])
    assert (choice.blocks, choice.cells) == (1, 1)
    assert choice.measured <= 1e-3
    assert choice.nonzero_parameters == rf.kuhn_network_size(2, 1, 2)[1]
    rot = rf.fields.singular_rotation()
    assert measure.empirical_smallest(rot, K, 1e-4, points, times, [2], [2], mesh="graded") is None
    found = measure.empirical_smallest(rot, K, 0.2, points, times, [2, 4, 8, 16], [2, 4, 8, 16],
                                       mesh="graded")
    assert found is not None and found.measured <= 0.2
    assert all(value > 0.2 for n, c, value in found.tried
               if n * rf.kuhn_network_size(2, c, 2)[1] < found.nonzero_parameters)
    with pytest.raises(ValueError, match="eps"):
        measure.empirical_smallest(field, K, 0.0, points, times, [1], [1])
    with pytest.raises(ValueError, match="blocks"):
        measure.empirical_smallest(field, K, 0.1, points, times, [0], [1])




def test_averaged_resnet_matches_build_certified_resnet(singular_case):
    field, plan, net, points, _ = singular_case
    same = rf.averaged_kuhn_resnet(field, plan.times, plan.block_box, plan.cells)
    assert np.array_equal(same.trajectory(points[:10]), net.trajectory(points[:10]))
    with pytest.raises(ValueError, match="times"):
        rf.averaged_kuhn_resnet(field, [0.0, 2.0], K, 2)
    with pytest.raises(ValueError, match="field"):
        rf.averaged_kuhn_resnet(object(), [0.0, 1.0], K, 2)


def test_chunked_evaluation_changes_nothing(singular_case, monkeypatch):
    """The time-chunked evaluation (memory) gives bit-for-bit the errors of one big chunk."""
    field, plan, net, points, result = singular_case
    monkeypatch.setattr(measure, "CHUNK_ELEMENTS", 7)  # a few times per chunk, uneven
    small = measure.measured_space_time_error(net, field, points, result.times,
                                              reference=result.reference)
    np.testing.assert_array_equal(small.errors, result.errors)
    big = measure.interpolation_ratio(result, plan.times, field, away=0.05)
    assert measure.interpolation_ratio(small, plan.times, field, away=0.05) == big
