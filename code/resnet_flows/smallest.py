"""The smallest certified ReLU ResNet for a field, a box ``K`` and an accuracy ``eps``.

:func:`smallest_certified_resnet` looks for the ReLU ResNet with the fewest nonzero parameters
whose a-posteriori certificate (thm-certificate, :func:`~resnet_flows.certificate.certify_resnet`)
is ``<= eps``, i.e. with a proved ``sup_{t in I, x in K} |X(t, x) - Phi(t, x)| <= eps``. Its
candidates, each smaller than the a-priori plan of thm-main (:func:`~resnet_flows.plan.plan_flow_resnet`):

- *Kuhn*: the ResNets ``R_k = I_n F_k`` of thm-main's form (:func:`~resnet_flows.resnet.averaged_kuhn_resnet`)
  on uniform or graded meshes with fewer blocks and cells than the plan;
- *trained*: :class:`~resnet_flows.baselines.TrainableResNet` s fitted to reference trajectories
  (seeded, a fixed number of Adam steps each).

Candidates of both families are tried from the smallest up (their sizes are known before they
are built), and the first certificate ``<= eps`` ends the search. A candidate is first measured
on a sample (a lower estimate of the sup: one above ``eps`` cannot be certified and is dropped),
then certified. Partitions whose exact averaged Euler scheme plus the certificate's chord term
``int m`` over a sub-interval already miss ``eps`` are skipped, and a trained candidate far
above ``eps`` ends the training. Certification is the only judge: these choices can only cost
size, never soundness. When no candidate is certified within the budget, the a-priori
construction is returned: its bound is ``<= eps`` by thm-main.
"""

from __future__ import annotations

import contextlib
import heapq
import inspect
import math
import sys
import time
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np
import torch
from tqdm import tqdm

from ._validate import (
    as_box,
    as_points,
    as_times,
    nonnegative_float,
    positive_float,
    positive_int,
)
from .baselines import TrainableResNet, sample_trajectories, train_trajectory_model
from .certificate import Certificate, certify_resnet
from .certificate_terms import sub_times
from .fields import VectorField
from .fields.checks import one_sided_excess, sample_field_constants
from .flows import reference_flow
from .plan import Plan, mesh_times, plan_flow_resnet
from .relu import count_parameters, kuhn_network_size
from .resnet import (
    ReLUResNet,
    StateOutsideBox,
    averaged_kuhn_resnet,
    build_certified_resnet,
    exact_averaged_euler_resnet,
)

__all__ = ["SearchEntry", "SmallestCertified", "smallest_certified_resnet"]

DEFAULT_BLOCKS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)
TRAINED_BLOCKS = (4, 8, 16, 32)
TRAINED_WIDTHS = (8, 16, 32)
MAX_SAMPLE = 100_000
CERTIFY_DEFAULTS = inspect.signature(certify_resnet).parameters
# A partition whose certificate time part (fixed by the times alone) exceeds this share of eps
# is not trained on: the network would have to be within the rest of eps on the sample.
TIME_PART_SHARE = 0.75
# A trained candidate this many times above eps on the sample ends the trained family: the
# next sizes gain far less than that from the same training budget, and each costs seconds.
TRAINING_GAP = 4.0


@dataclass(frozen=True)
class SearchEntry:
    """One row of the search log: a candidate, its size, its sampled error, its certificate
    (``nan`` when it was not certified, ``inf`` when the certificate refused), the seconds it
    took and what became of it."""

    kind: str
    description: str
    nonzero: int
    measured: float
    bound: float
    seconds: float
    outcome: str


