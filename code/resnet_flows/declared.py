"""Before planning: a cheap sampled check that a field's declared constants hold.

A plan is certified only if ``m``, ``L`` (and ``H``, ``mu`` where the plan uses them) bound the
field (prop-field-constants); otherwise its ResNet can leave the block box and the evaluation
raises ``StateOutsideBox`` far from the cause. The planners therefore sample the field at a few
hundred seeded points (:func:`~resnet_flows.fields.checks.sample_field_constants`, whose
ratios already carry the round-off allowance, and a stratified scan of ``|f| <= m`` in time)
and refuse, naming the bound and the ratio.
Sampling can miss a violation, never invent one: a refusal is a proved counterexample.
"""

from __future__ import annotations

import numpy as np

from .fields.checks import evaluation_error, sample_field_constants

__all__ = ["FIELD_CHECK_POINTS", "FIELD_CHECK_TIMES", "FIELD_SCAN_TIMES",
           "check_declared_bounds"]

FIELD_CHECK_TIMES = 8  # random times in [0, T], plus every breakpoint where f is finite
FIELD_CHECK_POINTS = 32  # points per time
# |f| <= m once more at one random time in each of this many equal strata of [0, T], two points
# each: a singularity of f that the field does not declare (and its bound m does not follow)
# hides in a short window that eight random times would likely miss.
FIELD_SCAN_TIMES = 128

_WHAT = {
    "sup": ("|f(t, x)|", "sup_bound m(t)"),
    "lip": ("the Lipschitz quotient |f(t, x) - f(t, y)| / |x - y|", "lip_bound L(t)"),
    "hess": ("the second difference |f(x + s u) - 2 f(x) + f(x - s u)| / s^2",
             "hess_bound H(t)"),
}


def _refuse(field, text: str):
    raise ValueError(f"{field.name}: {text}; a plan from these bounds would not hold (its ResNet "
                     "could leave the block box and raise StateOutsideBox). Declare bounds that "
                     "hold, or pass check_field=False to skip this sampled check.")


def _sup_scan(field, rng, center, radius):
    """The worst sampled ``|f(t, x)| / (m(t) + delta)`` over one random time per stratum."""
    times = field.horizon * (np.arange(FIELD_SCAN_TIMES) + rng.random(FIELD_SCAN_TIMES))
    times /= FIELD_SCAN_TIMES
    worst = (0.0, None)
    for t in times:
        w = rng.standard_normal((2, field.dim))
        w /= np.linalg.norm(w, axis=1, keepdims=True)
        x = center + radius * np.exp(rng.uniform(np.log(1e-2), np.log(1e2), (2, 1))) * w
        m = float(field.sup(t))
        value = np.linalg.norm(field(t, x), axis=1)
        ratio = value / (m + evaluation_error(m, float(field.lip(t)), np.linalg.norm(x, axis=1)))
        i = int(np.argmax(ratio))
        if ratio[i] > worst[0]:
            worst = (float(ratio[i]), {"t": float(t), "x": x[i].tolist()})
    return worst


def _mu_worst(field, rng, center, radius, times):
    """The sampled one-sided quotient ``<x - y, f(x) - f(y)> / |x - y|^2`` minus ``mu(t)``
    and the round-off allowance, at its worst; positive means ``mu`` is too small."""
    worst = (-np.inf, None)
    for t in times:
        w = rng.standard_normal((2, FIELD_CHECK_POINTS, field.dim))
        w /= np.linalg.norm(w, axis=2, keepdims=True)
        x = center + radius * rng.random((FIELD_CHECK_POINTS, 1)) * w[0]
        gap = np.exp(rng.uniform(np.log(1e-3), 0.0, FIELD_CHECK_POINTS))
        y = x + gap[:, None] * w[1]
        diff = field(t, x) - field(t, y)
        quotient = np.sum((x - y) * diff, axis=1) / gap**2
        far = np.maximum(np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1))
        allowance = 2.0 * evaluation_error(field.sup(t), field.lip(t), far) / gap
        excess = quotient - float(field.mu_bound(t)) - allowance
        i = int(np.argmax(excess))
        if excess[i] > worst[0]:
            worst = (float(excess[i]), (float(t), float(quotient[i]), float(field.mu_bound(t))))
    return worst


def check_declared_bounds(field, box, regularities=("lipschitz",), seed: int = 0) -> dict:
    """Sample ``f`` around ``box`` and raise ``ValueError`` if it exceeds a declared bound the
    plan uses: ``m`` and ``L`` always, ``H`` when ``"c2"`` is among ``regularities``, ``mu``
    when declared. Returns the sampled ratios (each ``<= 1`` when it returns)."""
    lower, upper = box
    center = 0.5 * (lower + upper)
    radius = max(1.0, 0.5 * float(np.linalg.norm(upper - lower)))
    rng = np.random.default_rng(seed)
    sampled = sample_field_constants(field, rng, times=FIELD_CHECK_TIMES,
                                     points=FIELD_CHECK_POINTS, center=center,
                                     scales=(1e-3 * radius, 1e2 * radius))
    scan, at = _sup_scan(field, rng, center, radius)
    if scan > sampled["sup"]:
        sampled["sup"], sampled["worst"]["sup"] = scan, at
    used = ["sup", "lip"] + (["hess"] if "c2" in regularities else [])
    for key in used:
        ratio = sampled[key]
        if ratio is not None and ratio > 1.0:
            what, bound = _WHAT[key]
            at = sampled["worst"][key]
            _refuse(field, f"sampled {what} exceeds the declared {bound} by a factor "
                           f"{ratio:.3g} at t={at['t']:.6g}, x={np.round(at['x'], 6).tolist()}")
    if field.mu_bound is not None:
        times = [t for t in np.concatenate([rng.uniform(0.0, field.horizon, FIELD_CHECK_TIMES),
                                            field.breakpoints])
                 if np.isfinite(field.sup(float(t))) and np.isfinite(field.mu_bound(float(t)))]
        excess, at = _mu_worst(field, rng, center, radius, times)
        if excess > 0:
            t, quotient, mu = at
            _refuse(field, f"sampled one-sided quotient <x - y, f(t, x) - f(t, y)> / |x - y|^2 = "
                           f"{quotient:.4g} exceeds the declared mu_bound mu(t) = {mu:.4g} at "
                           f"t={t:.6g}")
        sampled["mu_excess"] = excess
    return sampled
