"""resnet_flows.invertibility, matching: contractive ReLU blocks, matching training and the
Jacobian helpers (thm-invertible, chapter 8)."""

import numpy as np
import pytest
import torch

import resnet_flows as rf
from resnet_flows import bounds, invertibility


def test_contractive_block_is_contractive_by_construction():
    block = invertibility.ContractiveBlock(2, width=16, hidden_layers=3, lip_max=0.8,
                                      initial_lip=0.5, seed=3)
    assert block_lip(block) == pytest.approx(0.5, rel=1e-12)
    with torch.no_grad():
        for v in block.raw_weights:
            v.mul_(7.0)  # the normalisation removes any scale of the raw weights
        block.lip_logit.fill_(40.0)  # q -> lip_max
    assert block_lip(block) <= 0.8 + 1e-12
    x = torch.randn(500, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = x + 0.1 * torch.randn(500, 2, dtype=torch.float64)
    with torch.no_grad():
        ratio = (block(x) - block(y)).norm(dim=1) / (x - y).norm(dim=1)
    assert float(ratio.max()) <= block_lip(block)


def block_lip(block):
    return invertibility.block_lipschitz_bound(block)


def test_contractive_block_bad_input():
    with pytest.raises(ValueError, match="lip_max"):
        invertibility.ContractiveBlock(2, lip_max=1.0)
    with pytest.raises(ValueError, match="initial_lip"):
        invertibility.ContractiveBlock(2, lip_max=0.5, initial_lip=0.6)
    with pytest.raises(ValueError, match="width"):
        invertibility.ContractiveBlock(2, width=0)
    with pytest.raises(ValueError, match="block"):
        invertibility.block_lipschitz_bound(torch.nn.Linear(2, 2))


def test_landmarks():
    src, tgt = invertibility.circle_to_star_landmarks(40, arms=5, amplitude=0.3)
    assert src.shape == tgt.shape == (40, 2)
    assert np.allclose(np.linalg.norm(src, axis=1), 1.0)
    r = np.linalg.norm(tgt, axis=1)
    assert r.max() == pytest.approx(1.3) and r.min() == pytest.approx(0.7, abs=0.02)
    with pytest.raises(ValueError, match="amplitude"):
        invertibility.circle_to_star_landmarks(10, amplitude=1.0)


def test_training_reduces_the_loss_and_keeps_the_certificate():
    torch.set_num_threads(1)
    net = invertibility.contractive_resnet(2, blocks=4, width=8, lip_max=0.9, initial_lip=0.3, seed=1)
    src, tgt = invertibility.circle_to_star_landmarks(16, amplitude=0.2)
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5)), -1).reshape(-1, 2)
    result = invertibility.train_matching(net, src, tgt, grid, steps=60, lr=1e-2, progress=False)
    assert result.losses[-1] < result.losses[0]
    q = np.array([invertibility.block_lipschitz_bound(b) for b in net.blocks])
    assert np.all(q < 0.9 + 1e-12)
    pts = np.random.default_rng(0).uniform(-1.5, 1.5, (300, 2))
    norms = invertibility.block_jacobian_norms(net, pts)
    assert norms.shape == (4, 300) and np.all(norms <= q[:, None] * (1 + 1e-12))
    det = invertibility.jacobian_determinants(net, pts)
    lo, hi = bounds.jacobian_determinant_bounds(q, 2)
    assert np.all(det >= lo) and np.all(det <= hi)
    # autograd determinant against central differences (away from kinks almost surely)
    eps = 1e-6
    with torch.no_grad():
        f = lambda x: net(torch.as_tensor(x)).detach().numpy()
        cols = [(f(pts + eps * e) - f(pts - eps * e)) / (2 * eps) for e in np.eye(2)]
    fd = cols[0][:, 0] * cols[1][:, 1] - cols[0][:, 1] * cols[1][:, 0]
    assert np.median(np.abs(fd - det)) < 1e-6
    # the inverse carries the image back
    y = f(pts)
    z, bound = rf.invert_with_bound(net, y, 200, q)
    assert np.all(np.linalg.norm(z - pts, axis=1) <= bound + 1e-9)


def test_train_matching_bad_input():
    net = invertibility.contractive_resnet(2, blocks=2, width=4)
    with pytest.raises(ValueError, match="target"):
        invertibility.train_matching(net, np.zeros((3, 2)), np.zeros((4, 2)), np.zeros((2, 2)), 1)
    with pytest.raises(ValueError, match="steps"):
        invertibility.train_matching(net, np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((2, 2)), 0)