@dataclass(frozen=True)
class SmallestCertified:
    """The network found, its proved bound on ``sup_{t, x in K} |X - Phi|`` and how.

    ``certificate`` is the a-posteriori certificate of the network (``None`` when the a-priori
    construction was returned, whose bound ``plan.bound`` holds by thm-main); ``plan`` is the
    a-priori plan for the same ``eps`` (``None`` if the planner refused); ``measured`` the
    sampled error of the network; ``log`` every candidate tried, in order.
    """

    network: object
    bound: float
    certificate: Certificate | None
    plan: Plan | None
    kind: str
    description: str
    nonzero: int
    measured: float
    eps: float
    seconds: float
    log: tuple[SearchEntry, ...] = dataclass_field(repr=False)

    def states_at(self, x, times) -> np.ndarray:
        """The space-time interpolant ``X(t_i, x_j)`` of the network found at the points ``x``
        (``(n, d)``) and increasing ``times``: numpy, shape ``(len(times), n, d)``."""
        return _states_at(self.network, as_points(x, self.network.dim), as_times(times))

    @property
    def a_priori_nonzero(self) -> int | None:
        """Nonzero parameters of the a-priori plan (``None`` without a plan)."""
        return None if self.plan is None else int(self.plan.parameters[1])

    @property
    def factor(self) -> float | None:
        """How many times fewer nonzero parameters than the a-priori plan."""
        prior = self.a_priori_nonzero
        return None if prior is None else prior / self.nonzero


def _states_at(net, x, times) -> np.ndarray:
    """``X(t_i, x_j)`` of a ReLU ResNet or a trained ResNet, as numpy."""
    if isinstance(net, ReLUResNet):
        return net.interpolate(times, x)
    with torch.no_grad():
        return net.states_at(torch.as_tensor(x), times).numpy()


def _cell_steps():
    """Cells per axis tried by the Kuhn family: about four per octave (1, 2, 3, 4, 5, 6, 7, 8,
    10, 11, 13, 16, ...), so a candidate is at most ``1.19^d`` times larger than needed."""
    seen, k = set(), 0
    while True:
        cells = round(2 ** (k / 4))
        k += 1
        if cells not in seen:
            seen.add(cells)
            yield cells


