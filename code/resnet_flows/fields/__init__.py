"""Right-hand sides ``f in L^1(I; C_b^{0,1}(R^d; R^d))`` with their proved bounds, and a catalogue.

A :class:`VectorField` carries ``m(t) >= sup_x |f(t, x)|``, ``L(t) >= Lip f(t, .)`` and optionally
``H(t) >= sup_x sup_{|u|=1} |D^2 f(t, x)[u, u]|``, the times where ``f`` jumps or is singular,
and where known: closed-form averages ``F(a, b, z) = int_a^b f(s, z) ds``, primitives of the
bounds and an exact flow. The catalogue's constants are proved in the book's field appendix.

Modules: ``base`` (the classes), ``catalogue`` (the example fields), ``neural`` (neural ODE
fields) and ``checks`` (sampled checks of the constants and quadrature cross-checks).
"""

from . import checks
from .base import SpatialField, VectorField
from .catalogue import (
    constant_drift,
    cutoff_rotation,
    holder_field,
    periodic_drift_rotation,
    saturated_field,
    saturated_field_3d,
    singular_rotation,
    switching,
    switching_rotations,
    time_scaled,
)
from .neural import NeuralODEField, random_neural_field

__all__ = [
    "NeuralODEField",
    "SpatialField",
    "VectorField",
    "checks",
    "constant_drift",
    "cutoff_rotation",
    "holder_field",
    "periodic_drift_rotation",
    "random_neural_field",
    "saturated_field",
    "saturated_field_3d",
    "singular_rotation",
    "switching",
    "switching_rotations",
    "time_scaled",
]
