"""Torch path against numpy path of a constructed ResNet (issue 18): the same certified ResNet
evaluated by its network layers (``net(tensor)``) and by its blocks' numpy evaluators
(``net(array)``), 20,000 points, one torch thread, median of 3 calls each. Prints a table and
asserts only that the two paths agree to 1e-12 relative; ``--profile`` adds cProfile's top
entries of the torch path in d = 3.

    .venv/bin/python benchmarks/torch_path.py [--profile]
"""

from __future__ import annotations

import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from resnet_flows.plan import plan_flow_resnet
from resnet_flows.resnet import build_certified_resnet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from user_fields import user_field_2d, user_field_3d

POINTS = 20_000
# the planners' default cases of bench.py: d = 2 gives 22 blocks, d = 3 gives 13
CASES = ((user_field_2d, 0.25), (user_field_3d, 0.3))


def _median_time(fn, repeat: int = 3):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def _case(make, eps):
    field = make()
    box = (-np.ones(field.dim), np.ones(field.dim))
    plan = plan_flow_resnet(field, box, eps)
    net = build_certified_resnet(field, plan)
    # starting points in the plan's flow box, from which every state stays in the block box
    lower, upper = box
    x = lower + (upper - lower) * np.random.default_rng(0).random((POINTS, field.dim))
    return field, plan, net, x


def main() -> None:
    torch.set_num_threads(1)
    print(f"load: {os.getloadavg()}, torch threads: {torch.get_num_threads()}, points: {POINTS}")
    print(f"{'case':<34} {'blocks':>6} {'cells':>5} {'torch s':>8} {'numpy s':>8} {'ratio':>6}")
    for make, eps in CASES:
        field, plan, net, x = _case(make, eps)
        xt = torch.as_tensor(x)
        with torch.no_grad():
            t_torch, by_torch = _median_time(lambda n=net, z=xt: n(z))
        t_numpy, by_numpy = _median_time(lambda n=net, z=x: n(z))
        gap = float(np.max(np.abs(by_torch.numpy() - by_numpy)) / np.max(np.abs(by_numpy)))
        assert gap <= 1e-12, gap
        print(f"{field.name + f', eps={eps}':<34} {plan.num_blocks:>6} {plan.cells:>5} "
              f"{t_torch:>8.3f} {t_numpy:>8.3f} {t_torch / t_numpy:>6.1f}  (rel gap {gap:.1e})")
    if "--profile" in sys.argv:
        _, _, net, x = _case(*CASES[1])
        xt = torch.as_tensor(x)
        profile = cProfile.Profile()
        with torch.no_grad():
            profile.runcall(net, xt)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
