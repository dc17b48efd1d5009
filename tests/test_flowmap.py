"""resnet_flows.flowmap: flow-map ResNets (thm-flow-map) against their certificate, the planner
on the shared core, the one-step maps against closed forms, and every way in refused by name."""

import copy

import numpy as np
import pytest
import torch

import resnet_flows as rf
from resnet_flows import bounds, fields, flowmap, measure, rough
from resnet_flows.resnet import StateOutsideBox

K = (-np.ones(2), np.ones(2))


def constant_rotation(omega=2.0):
    return fields.time_scaled(fields.cutoff_rotation(omega, 1.0),
                              lambda t: np.ones_like(np.asarray(t, dtype=float))[()],
                              lambda t: np.asarray(t, dtype=float), 1.0, name="rotation")


def measured(net, field, plan, n=200, seed=0):
    points = np.random.default_rng(seed).uniform(-1, 1, (n, field.dim))
    times = measure.evaluation_times(plan.times, base=256, per_block=3)
    return measure.measured_space_time_error(net, field, points, times)


def test_one_step_maps_match_the_closed_form_and_the_solver_within_the_allowance():
    field = constant_rotation()
    points = np.random.default_rng(1).uniform(-2, 2, (50, 2))
    times = np.array([0.0, 0.3, 0.7, 1.0])
    maps = flowmap.one_step_maps(field, times, points)
    for k in range(3):
        exact = field.exact_flow(times[k], times[k + 1], points)
        np.testing.assert_allclose(maps[k], exact, atol=flowmap.EXACT_ALLOWANCE)
        numeric = rf.reference_flow(field, points, times[k:k + 2], method="numerical")[-1]
        assert np.abs(numeric - exact).max() <= flowmap.SOLVER_ALLOWANCE


@pytest.mark.parametrize("make, kwargs", [
    (constant_rotation, {}),
    (fields.periodic_drift_rotation, {"holder": (1.0, 4 * np.pi)}),
    (lambda: rough.takagi_field(2, 0.5), {}),
    (fields.singular_rotation, {"mesh": "graded"}),
])
def test_planned_flow_map_resnet_meets_its_certificate(make, kwargs):
    field = make()
    plan = flowmap.plan_flow_map_resnet(field, K, 0.1, share=0.5, **kwargs)
    assert plan.bound <= 0.1 and plan.euler_part == 0.0
    net = flowmap.flow_map_resnet(field, plan.times, plan.block_box, plan.cells)
    assert net.relu_network and net.num_blocks == plan.num_blocks
    result = measured(net, field, plan)
    assert result.sup <= plan.bound
    assert measure.node_bound_ratio(result, plan.times, plan.node_bounds) <= 1.0
    assert net.parameter_counts()[1] <= plan.parameters[1]


def test_blocks_interpolate_the_one_step_maps_at_the_nodes():
    field = constant_rotation()
    times = np.linspace(0.0, 1.0, 5)
    net = flowmap.flow_map_resnet(field, times, (-2 * np.ones(2), 2 * np.ones(2)), 6)
    nodes = net.blocks[0].grid.nodes()
    for k, block in enumerate(net.blocks):
        exact = field.exact_flow(times[k], times[k + 1], nodes) - nodes
        with torch.no_grad():
            as_network = block(torch.as_tensor(nodes)).numpy()
        np.testing.assert_allclose(as_network, exact, atol=1e-12)
        np.testing.assert_allclose(block.fast(nodes), exact, atol=1e-12)


def test_the_certificate_is_attained_to_half_on_a_chord_dominated_grid():
    """Chapter 11's sharpness: the periodic field with few blocks and a fine grid."""
    field = fields.periodic_drift_rotation()
    plan = flowmap.certify_flow_map(field, K, np.linspace(0, 1, 17), 80, holder=(1.0, 4 * np.pi))
    net = flowmap.flow_map_resnet(field, plan.times, plan.block_box, plan.cells)
    ratio = measured(net, field, plan, n=300).sup / plan.bound
    assert 0.5 < ratio <= 1.0


def test_fewer_blocks_and_parameters_than_the_averaged_construction():
    field = fields.periodic_drift_rotation()
    averaged = rf.plan_flow_resnet(field, K, 0.05)
    flow_map = flowmap.plan_flow_map_resnet(field, K, 0.05, holder=(1.0, 4 * np.pi))
    assert 4 * flow_map.num_blocks <= averaged.num_blocks
    assert flow_map.parameters[1] < averaged.parameters[1]


