"""Certificate / measured ratios of issue 17's targets: prints a table, asserts nothing.

``python benchmarks/certificate_targets.py [build|new|old] [names...]``: ``build`` trains and
saves the networks (chapter 10's quick-mode set, a trained ResNet on a beta = 0.9 singular
field, a d = 3 trained ResNet) to /tmp; ``new`` certifies them with this checkout's package,
``old`` with the one on ``PYTHONPATH`` (e.g. main's), for a before/after table. The measured
sup is taken through the networks' own forward on 2000 random points of K plus its corners and
a time grid holding 257 uniform times, every node and 64 times graded towards 0.
"""

from __future__ import annotations

import copy
import pickle
import sys
import time

import numpy as np
import torch

import resnet_flows as rf
from resnet_flows import baselines, certificate, fields
from resnet_flows.resnet import interpolate_states

STORE = "/tmp/certcore_targets.pkl"
torch.set_num_threads(1)


def beta_field(beta=0.9, strength=0.1):
    g = fields.cutoff_rotation(1.0, 1.0)
    rate = lambda t: strength * np.asarray(t, dtype=np.float64) ** (-beta)
    primitive = lambda t: strength * np.asarray(t, dtype=np.float64) ** (1 - beta) / (1 - beta)
    with np.errstate(divide="ignore"):
        return fields.time_scaled(g, rate, primitive, 1.0, breakpoints=(0.0,),
                                  singular_times=((0.0, beta),), name=f"beta {beta} rotation")


def field_named(name):
    return {"periodic": fields.periodic_drift_rotation, "singular": fields.singular_rotation,
            "beta": beta_field, "sat3": fields.saturated_field_3d}[name]()


def train(field, d, blocks, width, times=None, steps=600):
    K = (-np.ones(d), np.ones(d))
    data = np.linspace(0.0, 1.0, 65)
    if field.singular_times.size:
        data = np.union1d(data, rf.mesh_times(field, 32, "graded"))
    x, y = baselines.sample_trajectories(field, 512, data, K, seed=1)
    times = np.linspace(0, 1, blocks + 1) if times is None else times
    model = baselines.TrainableResNet(d, times, width, 0)
    baselines.train_trajectory_model(model, x, y, data, steps, lr=3e-3, clip=1.0, seed=0,
                                     progress=False)
    return model


def build():
    nets = {}
    periodic = fields.periodic_drift_rotation()
    for b, w in ((4, 8), (8, 16), (16, 32)):
        nets[f"trained {b}x{w} periodic"] = ("periodic", 2, train(periodic, 2, b, w))
    nets["trained 16x32 singular"] = ("singular", 2, train(fields.singular_rotation(), 2, 16, 32))
    bad = copy.deepcopy(nets["trained 16x32 periodic"][2])
    with torch.no_grad():
        bad.w_out.mul_(1.5)
    nets["perturbed 16x32 periodic"] = ("periodic", 2, bad)
    K = (-np.ones(2), np.ones(2))
    for name, (n, cells), mesh in (("periodic", (4, 10), "uniform"),
                                   ("singular", (4, 6), "graded")):
        field = field_named(name)
        times = rf.mesh_times(field, n, mesh)
        grow = float(field.sup_integral(0.0, 1.0)) + 0.1
        nets[f"empirical N={n} {cells} cells {name}"] = (
            name, 2, rf.averaged_kuhn_resnet(field, times, (K[0] - grow, K[1] + grow), cells))
    for e in (0.3, 0.2):
        plan = rf.plan_flow_resnet(periodic, K, e, mesh="uniform")
        nets[f"constructed eps={e} periodic"] = ("periodic", 2,
                                                 rf.build_certified_resnet(periodic, plan))
    beta = beta_field()
    nets["trained 16x32 beta=0.9"] = ("beta", 2, train(beta, 2, 16, 32,
                                                        rf.mesh_times(beta, 16, "graded")))
    nets["trained 8x16 d=3"] = ("sat3", 3, train(fields.saturated_field_3d(), 3, 8, 16))
    with open(STORE, "wb") as fh:
        pickle.dump(nets, fh)


def forward_states(net, x):
    with torch.no_grad():
        if isinstance(net, baselines.TrainableResNet):
            return net.trajectory(torch.as_tensor(x)).numpy()
        states = [torch.as_tensor(x)]
        for block in net.blocks:
            states.append(states[-1] + block(states[-1]))
        return torch.stack(states).numpy()


def measured(net, field, d, seed=0):
    rng = np.random.default_rng(seed)
    corners = np.stack(np.meshgrid(*[[-1.0, 1.0]] * d, indexing="ij"), -1).reshape(-1, d)
    x = np.vstack([rng.uniform(-1, 1, (2000, d)), corners])
    grid = np.union1d(np.union1d(np.linspace(0, 1, 257), net.times), np.geomspace(1e-9, 1, 64))
    states = interpolate_states(net.times, forward_states(net, x), grid)
    return float(np.linalg.norm(states - rf.reference_flow(field, x, grid), axis=-1).max())


def run(which, names):
    with open(STORE, "rb") as fh:
        nets = pickle.load(fh)
    variation = {
        "periodic": certificate.time_variation_of(lambda s: np.sin(4 * np.pi * s), 1.0),
        "singular": certificate.time_variation_of(lambda s: 0.5 / np.sqrt(s), 1.0),
    }
    print(f"| network | measured | certificate ({which}) | ratio | rtol | points | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name, (fname, d, net) in nets.items():
        if names and not any(n in name for n in names):
            continue
        field = field_named(fname)
        sup = measured(net, field, d)
        for rtol in (0.2, 1.0 if "trained 4" in name or "trained 8x16 p" in name else 0.5):
            started = time.perf_counter()
            try:
                cert = certificate.certify_resnet(net, field, (-np.ones(d), np.ones(d)),
                                                  time_variation=variation.get(fname), rtol=rtol,
                                                  max_points=200_000)
            except (ValueError, AttributeError, TypeError) as err:  # an old package may not read a network pickled here
                print(f"| {name} | {sup:.4g} | {type(err).__name__}: {err} | | {rtol} | | |")
                continue
            took = time.perf_counter() - started
            print(f"| {name} | {sup:.4g} | {cert.bound:.4g} | {cert.bound / sup:.3f} | {rtol} | "
                  f"{cert.points} | {took:.1f} |", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "new"
    if mode == "build":
        build()
    else:
        run(mode, sys.argv[2:])
