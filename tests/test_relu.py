"""The Kuhn hat network: exact interpolation, the two error bounds, their sharpness, sizes."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from resnet_flows import bounds
from resnet_flows.relu import (
    KuhnGrid,
    count_parameters,
    cpwl_network,
    kuhn_network_size,
)


def random_box(rng, d):
    lower = -rng.uniform(0.3, 1.5, d)
    return lower, lower + rng.uniform(0.5, 2.5, d)


def points_in(box, n, rng):
    lower, upper = box
    return lower + (upper - lower) * rng.random((n, lower.size))


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_hats_are_the_nodal_basis(d):
    rng = np.random.default_rng(d)
    grid = KuhnGrid(random_box(rng, d), 3)
    nodes = torch.as_tensor(grid.nodes())
    hats = grid.hats(nodes).numpy()
    assert np.allclose(hats, np.eye(grid.num_nodes), atol=1e-13)
    x = torch.as_tensor(points_in(grid.box, 300, rng))
    assert np.allclose(grid.hats(x).sum(0).numpy(), 1.0, atol=1e-13)


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_hat_network_is_linear_on_each_kuhn_simplex(d):
    rng = np.random.default_rng(10 + d)
    grid = KuhnGrid(random_box(rng, d), 2)
    values = rng.standard_normal((grid.num_nodes, 1))
    net = cpwl_network(values, None, 2, grid=grid)
    # points of one simplex: same cell and same order of local coordinates
    cell = rng.integers(0, 2, d)
    order = rng.permutation(d)
    local = np.sort(rng.random((4, d)), axis=1)[:, ::-1]
    u = np.empty_like(local)
    u[:, order] = local
    x = grid.lower + (cell + u) * grid.widths
    weights = rng.dirichlet(np.ones(4))
    mix = weights @ x
    values_at = net(torch.as_tensor(np.vstack([x, mix]))).numpy()[:, 0]
    assert values_at[-1] == pytest.approx(weights @ values_at[:-1], abs=1e-12)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_network_equals_simplex_interpolant_and_dense_network(d):
    rng = np.random.default_rng(20 + d)
    box = random_box(rng, d)
    net = cpwl_network(lambda x: np.stack([np.sin(x.sum(1)), np.cos(x[:, 0]) * x[:, -1]], 1),
                       box, 4)
    x = points_in(box, 400, rng)
    by_network = net(torch.as_tensor(x)).numpy()
    assert np.max(np.abs(by_network - net.fast(x))) <= 1e-12
    h = torch.as_tensor(x).T
    layers = net.dense_layers()
    for weight, bias in layers[:-1]:
        h = torch.relu(weight @ h + bias[:, None])
    dense = (layers[-1][0] @ h).T.numpy()
    assert np.max(np.abs(by_network - dense)) <= 1e-12


@settings(max_examples=25, deadline=None)
@given(d=st.integers(1, 3), cells=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_interpolation_error_within_both_bounds(d, cells, seed):
    rng = np.random.default_rng(seed)
    box = random_box(rng, d)
    a = rng.standard_normal(d)
    # g = sin(a.x): Lip = |a|, H = |a|^2
    net = cpwl_network(lambda x: np.sin(x @ a), box, cells)
    x = points_in(box, 500, rng)
    err = np.max(np.abs(net.fast(x)[:, 0] - np.sin(x @ a)))
    lip = float(np.linalg.norm(a))
    assert err <= bounds.cpwl_lipschitz_error(lip, net.grid.widths) * (1 + 1e-12)
    assert err <= bounds.cpwl_c2_error(lip**2, net.grid.widths) * (1 + 1e-12)


def test_bounds_are_attained_by_the_extremal_examples():
    rng = np.random.default_rng(3)
    for d in (1, 2, 3):
        box = random_box(rng, d)
        grid = KuhnGrid(box, 4)
        centre = grid.lower + 1.5 * grid.widths  # centre of a cell: circumcentre of its simplices
        cone = cpwl_network(lambda x, c=centre: np.linalg.norm(x - c, axis=1), box, 4)
        err_cone = abs(cone.fast(centre[None])[0, 0] - 0.0)
        assert err_cone == pytest.approx(bounds.cpwl_lipschitz_error(1.0, grid.widths), rel=1e-12)
        square = cpwl_network(lambda x: np.sum(x * x, axis=1), box, 4)
        err_square = abs(square.fast(centre[None])[0, 0] - centre @ centre)
        assert err_square == pytest.approx(bounds.cpwl_c2_error(2.0, grid.widths), rel=1e-10)


@pytest.mark.parametrize("d,cells", [(1, 5), (2, 3), (3, 2), (4, 2), (5, 1)])
def test_size_formula_matches_the_built_network(d, cells):
    rng = np.random.default_rng(d)
    box = random_box(rng, d)
    net = cpwl_network(lambda x: np.stack([np.exp(x[:, 0]), 2 + x.sum(1)], 1), box, cells)
    assert count_parameters(net) == kuhn_network_size(d, cells, 2)
    total = sum(w.numel() + b.numel() for w, b in net.dense_layers())
    assert count_parameters(net)[0] == total
    assert net.depth == int(np.ceil(np.log2(d))) + 2 if d > 1 else net.depth == 2


def test_shared_grid_blocks_count_separately():
    grid = KuhnGrid(([0.0, 0.0], [1.0, 1.0]), 3)
    a = cpwl_network(np.ones((grid.num_nodes, 2)), None, 3, grid=grid)
    b = cpwl_network(2 * np.ones((grid.num_nodes, 2)), None, 3, grid=grid)
    assert a.grid.hidden_layers is b.grid.hidden_layers
    assert count_parameters(a) == count_parameters(b)


def test_count_parameters_of_a_plain_module():
    layer = torch.nn.Linear(3, 2, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[0, 0] = 1.0
        layer.bias.zero_()
    assert count_parameters(layer) == (8, 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: KuhnGrid(([0.0], [1.0]), 0),
        lambda: KuhnGrid(([0.0], [1.0]), 2.5),
        lambda: KuhnGrid(([1.0], [0.0]), 2),
        lambda: KuhnGrid(([0.0, 0.0], [1.0]), 2),
        lambda: KuhnGrid(([], []), 2),
        lambda: KuhnGrid(([0.0], [np.inf]), 2),
        lambda: KuhnGrid(([0.0], [1.0]), 2).locate([[1.5]]),
        lambda: KuhnGrid(([0.0], [1.0]), 2).locate([[0.5, 0.5]]),
        lambda: cpwl_network(np.ones((3, 1)), ([0.0], [1.0]), 4),
        lambda: cpwl_network(np.full((5, 1), np.nan), ([0.0], [1.0]), 4),
        lambda: cpwl_network(lambda x: x, ([0.0], [1.0]), 4)(torch.zeros(3, 2)),
        lambda: kuhn_network_size(0, 2, 1),
        lambda: count_parameters("not a module"),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_error_messages_name_the_parameter():
    with pytest.raises(ValueError, match="cells"):
        KuhnGrid(([0.0], [1.0]), 0)
    with pytest.raises(ValueError, match="box"):
        KuhnGrid(([1.0], [0.0]), 1)


def test_cube_corners_lie_on_the_circumsphere():
    grid = KuhnGrid(([0.0, 0.0, 0.0], [1.0, 2.0, 3.0]), 2)
    centre = grid.lower + 0.5 * grid.widths
    corners = grid.lower + np.array(list(itertools.product([0, 1], repeat=3))) * grid.widths
    assert np.allclose(np.linalg.norm(corners - centre, axis=1), grid.circumradius)


def test_non_finite_input_same_error_for_network_and_fast_evaluator():
    net = cpwl_network(lambda z: np.sin(z), ([0.0, 0.0], [1.0, 1.0]), 3)
    x = np.array([[np.nan, 0.5]])
    with pytest.raises(ValueError, match="x contains non-finite values"):
        net.fast(x)
    with pytest.raises(ValueError, match="x contains non-finite values"):
        net(torch.as_tensor(x))
