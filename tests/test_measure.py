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
    poisoned = result.reference.copy()
    poisoned[3, 5, 0] = np.nan  # one NaN would make the measured sup NaN, silently
    with pytest.raises(ValueError, match="non-finite"):
        measure.measured_space_time_error(net, field, points, result.times, reference=poisoned)
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


def linear_contraction():
    """``f(t, x) = -x`` in d = 1 with ``m = L = 1`` on [-1, 1] (the flow contracts), exact
    averages ``-(b - a) x`` and flow ``x e^{-(t - s)}``."""
    return rf.VectorField(lambda t, x: -x, 1, 1.0, 1.0, 1.0, 0.0,
                          average=lambda a, b, x: -(b - a) * x,
                          exact_flow=lambda s, t, x: x * np.exp(-(t - s)))


def test_averaged_euler_slack_matches_the_closed_form():
    field, h = linear_contraction(), 0.25
    times = np.linspace(0.0, 1.0, 5)
    points = np.array([[-1.0], [0.3], [1.0]])
    slack = measure.averaged_euler_slack(field, times, points)
    step = np.exp(-h) - 1 + h  # the defect of one step from x = 1 at t = 0
    k = np.arange(1, 5)
    gap = np.abs((1 - h) ** k - np.exp(-k * h))  # |y_k - Phi(t_k, 1)|
    sums = step * np.cumsum(np.exp(-h * np.arange(4)))  # sum_{j<k} r_j(1)
    assert slack.local == pytest.approx(step / h**2, rel=1e-12)
    assert slack.error == pytest.approx(gap.max(), rel=1e-12)
    assert slack.amplification == pytest.approx(np.max(gap / sums), rel=1e-9)
    assert slack.amplification >= 1.0  # the errors are at least the defects for a contraction
    assert slack == measure.averaged_euler_slack(
        field, times, points, reference=rf.reference_flow(field, points, times))


def test_averaged_euler_slack_of_a_pure_drift_has_no_local_ratio():
    slack = measure.averaged_euler_slack(drift_field(), np.linspace(0, 1, 5),
                                         np.zeros((3, 2)))
    assert np.isnan(slack.local) and slack.error <= 1e-15 and slack.amplification == 0.0


def test_averaged_euler_slack_rejects_bad_input():
    field = linear_contraction()
    with pytest.raises(ValueError, match="times"):
        measure.averaged_euler_slack(field, [0.0, 2.0], [[0.0]])
    with pytest.raises(ValueError, match="points"):
        measure.averaged_euler_slack(field, [0.0, 1.0], [[0.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match="reference"):
        measure.averaged_euler_slack(field, [0.0, 1.0], [[0.0]], reference=np.zeros((3, 1, 1)))
    with pytest.raises(ValueError, match="reference contains non-finite"):
        measure.averaged_euler_slack(field, [0.0, 1.0], [[0.0]],
                                     reference=np.array([[[0.0]], [[np.nan]]]))
    with pytest.raises(ValueError, match="field"):
        measure.averaged_euler_slack("f", [0.0, 1.0], [[0.0]])


@pytest.mark.parametrize("regularity", ["c2", "lipschitz"])
def test_block_error_ratio_is_one_where_the_interpolation_bound_is_attained(regularity):
    # x^2 is interpolated with error w^2/4 = |h|^2/8 H (H = 2) at the cell midpoints; |x| with
    # error w/2 = Lip |h| / 2 at 0, a cell midpoint for an odd number of cells.
    g = (lambda x: x**2) if regularity == "c2" else np.abs
    field = rf.VectorField(lambda t, x: g(x), 1, 1.0, 1.0, 2.0 if regularity == "c2" else 1.0,
                           2.0, average=lambda a, b, x: (b - a) * g(x))
    times = np.array([0.0, 0.3, 1.0])
    net = rf.averaged_kuhn_resnet(field, times, ([-1.0], [1.0]), 5)
    midpoints = (-1.0 + 0.4 * (np.arange(5) + 0.5))[:, None]
    ratio = measure.block_error_ratio(net, field, regularity, midpoints)
    assert ratio == pytest.approx(1.0, rel=1e-12)
    nodes = (-1.0 + 0.4 * np.arange(6))[:, None]  # exact at the nodes
    assert measure.block_error_ratio(net, field, regularity, nodes) <= 1e-12


def test_block_error_ratio_leaves_out_exact_blocks_and_rejects_bad_input(singular_case):
    field, plan, net, _points, _result = singular_case
    drift = drift_field()
    exact = rf.averaged_kuhn_resnet(drift, [0.0, 0.5, 1.0], K, 3)
    assert np.isnan(measure.block_error_ratio(exact, drift, "lipschitz", np.zeros((2, 2))))
    samples = np.random.default_rng(3).uniform(*plan.block_box, (300, 2))
    assert 0.0 < measure.block_error_ratio(net, field, plan.regularity, samples) <= 1.0
    with pytest.raises(ValueError, match="regularity"):
        measure.block_error_ratio(net, field, "C2", samples)
    with pytest.raises(ValueError, match="samples"):
        measure.block_error_ratio(net, field, "c2", samples[:, :1])
    outside = np.vstack([samples, [plan.block_box[1] + 0.01]])  # beyond the grid: no bound
    with pytest.raises(ValueError, match="samples must lie in the box"):
        measure.block_error_ratio(net, field, plan.regularity, outside)
    with pytest.raises(ValueError, match="Kuhn"):
        measure.block_error_ratio(rf.euler_resnet(drift, [0.0, 0.5, 1.0]), drift, "lipschitz",
                                  samples)