class _Search:
    """The sample, the reference, the clock, the log and the result of one search."""

    def __init__(self, field, box, eps, seed, budget, certify_options, n_sample):
        self.field, self.box, self.eps, self.seed, self.budget = field, box, eps, seed, budget
        self.certify_options = certify_options
        self.start = time.perf_counter()
        self.log: list[SearchEntry] = []
        self.best = None  # (network, certificate, kind, description, measured)
        self.time_parts = {}  # (mesh, N) -> (time part, sub-times) of certificates on it
        self.training_stopped = False
        lower, upper = box
        d, horizon = field.dim, field.horizon
        rng = np.random.default_rng(seed)
        corners = np.stack(np.meshgrid(*zip(lower, upper), indexing="ij"), -1).reshape(-1, d)
        self.points = np.vstack([lower + (upper - lower) * rng.random((n_sample, d)), corners])
        grid = np.linspace(0.0, horizon, 129)
        if field.singular_times.size:  # resolve the fast motion next to a singular time
            grid = np.union1d(grid, mesh_times(field, 64, "graded"))
        self.grid = grid
        self.reference = reference_flow(field, self.points, grid)

    def out_of_time(self) -> bool:
        return time.perf_counter() - self.start >= self.budget

    def record(self, kind, description, nonzero, measured, bound, started, outcome):
        self.log.append(SearchEntry(kind, description, int(nonzero), float(measured),
                                    float(bound), time.perf_counter() - started, outcome))

    def measure(self, net) -> float:
        """Sampled ``max |X - Phi|`` on the sample and the time grid (``inf`` when a state left
        a block's box: the candidate is then useless)."""
        try:
            states = _states_at(net, self.points, self.grid)
        except StateOutsideBox:
            return math.inf
        errors = np.linalg.norm(states - self.reference, axis=-1)
        return float(errors.max()) if np.all(np.isfinite(errors)) else math.inf

    def chord_term(self, times, points) -> float:
        """The largest chord term ``iota_j = int m`` over the certificate's sub-intervals of
        ``times`` (about ``points`` of them, the certificate's own sub-times): it depends on the
        times, not on the network, and every certificate on them pays it."""
        sub, _ = sub_times(self.field, times, points)
        return float(np.max(self.field.sup_integral(sub[:-1], sub[1:])))

    def time_part(self, key, times) -> float:
        """The certificate's time part on the partition ``times`` (:meth:`chord_term`), at the
        fewest sub-times (of 64, 128, 256) that bring it to ``eps / 10``, which are then used for
        its certificates (each sub-time costs a reference solve per cube). With a user's
        ``time_points``, those; with a ``time_variation`` the terms can be smaller: 0."""
        if "time_variation" in self.certify_options:
            return 0.0
        if key not in self.time_parts:
            given = self.certify_options.get("time_points")
            for points in (given,) if given is not None else (64, 128, 256):
                chord = self.chord_term(times, points)
                if chord <= self.eps / 10:
                    break
            self.time_parts[key] = (chord, points)
        return self.time_parts[key][0]

    def _certificate(self, net, key, description, measured, rtol):
        options = {"rtol": rtol, **self.certify_options}
        if key in self.time_parts:
            options["time_points"] = self.time_parts[key][1]
        cert = certify_resnet(net, self.field, self.box, **options)
        if cert.certified and cert.bound < measured * (1 - 1e-9):
            raise ValueError(
                f"the certificate {cert.bound:.6g} of {description} is below its measured error "
                f"{measured:.6g}: the field's declared bounds (sup_bound, lip_bound, mu_bound) "
                "do not hold, or its reference flow is inaccurate")
        return cert

    def certify(self, net, kind, key, description, measured, started) -> bool:
        """Certify a candidate that met ``eps`` on the sample, with ``rtol`` aimed so that the
        certificate can fall below ``eps``; once more, aimed by the first certificate's parts,
        when that is still possible. Keeps the network if a certificate is ``<= eps``."""
        eps, nonzero = self.eps, count_parameters(net)[1]
        time_part = self.time_part(key, net.times)
        if measured + time_part >= eps:  # the chord term of this partition alone misses eps
            self.record(kind, description, nonzero, measured, math.nan, started,
                        f"sampled error + time part {time_part:.3g} of the partition > eps")
            return False
        aim = 0.9 * ((eps - time_part) / max(measured, 1e-300) - 1)
        cert = self._certificate(net, key, description, measured, float(np.clip(aim, 0.02, 4.0)))
        reachable = cert.sampled_max + max(time_part, cert.time_part) + cert.allowance
        # a certificate that spent half its points is limited by them, not by rtol
        budget = self.certify_options.get("max_points", CERTIFY_DEFAULTS["max_points"].default)
        room = cert.points < budget / 2
        if cert.certified and cert.bound > eps and reachable < eps and room:
            self.record(kind, description, nonzero, measured, cert.bound, started,
                        f"certificate {cert.bound:.3g} > eps: refined")
            started = time.perf_counter()
            chord = max(time_part, cert.time_part) + cert.allowance
            aim = 0.9 * ((eps - chord) / max(cert.sampled_max, 1e-300) - 1)
            cert = self._certificate(net, key, description, measured, float(np.clip(aim, 0.01, 4.0)))
        good = cert.certified and cert.bound <= eps
        if good:
            outcome = "certified"
        elif cert.refused:
            outcome = f"certificate refused: {cert.refused}"
        else:
            outcome = f"certificate {cert.bound:.3g} > eps"
        self.record(kind, description, nonzero, measured, cert.bound, started, outcome)
        if good:
            self.best = (net, cert, kind, description, measured)
        return good


def _kuhn_stream(field, limit, mesh, n):
    """``(size, "kuhn", (mesh, N, cells))`` for growing cells, below ``limit``."""
    for cells in _cell_steps():
        size = n * kuhn_network_size(field.dim, cells, field.dim)[1]
        if size >= limit:
            return
        yield size, "kuhn", (mesh, n, cells)


