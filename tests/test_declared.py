"""resnet_flows.declared: the planners' sampled check of a field's declared constants refuses
each bound that samples exceed (naming it and the ratio), passes every field whose bounds are
proved, and stays cheap."""

import numpy as np
import pytest

import resnet_flows as rf
from resnet_flows import fields, rough
from resnet_flows.declared import check_declared_bounds
from user_fields import user_field_2d, user_field_3d

K2 = (-np.ones(2), np.ones(2))


def rotation(scale):
    return lambda t, x: scale * np.stack([-np.sin(x[:, 1]), np.sin(x[:, 0])], axis=1)


@pytest.mark.parametrize("field,bound,ratio", [
    # |f| <= 2.83 sqrt 2, Lip f = 2.83: L declared 1, ratio 2.83
    (rf.VectorField(rotation(2.83), 2, 1.0, 4.0, 1.0, name="L too small"), "lip_bound", 2.83),
    (rf.VectorField(rotation(2.83), 2, 1.0, 1.0, 3.0, name="m too small"), "sup_bound", 4.0),
    (rf.VectorField(rotation(2.0), 2, 1.0, 3.0, 2.0, 0.5, name="H too small"), "hess_bound", 4.0),
])
def test_a_bound_too_small_is_refused_by_name(field, bound, ratio):
    """Defect: the plan was made, and evaluation raised StateOutsideBox with no hint."""
    with pytest.raises(ValueError, match=rf"{bound}.* by a factor [0-9.]+.*check_field=False") as e:
        rf.plan_flow_resnet(field, K2, 0.3)
    sampled = float(str(e.value).split("by a factor ")[1].split()[0])
    assert 1.0 < sampled <= ratio * 1.001
    plan = rf.plan_flow_resnet(field, K2, 0.3, regularity="lipschitz", check_field=False)
    assert plan.bound <= 0.3  # switched off, the (wrong) plan is made


def test_a_one_sided_bound_too_small_is_refused():
    field = rf.VectorField(lambda t, x: 0.5 * np.tanh(x), 2, 1.0, 0.5 * np.sqrt(2), 0.5,
                           mu_bound=lambda t: -0.1 + 0.0 * np.asarray(t), name="mu too small")
    with pytest.raises(ValueError, match="mu_bound"):
        rf.plan_flow_resnet(field, K2, 0.3)


def test_a_singularity_hidden_by_constant_bounds_is_found():
    """A field declaring no singular time but having one: f = 0.1 |t - 0.5|^-0.6 tanh(x) with
    m = L = 1 exceeds m only within 0.0215 of t = 0.5, where eight random times rarely look."""
    def f(t, x):
        return 0.1 * abs(t - 0.5) ** -0.6 * np.tanh(x)

    field = rf.VectorField(f, 2, 1.0, 1.0, 1.0, name="hidden singularity")
    with pytest.raises(ValueError, match="sup_bound"):
        rf.plan_flow_resnet(field, K2, 0.25)


@pytest.mark.parametrize("field", [
    user_field_2d(), user_field_3d(), fields.switching_rotations(), fields.singular_rotation(),
    fields.periodic_drift_rotation(), fields.saturated_field_3d(), rough.interior_singular_field(),
    rough.takagi_field(2, 0.5),
], ids=lambda f: f.name)
def test_fields_with_proved_bounds_pass(field):
    box = (-np.ones(field.dim), np.ones(field.dim))
    sampled = check_declared_bounds(field, box, ["lipschitz", "c2"])
    assert max(sampled["sup"], sampled["lip"], sampled["hess"]) <= 1.0


def test_the_check_is_cheap_and_seeded():
    calls = []

    def f(t, x):
        calls.append(len(x))
        return np.sin(x)

    field = rf.VectorField(f, 2, 1.0, np.sqrt(2), 1.0, 1.0)
    first = check_declared_bounds(field, K2, ["lipschitz", "c2"])
    assert sum(calls) <= 2000  # a few hundred points, each evaluated a few times
    assert check_declared_bounds(field, K2, ["lipschitz", "c2"]) == first
