"""A-posteriori certificates (thm-certificate): sound on dense samples, alarmed by bad networks,
strict about their input."""

import itertools

import numpy as np
import pytest
import torch
from torch import nn

import resnet_flows as rf
from resnet_flows import baselines, fields, measure
from resnet_flows.certificate import certify_resnet, time_variation_of
from resnet_flows.lipschitz import MLPBlock, relu_blocks

K = (-np.ones(2), np.ones(2))


def _dense_sup(states_fn, field, n=3000, times=257, seed=3):
    """Measured sup over a random sample of K (plus its corners) and a uniform time grid."""
    x = np.random.default_rng(seed).uniform(-1, 1, (n, 2))
    x = np.vstack([x, [[-1, -1], [-1, 1], [1, -1], [1, 1]]])
    grid = np.linspace(0.0, field.horizon, times)
    return float(np.linalg.norm(states_fn(x, grid) - rf.reference_flow(field, x, grid),
                                axis=-1).max())


def _trainable_states(model):
    def states(x, grid):
        with torch.no_grad():
            return model.states_at(torch.as_tensor(x), grid).numpy()
    return states


def _resnet_states(net):
    return lambda x, grid: net.interpolate(grid, x)


@pytest.fixture(scope="module")
def rotation():
    return fields.time_scaled(fields.cutoff_rotation(1.0), lambda t: 1.0 + 0.0 * np.asarray(t),
                              lambda t: np.asarray(t, dtype=np.float64), 1.0, name="rotation")


def test_untrained_resnet_certificate_dominates_dense_sample(rotation):
    model = baselines.TrainableResNet(2, np.linspace(0, 1, 5), 8, seed=1)
    cert = certify_resnet(model, rotation, K, cells=8, max_points=6000)
    measured = _dense_sup(_trainable_states(model), rotation)
    assert cert.certified and measured <= cert.bound
    assert cert.bound <= 3 * measured  # an untrained net is far off, and the bound says so


def test_kuhn_resnet_and_block_list_agree(rotation):
    times = np.linspace(0, 1, 5)
    net = rf.averaged_kuhn_resnet(rotation, times, (-3 * np.ones(2), 3 * np.ones(2)), 6)
    cert = certify_resnet(net, rotation, K, cells=8, max_points=6000)
    assert cert.certified and _dense_sup(_resnet_states(net), rotation) <= cert.bound
    as_list = certify_resnet(list(net.blocks), rotation, K, times, cells=8, max_points=6000)
    assert as_list.bound == pytest.approx(cert.bound)


def test_kuhn_box_too_small_is_refused(rotation):
    times = np.linspace(0, 1, 3)
    net = rf.averaged_kuhn_resnet(rotation, times, (-1.05 * np.ones(2), 1.05 * np.ones(2)), 4)
    cert = certify_resnet(net, rotation, K, cells=4, max_points=500)
    assert not cert.certified and "leave the box" in cert.refused and cert.bound == np.inf


def test_perturbed_weights_get_a_large_bound_never_a_false_one():
    field = fields.periodic_drift_rotation()
    times = np.linspace(0, 1, 9)
    net = rf.averaged_kuhn_resnet(field, times, (-3 * np.ones(2), 3 * np.ones(2)), 8)
    good = certify_resnet(net, field, K, cells=8, max_points=8000)
    model = baselines.TrainableResNet(2, times, 4, seed=0)  # same times, its own weights
    with torch.no_grad():
        model.w_out.mul_(40.0)  # a block far from any flow step
    bad = certify_resnet(model, field, K, cells=8, max_points=8000)
    assert _dense_sup(_trainable_states(model), field, n=1000) <= bad.bound
    assert bad.bound > 10 * good.bound