def _candidates(search, limit, families, meshes, blocks, trained_blocks, widths):
    """Every candidate below ``limit`` nonzero parameters, smallest first (sizes known before
    building: the Kuhn network's count, the trained network's ``N (2 d w + w + d)``)."""
    d = search.field.dim
    streams = []
    if "kuhn" in families:
        streams += [_kuhn_stream(search.field, limit, mesh, n)
                    for mesh in meshes for n in blocks]
    if "trained" in families:
        trained = [(n * (2 * d * w + w + d), "trained", (mesh, n, w))
                   for mesh in meshes for n in trained_blocks for w in widths]
        streams.append(sorted(c for c in trained if c[0] < limit))
    return heapq.merge(*streams, key=lambda c: c[0])


def _try_kuhn(search, config, floors, block_box):
    """Screen and certify ``R_k = I_n F_k`` on the mesh with ``cells``; ``N`` whose exact
    averaged Euler scheme already misses ``eps`` on the sample is dropped once."""
    field, eps = search.field, search.eps
    mesh, n, cells = config
    started = time.perf_counter()
    if (mesh, n) not in floors:
        times = mesh_times(field, n, mesh)
        floor = search.measure(exact_averaged_euler_resnet(field, times))
        time_part = search.time_part((mesh, n), times)
        floors[mesh, n] = (floor + time_part, times)
        if floor + time_part >= eps:
            with_time = f" with time part {time_part:.3g}" if time_part else ""
            search.record("kuhn", f"N={n} {mesh}, exact averages", 0, floor, math.nan, started,
                          f"too few blocks: averaged Euler misses eps{with_time}")
    floor, times = floors[mesh, n]
    if floor >= eps:
        return False
    net = averaged_kuhn_resnet(field, times, block_box, cells)
    description = f"N={n} {mesh}, {cells} cells"
    measured = search.measure(net)
    if measured > eps:
        search.record("kuhn", description, count_parameters(net)[1], measured, math.nan,
                      started, "sampled error > eps")
        return False
    return search.certify(net, "kuhn", (mesh, n), description, measured, started)


def _try_trained(search, config, steps, data):
    mesh, n, width = config
    started = time.perf_counter()
    field = search.field
    description = f"{n} blocks × {width} units {mesh}, {steps} steps"
    times = mesh_times(field, n, mesh)
    time_part = search.time_part((mesh, n), times)
    if time_part >= TIME_PART_SHARE * search.eps:
        search.record("trained", description, 0, math.nan, math.nan, started,
                      f"not trained: the time part {time_part:.3g} of the partition leaves "
                      f"less than {1 - TIME_PART_SHARE:.0%} of eps")
        return False
    model = TrainableResNet(field.dim, times, width, seed=search.seed)
    x0, targets, data_times = data
    train_trajectory_model(model, x0, targets, data_times, steps, lr=3e-3, clip=1.0,
                           seed=search.seed)
    measured = search.measure(model)
    if measured > TRAINING_GAP * search.eps:
        search.record("trained", description, count_parameters(model)[1], measured, math.nan,
                      started, f"sampled error > {TRAINING_GAP:g} eps: no more training")
        search.training_stopped = True
        return False
    if measured > search.eps:
        search.record("trained", description, count_parameters(model)[1], measured, math.nan,
                      started, "sampled error > eps")
        return False
    return search.certify(model, "trained", (mesh, n), description, measured, started)


def _check_declared_constants(field, seed):
    """Refuse a field whose samples exceed its declared ``m``, ``L``, ``H``
    (:func:`~resnet_flows.fields.checks.sample_field_constants`) or one-sided ``mu``
    (:func:`~resnet_flows.fields.checks.one_sided_excess`): certificates and plans rest on them."""
    rng = np.random.default_rng(seed)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 of a zero field: no excess
        ratios = sample_field_constants(field, rng)
    for key, name in (("sup", "sup_bound"), ("lip", "lip_bound"), ("hess", "hess_bound")):
        if ratios[key] is not None and ratios[key] > 1:
            raise ValueError(f"field {field.name!r}: its {name} is too small, a sample exceeds "
                             f"it {ratios[key]:.3g} times (at {ratios['worst'][key]}); declare "
                             "a proved bound")
    if field.mu_bound is not None:
        worst = one_sided_excess(field, rng)
        if worst["excess"] > 0:
            raise ValueError(f"field {field.name!r}: its mu_bound is too small, a sampled "
                             f"one-sided quotient exceeds it by {worst['excess']:.3g} at "
                             f"t={worst['t']:.6g}; declare a proved bound")


