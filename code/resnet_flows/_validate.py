"""Input checks shared by the package: every public function validates at the door."""

from __future__ import annotations

import numbers
import reprlib

import numpy as np


def positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _not_a_number(value) -> bool:
    """Bools and strings convert to floats (``float(True) == 1.0``, ``float("1") == 1.0``), but
    are not numbers here: a flag or a text passed for an accuracy is a mistake to name."""
    return isinstance(value, (bool, np.bool_, str, bytes))


def real_number(value, name: str) -> float:
    """``value`` as a float; bools, strings and anything else that is not a real number are
    refused, naming ``name``."""
    if _not_a_number(value):
        raise ValueError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None


def real_array(values, name: str, accepts: str) -> np.ndarray:
    """``values`` as a float64 array; strings, bools, complex numbers and ragged or non-numeric
    sequences are refused naming ``name`` and what it ``accepts``."""
    try:
        arr = None if _not_a_number(values) else np.asarray(values)
    except (TypeError, ValueError):  # ragged nesting
        arr = None
    if arr is not None and arr.dtype == object:
        if any(v is None or _not_a_number(v) for v in arr.ravel()):
            arr = None
    elif arr is not None and arr.dtype.kind not in "iuf":
        arr = None
    try:
        if arr is not None:
            return arr.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        pass
    raise ValueError(f"{name} must be {accepts}, got {reprlib.repr(values)}")


def positive_float(value, name: str) -> float:
    out = real_number(value, name)
    if not np.isfinite(out) or out <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return out


def nonnegative_float(value, name: str) -> float:
    out = real_number(value, name)
    if not np.isfinite(out) or out < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return out


def nonnegative_array(values, name: str) -> np.ndarray:
    """``values`` as a float64 array whose entries are all finite and ``>= 0``."""
    arr = real_array(values, name, "finite numbers >= 0")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0")
    return arr


def as_box(box, name: str = "box", dim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(lower, upper)`` as float64 arrays of one length with ``lower < upper``."""
    try:
        lower, upper = box
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (lower, upper), got {box!r}") from None
    accepts = "a pair (lower, upper) of real numbers or of 1-D arrays of them"
    lower = np.atleast_1d(real_array(lower, name, accepts))
    upper = np.atleast_1d(real_array(upper, name, accepts))
    if lower.ndim != 1 or lower.shape != upper.shape or lower.size == 0:
        raise ValueError(
            f"{name}: lower and upper must be 1-D of equal nonzero length, "
            f"got shapes {lower.shape} and {upper.shape}"
        )
    if dim is not None and lower.size != dim:
        raise ValueError(f"{name} must have dimension {dim}, got {lower.size}")
    if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
        raise ValueError(f"{name} must have finite corners, got {lower} and {upper}")
    if not np.all(lower < upper):
        raise ValueError(f"{name} must satisfy lower < upper in every axis, got {lower} and {upper}")
    return lower, upper


def as_points(x, dim: int, name: str = "x") -> np.ndarray:
    """Return points as a float64 array of shape ``(n, dim)``; a single point becomes ``(1, dim)``."""
    arr = real_array(x, name, f"an array of real numbers of shape (n, {dim})")
    if arr.ndim == 1 and arr.size == dim:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}), got {np.shape(x)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    return arr


def as_times(times, name: str = "times", strict: bool = True) -> np.ndarray:
    arr = np.atleast_1d(real_array(times, name, "a non-empty 1-D array of real numbers"))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {np.shape(times)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    steps = np.diff(arr)
    if np.any(steps <= 0 if strict else steps < 0):
        order = "strictly increasing" if strict else "non-decreasing"
        raise ValueError(f"{name} must be {order}")
    return arr


def inside_box(points: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Mask of rows inside the box up to a relative round-off tolerance."""
    slack = 1e-12 * np.maximum(1.0, np.abs(upper - lower))
    return np.all((points >= lower - slack) & (points <= upper + slack), axis=1)


def field_steps_points(field, times, points) -> tuple[np.ndarray, np.ndarray]:
    """``(times, points)`` checked for stepping ``field``: a ``VectorField``, at least two
    increasing times in ``[0, horizon]`` and points of its dimension (``ValueError`` naming
    the argument)."""
    from .fields import VectorField

    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    times = as_times(times, "times")
    if times.size < 2 or times[0] < 0 or times[-1] > field.horizon:
        raise ValueError(f"times must hold at least two increasing times in [0, {field.horizon}]")
    return times, as_points(points, field.dim, "points")
