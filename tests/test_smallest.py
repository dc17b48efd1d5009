"""The smallest certified ResNet search: certified below eps and above its measured error, never
larger than the a-priori plan, a complete log, reproducible, and strict about its input."""

import dataclasses
import math

import numpy as np
import pytest
import torch

import resnet_flows as rf
from resnet_flows import fields, smallest
from resnet_flows.smallest import smallest_certified_resnet

K1 = (-np.ones(1), np.ones(1))


@pytest.fixture(scope="module")
def holder():
    return fields.holder_field(1, 0.5)


@pytest.fixture(scope="module")
def found(holder):
    return smallest_certified_resnet(holder, K1, 0.1, seed=0)


def _dense_sup(result, field, n=4000, seed=5):
    """Measured sup |X - Phi| on a sample the search never saw, times including every node."""
    x = np.vstack([np.random.default_rng(seed).uniform(-1, 1, (n, 1)), [[-1.0], [1.0]]])
    grid = np.union1d(np.linspace(0.0, field.horizon, 513), result.network.times)
    return float(np.linalg.norm(result.states_at(x, grid) - rf.reference_flow(field, x, grid),
                                axis=-1).max())


def test_found_network_is_certified_below_eps_and_above_its_error(found, holder):
    assert found.kind in ("kuhn", "trained")
    assert found.certificate is not None and found.certificate.certified
    assert found.bound == found.certificate.bound <= found.eps == 0.1
    assert found.measured <= found.bound
    assert _dense_sup(found, holder) <= found.bound
    assert found.nonzero == rf.count_parameters(found.network)[1]


def test_never_larger_than_the_a_priori_plan(found):
    assert found.plan is not None and found.plan.bound <= 0.1
    assert found.nonzero < found.a_priori_nonzero == found.plan.parameters[1]
    assert found.factor == found.a_priori_nonzero / found.nonzero > 20
    for entry in found.log:
        if entry.kind in ("kuhn", "trained"):
            assert entry.nonzero < found.a_priori_nonzero


def test_log_is_complete(found):
    first, *rest = found.log
    assert first.kind == "a-priori" and first.nonzero == found.a_priori_nonzero
    assert first.bound == found.plan.bound
    for entry in found.log:
        assert entry.seconds >= 0 and entry.outcome and entry.description
        if entry.kind in ("kuhn", "trained") and not math.isnan(entry.bound):
            assert entry.measured <= entry.bound  # every certificate covers its sample
    chosen = [e for e in rest if e.outcome == "certified"]
    assert len(chosen) == 1  # the first certified candidate ends the search
    assert chosen[0] is found.log[-1]
    assert (chosen[0].description, chosen[0].nonzero, chosen[0].bound) == (
        found.description, found.nonzero, found.bound)


def test_reproducible_with_a_fixed_seed(holder, found):
    again = smallest_certified_resnet(holder, K1, 0.1, seed=0)
    strip = lambda log: [dataclasses.replace(e, seconds=0.0) for e in log]
    assert strip(again.log) == strip(found.log)
    assert (again.description, again.bound) == (found.description, found.bound)


def test_trained_family_is_certified_too(holder):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        result = smallest_certified_resnet(holder, K1, 0.15, families=("trained",),
                                           trained_blocks=(4,), widths=(8,), train_steps=300)
        assert torch.get_num_threads() == 2  # one thread inside, the caller's count after
    finally:
        torch.set_num_threads(threads)
    assert result.kind == "trained"
    assert isinstance(result.network, rf.TrainableResNet)
    assert result.bound <= 0.15
    assert _dense_sup(result, holder) <= result.bound


def test_zero_budget_falls_back_to_the_a_priori_construction(holder):
    result = smallest_certified_resnet(holder, K1, 0.1, time_budget=0)
    assert result.kind == "a-priori" and result.certificate is None
    assert result.bound == result.plan.bound <= 0.1
    assert result.nonzero <= result.a_priori_nonzero
    assert _dense_sup(result, holder) <= result.bound
    assert [e.kind for e in result.log] == ["a-priori", "budget", "a-priori"]


def test_zero_training_steps_trains_nothing(holder):
    result = smallest_certified_resnet(holder, K1, 0.1, train_steps=0)
    assert {e.kind for e in result.log} <= {"a-priori", "kuhn"}