def test_chord_part_needs_regularity_in_time_and_uses_the_field_holder():
    field = constant_rotation()
    times = np.linspace(0, 1, 9)
    plain = flowmap.certify_flow_map(field, K, times, 8)
    np.testing.assert_allclose(plain.chord_bounds, field.sup_integral(times[:-1], times[1:]))
    smooth = flowmap.certify_flow_map(field, K, times, 8, holder=(1.0, 0.0))
    assert smooth.interpolation_part < plain.interpolation_part
    takagi = rough.takagi_field(2, 0.5)
    declared = flowmap.certify_flow_map(takagi, K, times, 8)
    explicit = flowmap.certify_flow_map(takagi, K, times, 8,
                                        holder=(0.5, takagi.holder_constant))
    np.testing.assert_array_equal(declared.chord_bounds, explicit.chord_bounds)
    # along the circle of radius rho the velocity is rho w_rho^2-Lipschitz, w_rho = 2 / sqrt(1 + rho^2)
    velocity = flowmap.certify_flow_map(field, K, times, 8, velocity=(1.0, 2.0))
    assert velocity.interpolation_part == pytest.approx(2.0 / 64 / 8)


def test_declared_regularity_in_time_that_the_field_refutes_is_refused():
    """A hostile or careless declaration: the rotation's velocity is not constant, the periodic
    field is not constant in time, the Takagi field is rougher than Lipschitz."""
    times = np.linspace(0, 1, 9)
    with pytest.raises(ValueError, match="velocity"):
        flowmap.certify_flow_map(constant_rotation(), K, times, 8, velocity=(1.0, 0.0))
    with pytest.raises(ValueError, match="velocity"):
        flowmap.plan_flow_map_resnet(constant_rotation(), K, 0.1, share=0.5,
                                     velocity=(1.0, lambda a, b: 0.0 * a))
    with pytest.raises(ValueError, match="holder"):
        flowmap.certify_flow_map(fields.periodic_drift_rotation(), K, times, 8, holder=(1.0, 1.0))
    with pytest.raises(ValueError, match="holder"):
        flowmap.plan_flow_map_resnet(rough.takagi_field(2, 0.5), K, 0.05, share=0.5,
                                     holder=(1.0, 1.0))


def test_block_part_does_not_grow_with_the_blocks_and_shrinks_with_the_cells():
    field = constant_rotation()
    part = {(n, c): flowmap.certify_flow_map(field, K, np.linspace(0, 1, n + 1), c).block_part
            for n in (8, 64) for c in (10, 40)}
    assert part[64, 10] <= part[8, 10] * 1.05 and part[64, 40] <= part[8, 40] * 1.05
    assert part[8, 40] < part[8, 10] / 10


@pytest.mark.parametrize("mesh", ["uniform", "graded", "auto",
                                  lambda n: (np.arange(n + 1) / n) ** 2,
                                  np.linspace(0, 1, 129)])
def test_every_mesh_gives_a_certified_plan(mesh):
    field = fields.singular_rotation()
    plan = flowmap.plan_flow_map_resnet(field, K, 0.2, mesh=mesh, share=0.5)
    assert plan.bound <= 0.2
    if isinstance(mesh, np.ndarray):
        np.testing.assert_array_equal(plan.times, mesh)


def test_a_too_coarse_given_mesh_is_refused_by_name():
    with pytest.raises(ValueError, match="the given times"):
        flowmap.plan_flow_map_resnet(fields.singular_rotation(), K, 0.2, share=0.5,
                                     mesh=np.linspace(0, 1, 33))


def test_auto_mesh_is_no_worse_than_either():
    field = fields.singular_rotation()
    size = {m: flowmap.plan_flow_map_resnet(field, K, 0.1, mesh=m, share=0.5).parameters[1]
            for m in ("uniform", "graded", "auto")}
    assert size["auto"] == min(size["uniform"], size["graded"])


def test_a_velocity_callable_and_an_adapted_mesh_make_the_singular_field_cheap():
    """The t^-1/2 rotation: with the velocity modulus of chapter 11 and t_k = (k / N)^4 the
    chord part decays like N^-2 instead of N^-1 (graded mesh, no regularity)."""
    field, g, c = fields.singular_rotation(), fields.cutoff_rotation(1.0, 1.0), 0.5

    def velocity(a, b):
        with np.errstate(divide="ignore"):
            return np.where(a > 0, 0.5 * c * a**-1.5 * g.sup + c * c / a * g.lip * g.sup, np.inf)

    adapted = flowmap.plan_flow_map_resnet(field, K, 1e-3, share=0.5, velocity=(1.0, velocity),
                                           mesh=lambda n: (np.arange(n + 1) / n) ** 4)
    graded = flowmap.plan_flow_map_resnet(field, K, 1e-3, share=0.5, mesh="graded")
    assert adapted.bound <= 1e-3
    assert 5 * adapted.num_blocks < graded.num_blocks


def test_exact_allowance_for_closed_forms_and_solver_allowance_otherwise():
    assert flowmap.default_allowance(constant_rotation()) == flowmap.EXACT_ALLOWANCE
    assert flowmap.default_allowance(fields.periodic_drift_rotation()) == flowmap.SOLVER_ALLOWANCE
    assert flowmap.default_allowance(constant_rotation(), 0.0) == 0.0
    field = constant_rotation()
    times = np.linspace(0, 1, 11)
    small = flowmap.certify_flow_map(field, K, times, 8, allowance=0.0)
    large = flowmap.certify_flow_map(field, K, times, 8, allowance=1e-3)
    assert large.block_part >= small.block_part + 10 * 1e-3 * 0.99


