"""Outward rounding (rounding.py), the Kuhn block's local Jacobian hull and the proved time
variation: each bound lies above an exact or independently computed value."""

from fractions import Fraction

import numpy as np
import pytest

import resnet_flows as rf
from resnet_flows import fields
from resnet_flows.certificate import time_variation_of
from resnet_flows.lipschitz import KuhnBlock
from resnet_flows.rounding import UNIT, gamma, interval_matmul, spectral_norm_upper, up


def test_gamma_and_up_are_above_their_exact_values():
    for n in (1, 3, 100):
        assert gamma(n) >= n * UNIT / (1 - n * UNIT)
    x = np.array([1.0, 3.0, 1e-300])
    assert np.all(up(x) > x)


@pytest.mark.parametrize("shape", [(2, 2), (3, 3), (4, 4), (3, 1)])
def test_spectral_norm_upper_is_above_and_close(shape):
    rng = np.random.default_rng(0)
    m = rng.normal(size=(500, *shape))
    m[:100] = np.eye(*shape) + 1e-9 * m[:100]  # nearly isometric: the hard case for 3x3
    exact = np.linalg.norm(m, ord=2, axis=(1, 2))
    bound = spectral_norm_upper(m)
    assert np.all(bound >= exact)
    if shape in ((2, 2), (3, 3), (3, 1)):
        assert np.all(bound <= exact * (1 + 2e-3))


def test_interval_matmul_encloses_every_product_exactly():
    rng = np.random.default_rng(1)
    a_mid, b_mid = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    a_rad, b_rad = 0.1 * rng.random((3, 3)), 0.1 * rng.random((3, 3))
    mid, rad = interval_matmul(a_mid, a_rad, b_mid, b_rad)
    for _ in range(200):  # corners of the intervals, products in exact rational arithmetic
        a = a_mid + a_rad * rng.choice([-1.0, 1.0], size=(3, 3))
        b = b_mid + b_rad * rng.choice([-1.0, 1.0], size=(3, 3))
        for i in range(3):
            for j in range(3):
                exact = sum(Fraction(a[i, k]) * Fraction(b[k, j]) for k in range(3))
                assert abs(exact - Fraction(mid[i, j])) <= Fraction(rad[i, j])


def test_kuhn_block_local_lipschitz_holds_on_balls():
    field = fields.periodic_drift_rotation()
    net = rf.averaged_kuhn_resnet(field, [0.0, 0.5], (-2 * np.ones(2), 2 * np.ones(2)), 8)
    block = KuhnBlock(net.blocks[0])
    rng = np.random.default_rng(0)
    centres = rng.uniform(-1.5, 1.5, (60, 2))
    for radius in (0.05, 0.3):
        ell = block.lipschitz(centres, np.full(60, radius))
        assert np.all(ell <= block.lipschitz(centres, np.full(60, 10.0)) * (1 + 1e-12))
        for c, bound in zip(centres, ell):
            u = c + radius * rng.uniform(-0.7, 0.7, (400, 2))
            v = c + radius * rng.uniform(-0.7, 0.7, (400, 2))
            quotient = (np.linalg.norm(u + block(u) - v - block(v), axis=1)
                        / np.linalg.norm(u - v, axis=1))
            assert quotient.max() <= bound


def test_time_variation_from_a_primitive_is_the_integral():
    """For p = sin(4 pi s) (turning points at 1/8 + k/4) the primitive form equals the exact
    integral to 1e-12, and lies above it."""
    p = lambda s: np.sin(4 * np.pi * s)
    P = lambda s: -np.cos(4 * np.pi * s) / (4 * np.pi)
    proved = time_variation_of(p, 1.0, primitive=P, turning_points=0.125 + 0.25 * np.arange(4))
    for a, b in ((0.0, 0.3), (0.1, 0.13), (0.2, 0.9)):
        s = np.linspace(a, b, 400_001)
        u = 0.5 * (a + b)
        exact = np.trapezoid(np.abs(p(s) - p(u)), s)
        assert proved(a, b) >= exact * (1 - 1e-8)
        assert proved(a, b) == pytest.approx(exact, rel=1e-6)