@contextlib.contextmanager
def _one_torch_thread():
    """Torch on one thread, the caller's count restored after: the trained networks are far too
    small to gain from more (on a loaded 2-core machine two threads made training 12 times
    slower), and their weights then do not depend on the caller's thread count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def smallest_certified_resnet(field: VectorField, box, eps: float, *, seed: int = 0,
                              time_budget: float = 120.0, train_steps: int = 600,
                              families=("kuhn", "trained"), meshes=None, blocks=DEFAULT_BLOCKS,
                              trained_blocks=TRAINED_BLOCKS, widths=TRAINED_WIDTHS,
                              n_sample: int = 512, certify_options=None, plan_options=None,
                              max_parameters: int = 10_000_000,
                              progress: bool | None = None) -> SmallestCertified:
    """The ReLU ResNet with the fewest nonzero parameters found whose certified
    ``sup_{t in I, x in K} |X(t, x) - Phi(t, x)|`` is ``<= eps`` (thm-certificate; thm-main for
    the fallback). ``box = K``.

    Candidates (module docstring): the ``"kuhn"`` family on ``blocks`` (numbers of blocks) and
    ``meshes`` (default ``"uniform"``, plus ``"graded"`` where it differs), the ``"trained"``
    family on ``trained_blocks`` x ``widths`` with ``train_steps`` Adam steps each (0: none).
    No candidate is started after ``time_budget`` seconds; with a budget that is not reached, a
    rerun with the same ``seed`` gives the same result. ``certify_options`` go to
    ``certify_resnet`` (e.g. ``time_variation``, ``mu``, ``max_points``; ``rtol`` is aimed at
    ``eps`` unless given), ``plan_options`` to ``plan_flow_resnet`` (a refusal that names
    ``eps`` leaves the search without fallback; other errors are raised). ``n_sample`` (at most
    100,000) random points of ``K`` plus its corners make the sample. The fallback, the a-priori construction, is
    refused beyond ``max_parameters`` nonzero parameters. ``progress``: a bar on stderr
    (default: when stderr is a terminal). The search runs torch on one thread.
    """
    started = time.perf_counter()
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    eps = positive_float(eps, "eps")
    box = as_box(box, "box", dim=field.dim)
    seed = positive_int(seed, "seed", minimum=0)
    budget = nonnegative_float(time_budget, "time_budget")
    train_steps = positive_int(train_steps, "train_steps", minimum=0)
    n_sample = positive_int(n_sample, "n_sample")
    if n_sample > MAX_SAMPLE:  # the reference flow is solved at every sample point and time
        raise ValueError(f"n_sample must be an integer in [1, {MAX_SAMPLE:,}], got {n_sample:,}")
    max_parameters = positive_int(max_parameters, "max_parameters")
    known = ("kuhn", "trained")
    if isinstance(families, str) or not set(families) <= set(known):
        raise ValueError(f"families must be a subset of {known}, got {families!r}")
    blocks = sorted({positive_int(n, "blocks") for n in blocks})
    trained_blocks = sorted({positive_int(n, "trained_blocks") for n in trained_blocks})
    widths = sorted({positive_int(w, "widths") for w in widths})
    for name, options in (("certify_options", certify_options), ("plan_options", plan_options)):
        if options is not None and not isinstance(options, dict):
            raise ValueError(f"{name} must be a dict of keyword arguments, got {options!r}")
    if meshes is None:
        graded = field.singular_times.size or not np.allclose(mesh_times(field, 8, "graded"),
                                                              mesh_times(field, 8))
        meshes = ("uniform", "graded") if graded else ("uniform",)
    elif isinstance(meshes, str) or not set(meshes) <= {"uniform", "graded"} or not meshes:
        raise ValueError(f"meshes must be a non-empty subset of ('uniform', 'graded'), "
                         f"got {meshes!r}")
    _check_declared_constants(field, seed)

    plan, began = None, time.perf_counter()
    try:
        plan = plan_flow_resnet(field, box, eps, **(plan_options or {}))
        planned = "a-priori plan (not built)"
    except ValueError as refusal:
        if "eps" not in str(refusal):  # a bad plan_options entry is the caller's to fix
            raise
        planned = f"planner refused: {refusal}"
    prior = int(plan.parameters[1]) if plan is not None else 0
    plan_entry = SearchEntry("a-priori", "plan of thm-main" if plan is None else
                             f"plan of thm-main: N={plan.num_blocks}, {plan.cells} cells",
                             prior, math.nan, math.nan if plan is None else plan.bound,
                             time.perf_counter() - began, planned)

    show = sys.stderr.isatty() if progress is None else bool(progress)
    search = _Search(field, box, eps, seed, budget, certify_options or {}, n_sample)
    search.log.append(plan_entry)
    limit = min(prior if plan is not None else math.inf, max_parameters)
    if train_steps == 0:
        families = tuple(f for f in families if f != "trained")
    reach = float(field.sup_integral(0.0, field.horizon)) + eps
    block_box = (box[0] - reach, box[1] + reach)  # where states within eps of the flow stay
    floors, data = {}, None
    candidates = _candidates(search, limit, families, meshes, blocks, trained_blocks, widths)
    with _one_torch_thread(), tqdm(candidates, desc="smallest certified ResNet",
                                   unit=" candidates", file=sys.stderr, disable=not show,
                                   mininterval=0.5) as bar:
        for size, family, config in bar:
            if search.out_of_time():
                search.log.append(SearchEntry("budget", f"time_budget={budget:g} s reached", 0,
                                              math.nan, math.nan, 0.0,
                                              f"candidates from {size:,} parameters not tried"))
                break
            bar.set_postfix_str(f"{size:,} parameters", refresh=False)
            if family == "kuhn":
                found = _try_kuhn(search, config, floors, block_box)
            elif search.training_stopped:
                continue
            else:
                if data is None:
                    data_times = np.linspace(0.0, field.horizon, 65)
                    if field.singular_times.size:
                        data_times = np.union1d(data_times, mesh_times(field, 64, "graded"))
                    data = (*sample_trajectories(field, 512, data_times, box, seed=seed + 1),
                            data_times)
                found = _try_trained(search, config, train_steps, data)
            if found:  # candidates come smallest first: none later can be smaller
                break
    if search.best is not None:
        net, cert, kind, description, measured = search.best
        nonzero = count_parameters(net)[1]
        return SmallestCertified(net, cert.bound, cert, plan, kind, description, nonzero,
                                 measured, eps, time.perf_counter() - started, tuple(search.log))
    if plan is None:
        raise ValueError(f"eps={eps}: no candidate was certified and there is no a-priori "
                         f"construction to fall back on ({planned})")
    if prior > max_parameters:
        raise ValueError(f"eps={eps}: no candidate was certified, and the a-priori construction "
                         f"has {prior:,} nonzero parameters > max_parameters={max_parameters:,}; "
                         "raise eps, time_budget or max_parameters")
    began = time.perf_counter()
    net = build_certified_resnet(field, plan)
    nonzero = count_parameters(net)[1]
    measured = search.measure(net)
    search.log.append(SearchEntry("a-priori", "construction of thm-main", nonzero, measured,
                                  plan.bound, time.perf_counter() - began,
                                  "built: certified by construction"))
    return SmallestCertified(net, plan.bound, None, plan, "a-priori", plan_entry.description,
                             nonzero, measured, eps, time.perf_counter() - started,
                             tuple(search.log))
