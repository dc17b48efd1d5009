"""Timing benchmarks of the package (``make bench``): prints a table, asserts nothing."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import numpy as np
import torch

from resnet_flows import fields
from resnet_flows.baselines import timed
from resnet_flows.flows import reference_flow, solve_ivp_piece, solve_restarted
from resnet_flows.limits import PlanTooLarge
from resnet_flows.plan import mesh_times, plan_flow_resnet
from resnet_flows.relu import cpwl_network
from resnet_flows.resnet import build_certified_resnet
from resnet_flows.smallest import smallest_certified_resnet

# the fields a user writes, shared with the planners' tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from user_fields import user_field_2d, user_field_3d

K2 = (np.array([-1.0, -1.0]), np.array([1.0, 1.0]))


def _timed(fn, repeat: int = 3):
    return timed(fn, repeat)


def _solver_at_accuracy(field, x, target):
    """Loosest DOP853 tolerance whose final-time error (vs the exact flow) is <= target."""
    exact = reference_flow(field, x, [0.0, field.horizon])[-1]
    n, d = x.shape
    for tol in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8):
        def solve(tol=tol):
            piece = solve_ivp_piece(lambda t, z: field.f(t, z.reshape(n, d)).reshape(-1),
                                    "DOP853", tol, tol)
            states, _ = solve_restarted(piece, x, [0.0, field.horizon], field.breakpoints)
            return states[-1].reshape(n, d)

        elapsed, y = _timed(solve, repeat=1)
        err = float(np.max(np.linalg.norm(y - exact, axis=1)))
        if err <= target:
            return tol, elapsed, err
    return None, float("nan"), float("nan")


def _planner_rows():
    """The planners on fields a user writes (tests/user_fields.py), with their defaults: plan
    and build within the issue's targets, and refusals that cost nothing."""
    rows = []
    for make, eps, target in ((user_field_2d, 0.25, 10.0), (user_field_3d, 0.3, 30.0)):
        field = make()
        box = (-np.ones(field.dim), np.ones(field.dim))
        plan_time, plan = _timed(lambda f=field, b=box, e=eps: plan_flow_resnet(f, b, e), repeat=1)
        build_time, _ = _timed(lambda f=field, p=plan: build_certified_resnet(f, p), repeat=1)
        note = (f"<= {target:g} s (plan {plan_time:.2f} s); {plan.mesh}, N={plan.num_blocks}, "
                f"cells={plan.cells}, nnz={plan.parameters[1]:,}")
        rows.append((f"default plan + build, {field.name}, eps={eps}",
                     f"{plan_time + build_time:.3f} s", note))
    field = fields.switching_rotations()
    refuse_time, _ = _timed(lambda: _refused(lambda: plan_flow_resnet(field, K2, 1e-8)))
    rows.append(("refusal: plan_flow_resnet eps=1e-8", f"{refuse_time:.3f} s", "<= 2 s, PlanTooLarge"))
    mesh_time, _ = _timed(lambda: _refused(lambda: mesh_times(field, 10**9)))
    rows.append(("refusal: mesh_times(field, 10**9)", f"{mesh_time:.3f} s", "no 7.45 GiB allocation"))
    return rows


def _refused(call):
    try:
        call()
    except PlanTooLarge:
        return True
    raise AssertionError("expected PlanTooLarge")


def main() -> None:
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    rows = []
    field = fields.switching_rotations()

    plan_time, plan = _timed(lambda: plan_flow_resnet(field, K2, 0.1), repeat=1)
    build_time, net = _timed(lambda: build_certified_resnet(field, plan), repeat=1)
    rows.append(("plan, d=2, eps=0.1", f"{plan_time:.3f} s", "<= 2 s (with build)"))
    rows.append(("build, d=2, eps=0.1", f"{build_time:.3f} s",
                 f"N={plan.num_blocks}, cells={plan.cells}, nnz={plan.parameters[1]:.3g}"))
    x = K2[0] + (K2[1] - K2[0]) * rng.random((10_000, 2))
    traj_time, states = _timed(lambda: net.trajectory(x))
    rows.append(("trajectory, 1e4 points (fast)", f"{traj_time:.3f} s", "<= 2 s"))

    grid_box = (np.array([-2.0, -2.0]), np.array([2.0, 2.0]))
    block = cpwl_network(lambda z: np.stack([np.sin(z.sum(1)), np.cos(z[:, 0])], 1), grid_box, 64)
    pts = grid_box[0] + 4.0 * rng.random((100_000, 2))
    with torch.no_grad():
        net_time, by_net = _timed(lambda: block(torch.as_tensor(pts)), repeat=1)
    fast_time, by_fast = _timed(lambda: block.fast(pts))
    gap = float(np.max(np.abs(by_net.numpy() - by_fast)))
    rows.append(("block d=2, 64 cells, 1e5 pts: network", f"{net_time:.3f} s", "<= 3 s"))
    rows.append(("block d=2, 64 cells, 1e5 pts: fast", f"{fast_time:.3f} s",
                 f"<= 0.1 s; max |net - fast| = {gap:.1e}"))

    exact = reference_flow(field, x, [0.0, field.horizon])[-1]
    resnet_err = float(np.max(np.linalg.norm(states[-1] - exact, axis=1)))
    tol, solver_time, solver_err = _solver_at_accuracy(field, x, resnet_err)
    rows.append(("flow map, 1e4 pts: ResNet", f"{traj_time:.3f} s", f"error {resnet_err:.2e}"))
    rows.append(("flow map, 1e4 pts: DOP853 at matched accuracy", f"{solver_time:.3f} s",
                 f"rtol=atol={tol:g}, error {solver_err:.2e}"))
    rows.append(("throughput ratio ResNet / DOP853", f"{solver_time / traj_time:.2f}x", ""))
    rows += _planner_rows()
    small_time, small = _timed(lambda: smallest_certified_resnet(
        fields.periodic_drift_rotation(), K2, 0.1, progress=False), repeat=1)
    note = (f"<= 120 s; {small.nonzero:,} vs {small.a_priori_nonzero:,} nonzero a priori "
            f"({small.factor:.0f}x, >= 20x); d = 1, 2, 3: benchmarks/smallest_sizes.py")
    rows.append(("smallest certified, periodic d=2, eps=0.1", f"{small_time:.3f} s", note))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    rows.append(("peak memory", f"{peak:.2f} GB", "<= 2 GB"))

    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'measured':>10}  notes")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")


if __name__ == "__main__":
    main()
