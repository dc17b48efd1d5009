"""resnet_flows.plan, point-evaluation blocks: point-Euler bounds and certified plans
(thm-complexity)."""

import math

import numpy as np
import pytest

import resnet_flows as rf
from resnet_flows import bounds, fields
from resnet_flows.plan_point import certify_point, plan_point_resnet


def test_local_error_formula_and_order():
    h = np.full(4, 0.1)
    r = bounds.point_euler_local_errors(h, np.ones(4), 2 * np.ones(4), 3.0, 0.5)
    expected = 3 * 0.1**1.5 / 1.5 + 2 * (0.1**2 / 2 + 3 * 0.1**2.5 / (1.5 * 2.5))
    assert np.allclose(r, expected, rtol=1e-14)
    # uniform mesh: e_N ~ h^alpha
    for alpha in (1.0, 0.5):
        errs = [bounds.point_euler_errors(np.full(n, 1 / n), np.ones(n), np.ones(n), 1.0,
                                          alpha)[-1] for n in (1000, 4000)]
        assert math.log(errs[0] / errs[1]) / math.log(4) == pytest.approx(alpha, abs=0.05)


def test_point_euler_bound_holds_for_euler_resnet():
    field = fields.holder_field(2, 0.5)
    x = np.random.default_rng(0).uniform(-1, 1, (200, 2))
    for n in (16, 64):
        times = np.linspace(0, 1, n + 1)
        h = np.diff(times)
        e = bounds.point_euler_errors(h, field.sup(times[:-1]), field.lip(times[:-1]),
                                      field.holder_constant, field.holder_exponent)
        err = np.linalg.norm(rf.euler_resnet(field, times).trajectory(x)
                             - rf.reference_flow(field, x, times), axis=-1).max(axis=1)
        assert np.all(err <= e + 1e-12)


@pytest.mark.parametrize("dim,alpha", [(1, 1.0), (1, 0.5), (2, 0.5)])
def test_plan_point_resnet_meets_eps(dim, alpha):
    field = fields.holder_field(dim, alpha)
    box = (-np.ones(dim), np.ones(dim))
    plan = plan_point_resnet(field, box, 0.2)
    assert plan.bound <= 0.2
    again = certify_point(field, box, plan.times, plan.cells, plan.regularity)
    assert again.bound == pytest.approx(plan.bound, rel=1e-12)
    net = rf.build_point_resnet(field, plan.times, plan.block_box, plan.cells)
    x = np.random.default_rng(1).uniform(-1, 1, (300, dim))
    nodes = np.linalg.norm(net.trajectory(x) - rf.reference_flow(field, x, plan.times), axis=-1)
    assert np.all(nodes.max(axis=1) <= plan.node_bounds + 1e-12)
    t = np.linspace(0, 1, 257)
    assert np.linalg.norm(net.interpolate(t, x) - rf.reference_flow(field, x, t),
                          axis=-1).max() <= plan.bound


def test_dyadic_and_budgets():
    field = fields.holder_field(1, 0.5)
    box = (-np.ones(1), np.ones(1))
    plan = plan_point_resnet(field, box, 0.1, dyadic=True)
    assert plan.num_blocks & (plan.num_blocks - 1) == 0 and plan.bound <= 0.1
    lip = plan_point_resnet(field, box, 0.1, regularity="lipschitz")
    c2 = plan_point_resnet(field, box, 0.1, regularity="c2")
    assert lip.regularity == "lipschitz" and c2.regularity == "c2"
    assert lip.parameters[1] > c2.parameters[1]


def test_bad_inputs():
    field = fields.holder_field(1, 1.0)
    box = (-np.ones(1), np.ones(1))
    with pytest.raises(ValueError, match="alpha"):
        bounds.point_euler_local_errors([0.1], [1.0], [1.0], 1.0, 1.5)
    with pytest.raises(ValueError, match="steps"):
        bounds.point_euler_errors([-0.1], [1.0], [1.0], 1.0, 1.0)
    with pytest.raises(ValueError, match="eps"):
        plan_point_resnet(field, box, -1.0)
    with pytest.raises(ValueError, match="regularity"):
        plan_point_resnet(field, box, 0.1, regularity="smooth")
    with pytest.raises(ValueError, match="holder"):
        plan_point_resnet(fields.switching_rotations(), (-np.ones(2), np.ones(2)), 0.1)
    with pytest.raises(ValueError, match="holder"):
        certify_point(field, box, np.linspace(0, 1, 5), 4, holder=3.0)
    with pytest.raises(ValueError, match="times"):
        certify_point(field, box, np.linspace(0, 0.5, 5), 4)


def test_point_plans_choose_their_mesh_with_the_point_euler_parts():
    field = fields.holder_field(1, 0.5)
    box = (-np.ones(1), np.ones(1))
    plan = plan_point_resnet(field, box, 0.1, regularity="lipschitz")
    assert plan.mesh == "uniform" and plan.mesh_reason.startswith("estimate")
    graded = plan_point_resnet(field, box, 0.1, regularity="lipschitz", mesh="graded")
    assert graded.mesh == "graded" and graded.bound <= 0.1
    assert 0.9 * plan.num_blocks < graded.num_blocks  # graded is not 10 % smaller: uniform kept
    dyadic = plan_point_resnet(field, box, 0.1, dyadic=True)
    assert dyadic.mesh == "uniform" and "dyadic" in dyadic.mesh_reason
    with pytest.raises(ValueError, match="dyadic"):
        plan_point_resnet(field, box, 0.1, dyadic=True, mesh="graded")


def test_point_plans_refuse_huge_work_and_wrong_bounds():
    field = fields.holder_field(1, 0.5)
    box = (-np.ones(1), np.ones(1))
    with pytest.raises(rf.PlanTooLarge, match="eps=1e-08"):
        plan_point_resnet(field, box, 1e-8)
    plan = plan_point_resnet(field, box, 0.1)
    with pytest.raises(rf.PlanTooLarge, match="max_parameters"):
        plan_point_resnet(field, box, 0.1, max_parameters=plan.parameters[1] // 2)
    lying = rf.VectorField(field.f, 1, 1.0, field.sup_bound, lambda t: 0.1 + 0 * np.asarray(t),
                           name="L too small")
    lying.holder_exponent, lying.holder_constant = field.holder_exponent, field.holder_constant
    with pytest.raises(ValueError, match="lip_bound"):
        plan_point_resnet(lying, box, 0.1)