def test_spike_between_sample_points_is_covered():
    """A narrow ReLU spike of height 0.05 centred on a cube edge: every sampled centre sees zero
    error, so only the Lipschitz slack of the certificate can account for the spike."""
    still = fields.time_scaled(fields.constant_drift((0.0, 0.0)), lambda t: np.ones_like(t),
                               lambda t: np.asarray(t, dtype=np.float64), 1.0)
    width, height = 0.01, 0.05
    hidden = nn.Linear(2, 3, dtype=torch.float64)
    out = nn.Linear(3, 2, dtype=torch.float64)
    with torch.no_grad():
        hidden.weight.copy_(torch.tensor([[1.0, 0.0]] * 3))
        hidden.bias.copy_(torch.tensor([width, 0.0, -width]))
        out.weight.copy_(height / width * torch.tensor([[1.0, -2.0, 1.0], [0.0, 0.0, 0.0]]))
        out.bias.zero_()
    block = nn.Sequential(hidden, nn.ReLU(), out)
    cert = certify_resnet([block], still, K, [0.0, 1.0], cells=16, max_points=300, max_rounds=1)
    x = np.array([[0.0, 0.3]])
    with torch.no_grad():
        spike = float(block(torch.as_tensor(x)).norm())
    assert spike == pytest.approx(height)
    assert cert.sampled_max < 1e-12 and cert.bound >= spike


def test_local_lipschitz_bounds_hold_on_balls():
    torch.manual_seed(0)
    block = nn.Sequential(nn.Linear(2, 16, dtype=torch.float64), nn.ReLU(),
                          nn.Linear(16, 16, dtype=torch.float64), nn.ReLU(),
                          nn.Linear(16, 2, dtype=torch.float64))
    (mlp,), _ = relu_blocks([block], [0.0, 1.0])
    rng = np.random.default_rng(0)
    centres = rng.uniform(-1, 1, (40, 2))
    for radius in (0.01, 0.3):
        ell = mlp.lipschitz(centres, np.full(40, radius))
        for c, bound in zip(centres, ell):
            u = c + radius * rng.uniform(-0.7, 0.7, (300, 2))
            v = c + radius * rng.uniform(-0.7, 0.7, (300, 2))
            quotient = (np.linalg.norm(u + mlp(u) - v - mlp(v), axis=1)
                        / np.linalg.norm(u - v, axis=1))
            assert quotient.max() <= bound * (1 + 1e-12)


def test_time_variation_of_a_sine():
    variation = time_variation_of(np.sin, 2.0)
    a, b = 0.3, 0.5
    s = np.linspace(a, b, 20001)
    exact = 2.0 * np.trapezoid(np.abs(np.sin(s) - np.sin(0.4)), s)
    assert variation(a, b) == pytest.approx(exact, rel=1e-6)


@pytest.mark.parametrize("case, match", [
    ("tanh", "net: block 0 contains Tanh"),
    ("dimension", r"net acts on R\^3"),
    ("times", "times must be strictly increasing"),
    ("box", "box K"),
    ("box_dim", "box must have dimension 2"),
    ("field", "field must be a VectorField"),
])
def test_bad_input_names_the_parameter(rotation, case, match):
    linear = lambda i, o: nn.Linear(i, o, dtype=torch.float64)
    net, field, box, times = [nn.Sequential(linear(2, 4), nn.ReLU(), linear(4, 2))], rotation, K, [0, 1]
    if case == "tanh":
        net = [nn.Sequential(linear(2, 4), nn.Tanh(), linear(4, 2))]
    elif case == "dimension":
        net = [nn.Sequential(linear(3, 4), nn.ReLU(), linear(4, 3))]
    elif case == "times":
        net, times = net * 2, [0.0, 0.5, 0.5]
    elif case == "box":
        net = rf.averaged_kuhn_resnet(rotation, [0, 1], (-0.5 * np.ones(2), np.ones(2)), 2)
        times = None
    elif case == "box_dim":
        box = (-np.ones(3), np.ones(3))
    elif case == "field":
        field = "not a field"
    with pytest.raises(ValueError, match=match):
        certify_resnet(net, field, box, times, cells=2)


def test_mlp_block_must_map_to_itself():
    with pytest.raises(ValueError, match="net: a block maps R"):
        MLPBlock([(np.ones((3, 2)), np.zeros(3)), (np.ones((3, 3)), np.zeros(3))])


