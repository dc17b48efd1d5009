"""resnet_flows.search: the planner core's search over shares of eps, its pruning and its
refusals (the block search limit, the limits, a stalled mesh), each named in its message."""

import math
import re

import numpy as np
import pytest

import resnet_flows as rf
from resnet_flows import fields, limits, rough
from resnet_flows.search import CELLS_LIMIT, fewest_cells

K2 = (-np.ones(2), np.ones(2))


def test_the_block_search_limit_says_it_was_hit_and_what_to_do():
    """Defect: hitting the 2^22-block search limit read as 'cannot be certified'. A uniform mesh
    on |t - 0.5|^-0.9 needs N ~ eps^-10 blocks; with memory unlimited, the search runs to its
    limit (closed forms: seconds)."""
    field = rough.power_singular_rotation(beta=0.9, tstar=0.5, strength=0.02)
    with pytest.raises(ValueError) as e:
        rf.plan_flow_resnet(field, K2, 0.05, mesh="uniform", share=0.5, max_memory=math.inf)
    text = str(e.value)
    assert not isinstance(e.value, rf.PlanTooLarge) and "cannot be certified" not in text
    for words in ("eps=0.05", "its limit of 4,194,304 blocks", "2^22", "MAX_SEARCH_BLOCKS",
                  "not a proof", "raise eps", "mesh='graded'", "mesh=<array of times>"):
        assert words in text
    # the eps it names as fitting at that share does fit there
    fits = float(re.search(r"would fit eps=([0-9.]+(?:e[-+]?[0-9]+)?)\)", text).group(1))
    assert rf.plan_flow_resnet(field, K2, 1.02 * fits, mesh="graded", share=0.5).bound <= fits * 1.02


def test_the_limit_that_cut_the_search_is_named_with_the_estimate():
    field = fields.switching_rotations()
    plan = rf.plan_flow_resnet(field, K2, 0.1)
    with pytest.raises(rf.PlanTooLarge) as e:
        rf.plan_flow_resnet(field, K2, 0.1, max_parameters=plan.parameters[1] // 2)
    assert "eps=0.1" in str(e.value) and "nonzero parameters" in str(e.value)
    assert "max_parameters" in str(e.value)
    assert rf.plan_flow_resnet(field, K2, 0.1, max_parameters=plan.parameters[1]).parameters == \
        plan.parameters


def test_pruning_keeps_the_cheapest_plan():
    """Shares dropped before their bisection (their least N with their fewest cells exceeds
    the best plan) cannot have held a cheaper plan: the default equals the best single share."""
    field = rough.interior_singular_field(beta=0.8)
    default = rf.plan_flow_resnet(field, K2, 0.2)
    each = [rf.plan_flow_resnet(field, K2, 0.2, share=s) for s in rf.DEFAULT_SHARES[:12]]
    assert default.parameters[1] == min(p.parameters[1] for p in each)


def test_fewest_cells_stops_at_its_limit():
    field = fields.switching_rotations()
    times = rf.mesh_times(field, 64)

    def plan_for(cells):
        return rf.certify(field, K2, times, cells)

    found = fewest_cells(plan_for, 0.05, 1.0)
    assert found is not None and found.block_part <= 0.05
    assert fewest_cells(plan_for, 0.05, 1.0, limit=found.cells - 1) is None
    assert CELLS_LIMIT == 2**16


def test_given_times_that_cannot_reach_eps_say_so():
    field = fields.switching_rotations()
    with pytest.raises(ValueError, match="cannot be certified with the given times:"):
        rf.plan_flow_resnet(field, K2, 0.01, mesh=[0.0, 0.5, 1.0])
    assert limits.MAX_SEARCH_BLOCKS == 2**22
