"""resnet_flows.limits: the size lower bound never exceeds a plan that fits, the memory estimate
covers what a build holds, and the limits are validated."""

import math

import numpy as np
import pytest

import resnet_flows as rf
from resnet_flows import fields, limits
from resnet_flows.plan import DEFAULT_SHARES, check_regularity
from user_fields import user_field_2d, user_field_3d


@pytest.mark.parametrize("make,eps", [
    (user_field_2d, 0.25), (user_field_3d, 0.3), (fields.switching_rotations, 0.1),
    (fields.periodic_drift_rotation, 0.2), (fields.singular_rotation, 0.1),
])
def test_the_size_lower_bound_is_below_every_plan(make, eps):
    """A refusal on the lower bound never refuses a plan that fits: it is below the plan found,
    in N, cells and parameters, and it is tight to a small factor."""
    field = make()
    box = (-np.ones(field.dim), np.ones(field.dim))
    plan = rf.plan_flow_resnet(field, box, eps)
    floor = limits.plan_size_lower_bound(field, box, eps, DEFAULT_SHARES,
                                         check_regularity(field, None, True))
    assert floor["parameters"] <= plan.parameters[1] <= 200 * floor["parameters"]
    for share in DEFAULT_SHARES:
        if plan.euler_part + plan.interpolation_part <= share.partition * eps and \
                plan.block_part <= share.blocks * eps:
            assert limits.plan_size_lower_bound(field, box, eps, [share], [plan.regularity])[
                "blocks"] <= plan.num_blocks
            assert limits.cells_lower_bound(field, box, share.blocks * eps,
                                            [plan.regularity]) <= plan.cells


def test_the_memory_estimate_covers_the_built_network():
    field = user_field_2d()
    box = (-np.ones(2), np.ones(2))
    plan = rf.plan_flow_resnet(field, box, 0.25)
    net = rf.build_certified_resnet(field, plan)
    held = sum(block.values.nbytes for block in net.blocks)
    hidden = sum(layer.index.numel() * 8 + layer.weight.numel() * 8 + layer.bias.numel() * 8
                 for layer in net.blocks[0].grid.hidden_layers)
    assert held + hidden <= plan.memory <= 4 * (held + hidden) + 2**20


@pytest.mark.parametrize("bad", [True, float("nan"), 0, -1.0, "1e9", None])
def test_limits_are_checked_by_name(bad):
    with pytest.raises(ValueError, match="max_parameters"):
        limits.resolve_limits(bad, 1e9)
    with pytest.raises(ValueError, match="max_memory"):
        limits.resolve_limits(1e9, bad)
    assert limits.resolve_limits(math.inf, math.inf) == (math.inf, math.inf)


def test_a_build_beyond_max_memory_is_refused_before_building():
    field = fields.switching_rotations()
    plan = rf.plan_flow_resnet(field, (-np.ones(2), np.ones(2)), 0.3)
    with pytest.raises(rf.PlanTooLarge, match="max_memory"):
        rf.build_certified_resnet(field, plan, max_memory=plan.memory / 2)
    with pytest.raises(rf.PlanTooLarge, match="max_memory"):
        rf.averaged_kuhn_resnet(field, plan.times, plan.block_box, 10**4)
    assert rf.build_certified_resnet(field, plan, max_memory=plan.memory).num_blocks == \
        plan.num_blocks


def test_estimates_for_eps_near_zero_are_infinite_not_errors():
    size = limits.estimate(2, math.inf, 3)
    assert size["parameters"] == math.inf == size["memory"]
    field = fields.switching_rotations()
    floor = limits.plan_size_lower_bound(field, (-np.ones(2), np.ones(2)), 5e-324,
                                         DEFAULT_SHARES, ["lipschitz"])
    assert floor["blocks"] == math.inf and limits.exceeds(floor, 1e9, 1e9)
    assert limits.format_bytes(math.inf) == "unbounded memory"
    assert limits.format_bytes(3 * 2**30) == "3 GiB"