def test_one_sided_lipschitz_of_cutoff_rotation_is_sound_and_sharp():
    """lem-one-sided: <u - v, g(u) - g(v)> <= |omega| 3^{-3/2} |u - v|^2, nearly attained for
    close pairs at |x| = sqrt(2) r along the eigenvector of sym(Dg)."""
    g = fields.cutoff_rotation(omega=-2.0, radius=0.7, center=(0.3, -0.1))
    rng = np.random.default_rng(0)
    u = rng.uniform(-3, 3, (200_000, 2))
    v = u + rng.normal(scale=10.0 ** rng.uniform(-4, 0.5, (200_000, 1)), size=(200_000, 2))
    quotient = np.einsum("ij,ij->i", u - v, g(u) - g(v)) / np.sum((u - v) ** 2, axis=1)
    assert quotient.max() <= g.mu * (1 + 1e-9)
    assert quotient.max() >= 0.97 * g.mu
    assert g.mu == pytest.approx(2.0 / 3**1.5)


def test_one_sided_growth_bounds_the_averaged_euler_map():
    """lem-one-sided (2): z -> z + F_k(z) is sqrt(1 + 2 mu_k + Lambda_k^2)-Lipschitz, and for a
    rotation that is far below 1 + Lambda_k."""
    field = fields.periodic_drift_rotation()
    a, b = 0.2, 0.45
    lam, mu = float(field.lip_integral(a, b)), float(field.mu_integral(a, b))
    growth = float(rf.bounds.one_sided_growth(np.array([lam]), np.array([mu]))[0])
    rng = np.random.default_rng(1)
    y = rng.uniform(-3, 3, (100_000, 2))
    z = y + rng.normal(scale=0.05, size=y.shape)
    step = lambda p: p + field.average(a, b, p)
    quotient = np.linalg.norm(step(y) - step(z), axis=1) / np.linalg.norm(y - z, axis=1)
    assert quotient.max() <= 1 + growth
    assert growth < 0.5 * lam
    with pytest.raises(ValueError, match="mu_integrals"):
        rf.bounds.one_sided_growth(np.array([lam]), np.array([mu, mu]))


def test_planner_with_mu_is_smaller_and_still_holds():
    field = fields.periodic_drift_rotation()
    plain = fields.periodic_drift_rotation()
    plain.mu_bound = None
    with_mu, without = rf.plan_flow_resnet(field, K, 0.3), rf.plan_flow_resnet(plain, K, 0.3)
    assert with_mu.parameters[1] < without.parameters[1]
    net = rf.build_certified_resnet(field, with_mu)
    x = np.random.default_rng(2).uniform(-1, 1, (300, 2))
    times = measure.evaluation_times(with_mu.times, base=128, per_block=2)
    assert measure.measured_space_time_error(net, field, x, times).sup <= with_mu.bound


@pytest.mark.parametrize("make, profile", [
    (fields.singular_rotation, lambda s: 0.5 / np.sqrt(s)),
    (lambda: fields.time_scaled(fields.cutoff_rotation(3.0), lambda t: 1 + np.cos(9 * t),
                                lambda t: t + np.sin(9 * t) / 9, 1.0), lambda s: 1 + np.cos(9 * s)),
])
def test_chord_error_of_the_flow_is_bounded(make, profile):
    """Step 3 of thm-certificate: the flow leaves its chord on [s_j, s_{j+1}] by at most iota_j,
    in both forms; a rotation whose speed changes fast comes close to the bound."""
    from resnet_flows.certificate_terms import interpolation_errors as _interpolation_errors

    field = make()
    sup_g = 1.0 if "singular" in field.name else 3.0
    sub = np.concatenate([[0.0], np.geomspace(1e-4, 1.0, 25)])
    first = _interpolation_errors(field, sub, None)
    second = _interpolation_errors(field, sub, time_variation_of(profile, sup_g))
    assert np.all(second <= first)
    x = np.random.default_rng(0).uniform(-2, 2, (200, 2))
    worst = 0.0
    for j, (a, b) in enumerate(itertools.pairwise(sub)):
        lam = np.linspace(0, 1, 21)
        states = rf.reference_flow(field, x, a + lam * (b - a))  # x taken as states at a
        chord = (1 - lam)[:, None, None] * states[0] + lam[:, None, None] * states[-1]
        gap = float(np.linalg.norm(states - chord, axis=-1).max())
        assert gap <= second[j] * (1 + 1e-6) + 1e-12
        worst = max(worst, gap / second[j])
    assert worst > 0.05