def test_huge_eps_still_certified(holder):
    result = smallest_certified_resnet(holder, K1, 10.0)
    assert result.bound <= 10.0 and result.nonzero <= result.a_priori_nonzero


def test_tiny_eps_refused_before_building_a_huge_fallback(holder):
    with pytest.raises(ValueError, match=r"eps=0\.01.*max_parameters=100,000"):
        smallest_certified_resnet(holder, K1, 0.01, time_budget=0, max_parameters=100_000)


def test_no_fallback_when_the_planner_refuses(holder, monkeypatch):
    def refuse(*args, **kwargs):
        raise ValueError("eps cannot be certified")

    monkeypatch.setattr(smallest, "plan_flow_resnet", refuse)
    with pytest.raises(ValueError, match="no a-priori construction.*cannot be certified"):
        smallest_certified_resnet(holder, K1, 0.1, time_budget=0)


def test_field_with_too_small_declared_bounds_refused():
    g = fields.saturated_field([[-1.0]])
    small_sup = rf.VectorField(lambda t, x: g(x), 1, 1.0, 0.5 * g.sup, g.lip)
    with pytest.raises(ValueError, match="sup_bound is too small"):
        smallest_certified_resnet(small_sup, K1, 0.1)
    small_lip = rf.VectorField(lambda t, x: g(x), 1, 1.0, g.sup, 0.5 * g.lip)
    with pytest.raises(ValueError, match="lip_bound is too small"):
        smallest_certified_resnet(small_lip, K1, 0.1)
    expanding = fields.saturated_field([[1.0]])  # tanh: one-sided quotients up to 1
    small_mu = rf.VectorField(lambda t, x: expanding(x), 1, 1.0, 1.0, 1.0, mu_bound=0.5)
    with pytest.raises(ValueError, match="mu_bound is too small"):
        smallest_certified_resnet(small_mu, K1, 0.1)


def test_certificate_below_the_measured_error_is_refused(holder, monkeypatch):
    """A defective certifier (a hundred times too small) is caught by the sample."""
    real = smallest.certify_resnet

    def too_small(*args, **kwargs):
        cert = real(*args, **kwargs)
        return dataclasses.replace(cert, bound=cert.bound / 100)

    monkeypatch.setattr(smallest, "certify_resnet", too_small)
    with pytest.raises(ValueError, match="below its measured error"):
        smallest_certified_resnet(holder, K1, 0.1)


def test_progress_bar_only_on_request(holder, capsys):
    smallest_certified_resnet(holder, K1, 0.2, progress=False)
    assert capsys.readouterr().err == ""
    smallest_certified_resnet(holder, K1, 0.2)  # stderr is not a terminal under pytest
    assert capsys.readouterr().err == ""
    smallest_certified_resnet(holder, K1, 0.2, progress=True)
    assert "smallest certified ResNet" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, name", [
    ({"eps": True}, "eps"), ({"eps": -0.1}, "eps"), ({"eps": "0.1"}, "eps"),
    ({"box": (["a"], ["b"])}, "box"), ({"box": (np.zeros(2), np.ones(2))}, "box"),
    ({"time_budget": -1.0}, "time_budget"), ({"time_budget": math.nan}, "time_budget"),
    ({"train_steps": -1}, "train_steps"), ({"train_steps": 1.5}, "train_steps"),
    ({"seed": -1}, "seed"), ({"families": "kuhn"}, "families"),
    ({"families": ("kuhn", "magic")}, "families"), ({"meshes": ("fancy",)}, "meshes"),
    ({"meshes": ()}, "meshes"), ({"blocks": (0,)}, "blocks"), ({"widths": (2.5,)}, "widths"),
    ({"certify_options": ["rtol"]}, "certify_options"), ({"n_sample": 0}, "n_sample"),
    ({"max_parameters": 0}, "max_parameters"), ({"n_sample": 10**9}, "n_sample"),
    ({"plan_options": {"mesh": "fancy"}}, "mesh"),
])
def test_bad_input_refused_by_name(holder, kwargs, name):
    args = {"field": holder, "box": K1, "eps": 0.1} | kwargs
    with pytest.raises(ValueError, match=name):
        smallest_certified_resnet(args.pop("field"), args.pop("box"), args.pop("eps"), **args)


def test_field_must_be_a_vector_field():
    with pytest.raises(ValueError, match="field must be a VectorField"):
        smallest_certified_resnet(fields.cutoff_rotation(), (-np.ones(2), np.ones(2)), 0.1)