def test_states_leaving_the_block_box_are_refused():
    field = constant_rotation()
    net = flowmap.flow_map_resnet(field, np.linspace(0, 1, 5), K, 4)
    with pytest.raises(StateOutsideBox):
        net.trajectory(np.array([[0.99, 0.99]]))


def test_a_deep_copied_plan_builds_the_same_network():
    field = constant_rotation()
    plan = flowmap.plan_flow_map_resnet(field, K, 0.2, share=0.5)
    twin = copy.deepcopy(plan)
    a = flowmap.flow_map_resnet(field, plan.times, plan.block_box, plan.cells)
    b = flowmap.flow_map_resnet(field, twin.times, twin.block_box, twin.cells)
    x = np.random.default_rng(2).uniform(-1, 1, (20, 2))
    np.testing.assert_array_equal(a.trajectory(x), b.trajectory(x))


def test_huge_builds_are_refused_before_any_work():
    field = constant_rotation()
    with pytest.raises(ValueError, match="cells"):
        flowmap.flow_map_resnet(field, np.linspace(0, 1, 1001), K, 10**4)


@pytest.mark.parametrize("call, name", [
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, -0.1), "eps"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, float("nan")), "eps"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, 0.1, mesh="fine"), "mesh"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, 0.1, mesh=[0.0, 0.5]),
     "times"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, 0.1, holder=1.0), "holder"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, 0.1, holder=(2.0, 1.0)),
     "holder alpha"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, 0.1, holder=(1.0, -1.0)),
     "holder constant"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, 0.1,
                                          holder=(1.0, lambda a, b: a)), "holder constant"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, 0.1,
                                          velocity=(1.0, lambda a, b: -1 - a)), "velocity"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, 0.1,
                                          velocity=(1.0, lambda a, b: np.nan * a)), "velocity"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, 0.1,
                                          velocity=(1.0, lambda a, b: np.ones(3))), "velocity"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, 0.1, allowance=-1.0),
     "allowance"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, 0.1, regularity="smooth"),
     "regularity"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), K, 0.1, share=1.5), "share"),
    (lambda: flowmap.plan_flow_map_resnet(constant_rotation(), (np.zeros(3), np.ones(3)), 0.1),
     "box"),
    (lambda: flowmap.plan_flow_map_resnet("field", K, 0.1), "field"),
    (lambda: flowmap.certify_flow_map(constant_rotation(), K, [0.0, 0.5], 4), "times"),
    (lambda: flowmap.certify_flow_map(constant_rotation(), K, [0.0, 1.0], 0), "cells"),
    (lambda: flowmap.certify_flow_map(constant_rotation(), K, [0.0, 1.0], 4, margin=1e-9),
     "margin"),
    (lambda: flowmap.flow_map_resnet(constant_rotation(), [0.0, 2.0], K, 4), "times"),
    (lambda: flowmap.flow_map_resnet(constant_rotation(), [0.0, 1.0], K, 2.5), "cells"),
    (lambda: flowmap.one_step_maps(constant_rotation(), [0.0, 1.0], np.zeros((2, 3))), "points"),
])
def test_bad_input_raises_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_certificate_is_the_sum_of_its_parts_from_the_bounds_module():
    field = constant_rotation()
    times = np.linspace(0, 1, 9)
    plan = flowmap.certify_flow_map(field, K, times, 12, regularity="c2")
    lam = field.lip_integral(times[:-1], times[1:])
    widths = (plan.block_box[1] - plan.block_box[0]) / plan.cells
    delta = bounds.flow_map_block_error(lam, widths, field.hess_integral(times[:-1], times[1:]),
                                        plan.allowance)
    expected = bounds.discrete_gronwall(np.expm1(lam), delta)
    np.testing.assert_allclose(plan.node_bounds, expected, rtol=1e-9)
    assert plan.bound == pytest.approx(plan.node_bounds.max() + plan.chord_bounds.max())


@pytest.mark.parametrize("call", [flowmap.one_step_maps, measure.averaged_euler_slack])
def test_stepping_a_field_refuses_bad_fields_times_and_points_by_name(call):
    field = fields.periodic_drift_rotation()
    with pytest.raises(ValueError, match="field must be a VectorField"):
        call(object(), [0.0, 1.0], np.zeros((1, 2)))
    with pytest.raises(ValueError, match="times must hold at least two"):
        call(field, [0.0], np.zeros((1, 2)))
    with pytest.raises(ValueError, match="times must hold at least two"):
        call(field, [0.0, 2.0], np.zeros((1, 2)))
    with pytest.raises(ValueError, match="points"):
        call(field, [0.0, 1.0], np.zeros((1, 3)))
