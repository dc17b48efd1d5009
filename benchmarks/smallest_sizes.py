"""A-priori plan vs smallest certified network (issue 19): for fields in d = 1, 2, 3, the
nonzero parameters of the plan of thm-main and of ``smallest_certified_resnet``, its
certificate, its error measured on a sample the search never saw, and the seconds the search
took (wall clock, and CPU time of this process, which a loaded machine does not inflate). Prints
a Markdown table; asserts nothing. ``python benchmarks/smallest_sizes.py [names]``."""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import torch

import resnet_flows as rf
from resnet_flows import fields, rough

CASES = {
    "holder-1d": (lambda: fields.holder_field(1, 0.5), 0.1),
    "periodic-2d": (fields.periodic_drift_rotation, 0.1),
    "singular-2d": (fields.singular_rotation, 0.1),
    "interior-2d": (lambda: rough.interior_singular_field(0.61, 0.8, 0.1), 0.1),
    "saturated-3d": (fields.saturated_field_3d, 0.3),
}


def measured_sup(found, field, n=4000, seed=11):
    """max |X - Phi| over n uniform points of K = [-1, 1]^d and its corners, 513 uniform times
    and every node."""
    d = field.dim
    corners = np.stack(np.meshgrid(*[[-1.0, 1.0]] * d, indexing="ij"), -1).reshape(-1, d)
    x = np.vstack([np.random.default_rng(seed).uniform(-1, 1, (n, d)), corners])
    grid = np.union1d(np.linspace(0.0, field.horizon, 513), found.network.times)
    return float(np.linalg.norm(found.states_at(x, grid) - rf.reference_flow(field, x, grid),
                                axis=-1).max())


def main(names) -> None:
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| field | d | eps | a-priori nonzero | smallest nonzero | factor | network | "
          "certificate | measured | seconds | CPU seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        make, eps = CASES[name]
        field = make()
        d = field.dim
        # a declared singular time: the graded mesh (the planner's default may be uniform)
        options = {"mesh": "graded"} if field.singular_times.size else None
        start, cpu = time.perf_counter(), time.process_time()
        found = rf.smallest_certified_resnet(field, (-np.ones(d), np.ones(d)), eps,
                                             plan_options=options)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        label = field.name.replace("|", "\\|")  # a Markdown cell
        print(f"| {label} | {d} | {eps:g} | {found.a_priori_nonzero:,} | {found.nonzero:,} | "
              f"{found.factor:.0f} | {found.kind}: {found.description} | {found.bound:.3g} | "
              f"{measured_sup(found, field):.3g} | {seconds:.0f} | {cpu:.0f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or list(CASES))
